"""Two campaigns of one organisation sending to the same contacts at the same moment: the frequency cap
(one marketing SMS per contact per 24 h in FR_STRICT) holds, because batches count and claim one at a
time (pipeline.batch._serialise_frequency_checks). Real threads, real transactions, the loopback gateway."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from campaigns import pipeline
from campaigns.models import Message, MessageStatus
from campaigns.pipeline import batch as pipeline_batch

from .conftest import MONDAY_10H, make_audience, received
from .test_pipeline import launch

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="SQLite runs one writer at a time"),
]


def test_two_campaigns_racing_never_break_the_frequency_cap(tenant_a, harness, loopback, monkeypatch):
    contact_list, contacts = make_audience(tenant_a, 5, credits=100)
    first = launch(tenant_a, contact_list)
    second = launch(tenant_a, contact_list)
    for campaign_id in list(harness.dispatches):
        pipeline.campaign_dispatch(campaign_id=campaign_id, now=MONDAY_10H)
    harness.dispatches.clear()
    (org_a, ids_a, _), (org_b, ids_b, _) = harness.batches
    harness.batches.clear()

    # Batch A stops right after counting, until batch B has counted too (or a few seconds have passed,
    # which is what happens when B cannot count before A commits). Without the lock both count zero.
    original = pipeline_batch.marketing_counts
    a_counted, b_counted = threading.Event(), threading.Event()

    def counts(org, contact_ids, now):
        result = original(org, contact_ids, now)
        if not a_counted.is_set():
            a_counted.set()
            b_counted.wait(timeout=3)
        else:
            b_counted.set()
        return result

    monkeypatch.setattr(pipeline_batch, "marketing_counts", counts)
    errors: list[BaseException] = []

    def run(org_id, ids, wait_for=None):
        try:
            if wait_for is not None:
                wait_for.wait(timeout=10)
            pipeline.batch_send(org_id=org_id, message_ids=ids, now=MONDAY_10H)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(org_a, ids_a)),
        threading.Thread(target=run, args=(org_b, ids_b, a_counted)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []

    assert received(loopback) == {c.phone: 1 for c in contacts}
    statuses = sorted(
        Message.objects.filter(campaign__in=[first, second]).values_list("status", "block_reason")
    )
    assert statuses == [(MessageStatus.BLOCKED, "frequency_cap")] * 5 + [(MessageStatus.SENT, "")] * 5
