"""The sending pipeline end to end, in-process: launch, batches, gate outcomes, crashes, credits."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, models
from django.test import TestCase

from billing.selectors import credit_reservation, credits_balance, credits_ledger_sum, credits_reserved
from billing.services import InsufficientCredits, credits_debit, credits_grant
from campaigns import periodic, pipeline
from campaigns.errors import InvalidTransition
from campaigns.gateways import get_gateway
from campaigns.models import Campaign, CampaignStatus, Message, MessageStatus
from campaigns.pipeline import batch as pipeline_batch
from campaigns.services import (
    campaign_cancel,
    campaign_create,
    campaign_estimate,
    campaign_launch,
    campaign_pause,
    campaign_resume,
    campaign_transactional_approve,
)
from compliance.services import suppression_add

from .conftest import MONDAY_10H, MONDAY_21H, SUNDAY_11H, make_audience, phone, received

pytestmark = pytest.mark.django_db


def launch(
    tenant,
    contact_list,
    *,
    now=MONDAY_10H,
    body="Bonjour {first_name|client}, -10% ce week-end !",
    sender_id="FLEURS",
    **kw,
):
    campaign = campaign_create(
        org=tenant.org,
        actor=tenant.owner,
        name="Soldes",
        body=body,
        sender_id=sender_id,
        list_ids=[contact_list.pk],
        **kw,
    )
    if campaign.category == "transactional":  # bulk transactional: only once an operator approved it
        campaign = campaign_transactional_approve(campaign=campaign, actor=None)
    with TestCase.captureOnCommitCallbacks(execute=True):
        return campaign_launch(org=tenant.org, actor=tenant.owner, campaign=campaign, now=now)


def assert_credits_consistent(org):
    assert credits_ledger_sum(org) == credits_balance(org)
    assert credits_reserved(org) == 0


def test_launch_freezes_the_audience_renders_and_reserves(tenant_a, harness):
    contact_list, contacts = make_audience(tenant_a, 3)
    campaign = launch(tenant_a, contact_list)
    assert campaign.status == CampaignStatus.SENDING
    messages = list(Message.objects.filter(campaign=campaign).order_by("contact_id"))
    assert len(messages) == 3
    assert messages[0].body == "Bonjour Client0, -10% ce week-end ! STOP au 36111"
    assert {m.status for m in messages} == {MessageStatus.PENDING}
    assert all(m.segments == 1 and m.credits == 1 and m.encoding == "GSM-7" for m in messages)
    reservation = credit_reservation(tenant_a.org, f"campaign:{campaign.pk}")
    assert reservation.reserved == 3
    assert credits_balance(tenant_a.org) == 97
    assert harness.dispatches == [campaign.pk]


def test_merge_field_fallback_is_used_when_the_value_is_empty(tenant_a, harness):
    contact_list, _ = make_audience(tenant_a, 1, first_name="")
    campaign = launch(tenant_a, contact_list)
    assert Message.objects.get(campaign=campaign).body.startswith("Bonjour client, ")


def test_a_campaign_is_sent_once_to_each_recipient_and_credits_settle(tenant_a, harness, loopback):
    contact_list, contacts = make_audience(tenant_a, 12)
    campaign = launch(tenant_a, contact_list)
    harness.run(now=MONDAY_10H)
    assert received(loopback) == {c.phone: 1 for c in contacts}
    assert set(Message.objects.filter(campaign=campaign).values_list("status", flat=True)) == {
        MessageStatus.SENT
    }
    assert Message.objects.filter(campaign=campaign, provider_id__isnull=True).count() == 0

    assert periodic.campaigns_settle(now=MONDAY_10H) == {"settled": 1, "waiting": 0}
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.COMPLETED
    assert campaign.credits_spent == 12
    assert credits_balance(tenant_a.org) == 88
    assert_credits_consistent(tenant_a.org)
    # Settling again changes nothing.
    assert periodic.campaigns_settle(now=MONDAY_10H) == {"settled": 0, "waiting": 0}


def test_relaunch_is_refused_and_inserts_nothing(tenant_a, harness, loopback):
    contact_list, contacts = make_audience(tenant_a, 4)
    campaign = launch(tenant_a, contact_list)
    with pytest.raises(InvalidTransition):
        campaign_launch(org=tenant_a.org, actor=tenant_a.owner, campaign=campaign, now=MONDAY_10H)
    assert Message.objects.filter(campaign=campaign).count() == 4
    assert credits_balance(tenant_a.org) == 96
    harness.run(now=MONDAY_10H)
    with pytest.raises(InvalidTransition):
        campaign_launch(org=tenant_a.org, actor=tenant_a.owner, campaign=campaign, now=MONDAY_10H)
    harness.run(now=MONDAY_10H)
    assert received(loopback) == {c.phone: 1 for c in contacts}


def test_the_launch_inserts_nothing_twice_even_if_rows_exist(tenant_a, harness):
    """Unique (campaign, contact): a launch replayed on a campaign that already has its rows adds none."""
    from campaigns.services.launch import _start

    contact_list, _ = make_audience(tenant_a, 4)
    campaign = launch(tenant_a, contact_list)
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.DRAFT)
    campaign.refresh_from_db()
    _start(org=tenant_a.org, actor=None, campaign=campaign, now=MONDAY_10H)
    assert Message.objects.filter(campaign=campaign).count() == 4


def test_the_launch_stores_bodies_exactly_whatever_they_contain(tenant_a, harness, loopback):
    """The launch writes its rows with COPY: line breaks, tabs and backslashes must survive the trip."""
    contact_list, contacts = make_audience(tenant_a, 3, credits=100, first_name="Zoé\\N")
    body = "Bonjour {first_name}\nLigne 2\tcolonne \\ fin"
    campaign = launch(tenant_a, contact_list, body=body)
    harness.run(now=MONDAY_10H)
    bodies = set(Message.objects.filter(campaign=campaign).values_list("body", flat=True))
    assert len(bodies) == 1
    (stored,) = bodies
    assert stored.startswith("Bonjour Zoé\\N\nLigne 2\tcolonne \\ fin")
    assert {row["text"] for row in loopback.messages()} == {stored}


def test_a_launch_written_in_chunks_is_whole_and_refused_whole(tenant_a, harness, loopback, monkeypatch):
    """The launch renders and writes its audience a chunk at a time (memory stays flat). A shortfall
    found in the second chunk still reports the whole campaign's need, and leaves no row behind."""
    from campaigns.services import launch as launch_service

    monkeypatch.setattr(launch_service, "LAUNCH_CHUNK", 3)
    contact_list, contacts = make_audience(tenant_a, 8)
    body = "Bonjour {first_name|client}, " + "x" * 140  # two segments each: 16 credits for 8 recipients
    balance = credits_balance(tenant_a.org)
    assert balance == 100
    credits_debit(org=tenant_a.org, amount=balance - 10, reference="test")  # 10 left: short from chunk 2
    campaign = campaign_create(
        org=tenant_a.org, actor=tenant_a.owner, name="Long", body=body, sender_id="FLEURS",
        list_ids=[contact_list.pk],
    )  # fmt: skip
    with pytest.raises(InsufficientCredits) as refused:
        campaign_launch(org=tenant_a.org, actor=tenant_a.owner, campaign=campaign, now=MONDAY_10H)
    assert (refused.value.needed, refused.value.available) == (16, 10)
    assert Message.objects.filter(campaign=campaign).count() == 0

    credits_grant(org=tenant_a.org, amount=6, reference="test")
    campaign.refresh_from_db()
    with TestCase.captureOnCommitCallbacks(execute=True):
        launched = campaign_launch(org=tenant_a.org, actor=tenant_a.owner, campaign=campaign, now=MONDAY_10H)
    assert (launched.recipients, launched.credits_reserved) == (8, 16)
    harness.run(now=MONDAY_10H)
    assert received(loopback) == {c.phone: 1 for c in contacts}
    assert set(Message.objects.filter(campaign=campaign).values_list("segments", flat=True)) == {2}


def test_insufficient_credits_writes_nothing(tenant_a, harness):
    contact_list, _ = make_audience(tenant_a, 4)
    campaign = campaign_create(
        org=tenant_a.org,
        actor=tenant_a.owner,
        name="Long",
        body="a" * 4000,
        sender_id="FLEURS",
        list_ids=[contact_list.pk],
    )
    with pytest.raises(InsufficientCredits):
        campaign_launch(org=tenant_a.org, actor=tenant_a.owner, campaign=campaign, now=MONDAY_10H)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT
    assert Message.objects.filter(campaign=campaign).count() == 0
    assert credit_reservation(tenant_a.org, f"campaign:{campaign.pk}") is None
    assert credits_balance(tenant_a.org) == 100
    assert harness.dispatches == []


def test_a_batch_task_delivered_twice_sends_nothing_twice(tenant_a, harness, loopback):
    contact_list, contacts = make_audience(tenant_a, 6)
    campaign = launch(tenant_a, contact_list)
    pipeline.campaign_dispatch(campaign_id=harness.dispatches.pop(), now=MONDAY_10H)
    ((org_id, ids, _),) = harness.batches
    first = pipeline.batch_send(org_id=org_id, message_ids=ids, now=MONDAY_10H)
    second = pipeline.batch_send(org_id=org_id, message_ids=ids, now=MONDAY_10H)
    assert first["sent"] == 6
    assert second["loaded"] == 0
    # And the coordinator delivered twice enqueues nothing left to send.
    assert pipeline.campaign_dispatch(campaign_id=campaign.pk, now=MONDAY_10H) == 0
    assert received(loopback) == {c.phone: 1 for c in contacts}


def test_a_crash_between_claim_and_gateway_is_reconciled_without_double_send(
    tenant_a, harness, loopback, monkeypatch
):
    contact_list, contacts = make_audience(tenant_a, 5)
    campaign = launch(tenant_a, contact_list)
    gateway = get_gateway()

    def crash(messages):
        raise RuntimeError("worker killed")

    with monkeypatch.context() as patch:
        patch.setattr(gateway, "send_batch", crash)
        with pytest.raises(RuntimeError):
            harness.run(now=MONDAY_10H)
    assert Message.objects.filter(campaign=campaign, status=MessageStatus.SENDING).count() == 5
    # Too early: a live batch may still be working on them.
    assert pipeline.messages_reconcile(now=MONDAY_10H + timedelta(minutes=1))["stuck"] == 0
    later = MONDAY_10H + timedelta(hours=1)
    counts = pipeline.messages_reconcile(now=later)
    assert counts["stuck"] == 5 and counts["requeued"] == 5 and counts["confirmed_sent"] == 0
    harness.run(now=later)
    assert received(loopback) == {c.phone: 1 for c in contacts}
    periodic.campaigns_settle(now=later)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.COMPLETED
    assert_credits_consistent(tenant_a.org)


def test_a_crash_after_the_gateway_accepted_is_reconciled_as_sent(tenant_a, harness, loopback, monkeypatch):
    contact_list, contacts = make_audience(tenant_a, 5)
    campaign = launch(tenant_a, contact_list)

    def crash_after_send(**kwargs):
        raise RuntimeError("worker killed after the provider answered")

    with monkeypatch.context() as patch:
        patch.setattr(pipeline_batch, "apply_results", crash_after_send)
        with pytest.raises(RuntimeError):
            harness.run(now=MONDAY_10H)
    later = MONDAY_10H + timedelta(hours=1)
    counts = pipeline.messages_reconcile(now=later)
    assert counts["confirmed_sent"] == 5 and counts["requeued"] == 0
    harness.run(now=later)
    assert received(loopback) == {c.phone: 1 for c in contacts}
    assert Message.objects.filter(campaign=campaign, status=MessageStatus.SENT).count() == 5
    assert Message.objects.filter(campaign=campaign, provider_id__isnull=True).count() == 0


def test_a_gateway_timeout_after_accepting_is_not_sent_twice(tenant_a, harness, loopback, settings):
    contact_list, contacts = make_audience(tenant_a, 4)
    campaign = launch(tenant_a, contact_list)
    settings.LOOPBACK_GATEWAY_TIMEOUT = (1.0, 0.3)
    loopback.control({"response_delay": 1.0})
    pipeline.campaign_dispatch(campaign_id=harness.dispatches.pop(), now=MONDAY_10H)
    ((org_id, ids, _),) = harness.batches
    harness.batches.clear()
    with harness.capture(execute=True):
        # Accepted by the server, but the answer comes too late: a transient error, retried later.
        counts = pipeline.batch_send(org_id=org_id, message_ids=ids, now=MONDAY_10H)
    assert counts["retry"] == 4
    assert Message.objects.filter(campaign=campaign, status=MessageStatus.PENDING, attempts=1).count() == 4
    assert [(org_id, sorted(ids), 30)] == [(o, sorted(i), c) for o, i, c in harness.batches]
    assert len(loopback.messages()) == 4
    loopback.control({"response_delay": 0.0})
    harness.run(now=MONDAY_10H + timedelta(minutes=1))
    # The retry asked the gateway first (GET /messages?client_ref=) and found them: nothing sent again.
    assert received(loopback) == {c.phone: 1 for c in contacts}
    assert Message.objects.filter(campaign=campaign, status=MessageStatus.SENT).count() == 4


def test_transient_errors_are_retried_then_fail_and_release(tenant_a, harness, loopback, settings):
    settings.CAMPAIGN_MAX_ATTEMPTS = 2
    contact_list, contacts = make_audience(tenant_a, 3)
    campaign = launch(tenant_a, contact_list)
    loopback.control({"fail_rate": 1.0, "permanent_share": 0.0})
    harness.run(now=MONDAY_10H)
    assert set(Message.objects.filter(campaign=campaign).values_list("status", flat=True)) == {
        MessageStatus.FAILED
    }
    assert set(Message.objects.filter(campaign=campaign).values_list("attempts", flat=True)) == {2}
    assert received(loopback) == {}
    periodic.campaigns_settle(now=MONDAY_10H)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.COMPLETED and campaign.credits_spent == 0
    assert credits_balance(tenant_a.org) == 100
    assert_credits_consistent(tenant_a.org)


def test_permanent_errors_fail_with_the_provider_code_and_release(tenant_a, harness, loopback):
    contact_list, _ = make_audience(tenant_a, 2)
    campaign = launch(tenant_a, contact_list)
    loopback.control({"fail_rate": 1.0, "permanent_share": 1.0})
    harness.run(now=MONDAY_10H)
    assert list(Message.objects.filter(campaign=campaign).values_list("status", "error_code").distinct()) == [
        ("failed", "invalid_destination")
    ]
    assert credits_balance(tenant_a.org) == 100


def test_opt_out_between_batches_stops_later_messages(tenant_a, harness, loopback, settings):
    settings.CAMPAIGN_BATCH_SIZE = 3
    contact_list, contacts = make_audience(tenant_a, 6)
    campaign = launch(tenant_a, contact_list)
    pipeline.campaign_dispatch(campaign_id=harness.dispatches.pop(), now=MONDAY_10H)
    first, second = harness.batches
    harness.batches.clear()
    pipeline.batch_send(org_id=first[0], message_ids=first[1], now=MONDAY_10H)
    late_stopper = contacts[4].phone
    suppression_add(org=tenant_a.org, phone_e164=late_stopper, source="inbound_keyword")
    pipeline.batch_send(org_id=second[0], message_ids=second[1], now=MONDAY_10H)
    got = received(loopback)
    assert late_stopper not in got
    assert len(got) == 5
    blocked = Message.objects.get(campaign=campaign, to=late_stopper)
    assert blocked.status == MessageStatus.BLOCKED and blocked.block_reason == "suppressed"
    assert blocked.reasons[0]["code"] == "suppressed"


def test_an_opt_out_recorded_after_the_batch_loaded_suppressions_still_stops_the_claim(
    tenant_a, harness, loopback, monkeypatch
):
    contact_list, contacts = make_audience(tenant_a, 3)
    campaign = launch(tenant_a, contact_list)
    stopper = contacts[1].phone
    real_items = pipeline_batch._gate_items

    def items_then_stop(org, rows, now):
        items = real_items(org, rows, now)
        suppression_add(org=org, phone_e164=stopper, source="inbound_keyword")  # the STOP lands now
        return items

    monkeypatch.setattr(pipeline_batch, "_gate_items", items_then_stop)
    harness.run(now=MONDAY_10H)
    assert stopper not in received(loopback)
    message = Message.objects.get(campaign=campaign, to=stopper)
    assert message.status == MessageStatus.BLOCKED and message.block_reason == "suppressed"
    periodic.campaigns_settle(now=MONDAY_10H)
    assert credits_balance(tenant_a.org) == 98
    assert_credits_consistent(tenant_a.org)


def test_quiet_hours_defer_with_the_instant_then_release_when_due(tenant_a, harness, loopback):
    contact_list, contacts = make_audience(tenant_a, 3)
    campaign = launch(tenant_a, contact_list, now=MONDAY_21H)
    harness.run(now=MONDAY_21H)
    messages = Message.objects.filter(campaign=campaign)
    assert set(messages.values_list("status", flat=True)) == {MessageStatus.DEFERRED}
    next_morning = MONDAY_21H.replace(hour=6) + timedelta(days=1)  # Tuesday 08:00 in Paris
    assert set(messages.values_list("deferred_until", flat=True)) == {next_morning}
    assert messages.first().reasons[0]["code"] == "outside_window"
    assert received(loopback) == {}
    assert pipeline.messages_release_deferred(now=next_morning - timedelta(minutes=1))["released"] == 0
    assert periodic.campaigns_settle(now=MONDAY_21H)["settled"] == 0
    released = pipeline.messages_release_deferred(now=next_morning)
    assert released == {"released": 3, "batches": 1}
    # Released once: the next run does not enqueue them again while their batch is queued.
    assert pipeline.messages_release_deferred(now=next_morning)["released"] == 0
    harness.run(now=next_morning)
    assert received(loopback) == {c.phone: 1 for c in contacts}
    periodic.campaigns_settle(now=next_morning)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.COMPLETED
    assert_credits_consistent(tenant_a.org)


def test_sunday_is_deferred_to_monday_morning(tenant_a, harness, loopback):
    contact_list, _ = make_audience(tenant_a, 2)
    campaign = launch(tenant_a, contact_list, now=SUNDAY_11H)
    harness.run(now=SUNDAY_11H)
    message = Message.objects.filter(campaign=campaign).first()
    assert message.status == MessageStatus.DEFERRED
    assert message.deferred_until == MONDAY_10H.replace(hour=6)
    assert message.reasons[0]["code"] == "sunday"


def test_no_consent_is_blocked_with_its_reason_and_not_charged(tenant_a, harness, loopback):
    contact_list, _ = make_audience(tenant_a, 2, consent="unknown")
    campaign = launch(tenant_a, contact_list)
    assert credits_balance(tenant_a.org) == 98
    harness.run(now=MONDAY_10H)
    assert list(
        Message.objects.filter(campaign=campaign).values_list("status", "block_reason").distinct()
    ) == [("blocked", "no_consent")]
    assert credits_balance(tenant_a.org) == 100
    periodic.campaigns_settle(now=MONDAY_10H)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.COMPLETED
    assert_credits_consistent(tenant_a.org)


def test_transactional_campaigns_bypass_windows(tenant_a, harness, loopback):
    contact_list, contacts = make_audience(tenant_a, 2)
    launch(tenant_a, contact_list, now=SUNDAY_11H, category="transactional", body="Votre commande est prête.")
    harness.run(now=SUNDAY_11H)
    assert received(loopback) == {c.phone: 1 for c in contacts}


def test_estimate_counts_deferred_and_blocked_without_writing(tenant_a, harness):
    contact_list, contacts = make_audience(tenant_a, 4)
    _, others = make_audience(tenant_a, 2, consent="none", name="Sans consentement", start=100)
    from contacts.services import contacts_add_to_list

    contacts_add_to_list(
        org=tenant_a.org, actor=tenant_a.owner, contact_list=contact_list, contact_ids=[c.pk for c in others]
    )
    suppression_add(org=tenant_a.org, phone_e164=contacts[0].phone, source="manual")
    campaign = campaign_create(
        org=tenant_a.org,
        actor=tenant_a.owner,
        name="E",
        body="Promo",
        sender_id="FLEURS",
        list_ids=[contact_list.pk],
    )
    estimate = campaign_estimate(org=tenant_a.org, campaign=campaign, at=MONDAY_21H)
    assert estimate["recipients"] == 6
    assert estimate["credits"] == 6
    assert estimate["encoding"] == "GSM-7"
    assert estimate["blocked"] == {"suppressed": 1, "no_consent": 2}
    assert estimate["deferred"] == 3
    assert estimate["deferred_until"] == MONDAY_21H.replace(hour=6) + timedelta(days=1)
    assert Message.objects.count() == 0


def test_pause_stops_dispatch_resume_continues_cancel_releases(tenant_a, harness, loopback, settings):
    settings.CAMPAIGN_BATCH_SIZE = 2
    contact_list, contacts = make_audience(tenant_a, 6)
    campaign = launch(tenant_a, contact_list)
    pipeline.campaign_dispatch(campaign_id=harness.dispatches.pop(), now=MONDAY_10H)
    first = harness.batches.pop(0)
    pipeline.batch_send(org_id=first[0], message_ids=first[1], now=MONDAY_10H)
    campaign_pause(org=tenant_a.org, actor=tenant_a.owner, campaign=campaign)
    harness.run(now=MONDAY_10H)  # the other batches find a paused campaign: nothing leaves
    assert len(received(loopback)) == 2
    with pytest.raises(InvalidTransition):
        campaign_pause(org=tenant_a.org, actor=tenant_a.owner, campaign=campaign)
    with TestCase.captureOnCommitCallbacks(execute=True):
        campaign_resume(org=tenant_a.org, actor=tenant_a.owner, campaign=campaign)
    # Resume enqueues the coordinator; run only one batch, then cancel the rest.
    pipeline.campaign_dispatch(campaign_id=harness.dispatches.pop(), now=MONDAY_10H)
    batch = harness.batches.pop(0)
    harness.batches.clear()
    pipeline.batch_send(org_id=batch[0], message_ids=batch[1], now=MONDAY_10H)
    assert len(received(loopback)) == 4
    campaign_cancel(org=tenant_a.org, actor=tenant_a.owner, campaign=campaign, now=MONDAY_10H)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.CANCELLED
    assert campaign.settled_at is not None and campaign.credits_spent == 4
    assert Message.objects.filter(campaign=campaign, status=MessageStatus.CANCELLED).count() == 2
    assert credits_balance(tenant_a.org) == 96
    assert_credits_consistent(tenant_a.org)
    with pytest.raises(InvalidTransition):
        campaign_resume(org=tenant_a.org, actor=tenant_a.owner, campaign=campaign)


def test_scheduled_campaigns_reserve_at_the_actual_launch(tenant_a, harness, loopback):
    contact_list, contacts = make_audience(tenant_a, 2)
    campaign = launch(tenant_a, contact_list, scheduled_at=MONDAY_10H + timedelta(hours=2))
    assert campaign.status == CampaignStatus.SCHEDULED
    assert credits_balance(tenant_a.org) == 100 and Message.objects.count() == 0
    assert periodic.campaigns_launch_due(now=MONDAY_10H + timedelta(hours=1)) == {
        "launched": 0,
        "failed": 0,
        "skipped": 0,
    }
    due = MONDAY_10H + timedelta(hours=2)
    with harness.capture(execute=True):
        assert periodic.campaigns_launch_due(now=due)["launched"] == 1
    harness.run(now=due)
    assert received(loopback) == {c.phone: 1 for c in contacts}


def test_a_scheduled_campaign_without_credits_fails_with_its_reason(tenant_a, harness):
    contact_list, _ = make_audience(tenant_a, 5)
    campaign = launch(tenant_a, contact_list, body="a" * 4000, scheduled_at=MONDAY_10H + timedelta(hours=2))
    assert periodic.campaigns_launch_due(now=MONDAY_10H + timedelta(hours=3))["failed"] == 1
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.FAILED and campaign.failure_reason == "insufficient_credits"
    assert Message.objects.count() == 0
    assert credits_balance(tenant_a.org) == 100


def test_stale_pending_messages_are_requeued(tenant_a, harness, loopback):
    contact_list, contacts = make_audience(tenant_a, 3)
    launch(tenant_a, contact_list)
    harness.dispatches.clear()  # the broker lost the coordinator
    assert pipeline.messages_reconcile(now=MONDAY_10H)["stale_pending"] == 0
    later = MONDAY_10H + timedelta(hours=1)
    assert pipeline.messages_reconcile(now=later)["stale_pending"] == 3
    harness.run(now=later)
    assert received(loopback) == {c.phone: 1 for c in contacts}


def test_frequency_cap_blocks_a_second_campaign_the_same_day(tenant_a, harness, loopback):
    contact_list, contacts = make_audience(tenant_a, 2)
    launch(tenant_a, contact_list)
    harness.run(now=MONDAY_10H)
    second = launch(tenant_a, contact_list, now=MONDAY_10H + timedelta(hours=1))
    harness.run(now=MONDAY_10H + timedelta(hours=1))
    assert set(Message.objects.filter(campaign=second).values_list("block_reason", flat=True)) == {
        "frequency_cap"
    }
    assert received(loopback) == {c.phone: 1 for c in contacts}


@pytest.mark.parametrize("size", [10, 200])
def test_batch_query_count_is_constant(
    tenant_a, harness, loopback, settings, django_assert_num_queries, size
):
    settings.CAMPAIGN_BATCH_SIZE = 1000
    contact_list, _ = make_audience(tenant_a, size, credits=size)
    launch(tenant_a, contact_list)
    pipeline.campaign_dispatch(campaign_id=harness.dispatches.pop(), now=MONDAY_10H)
    ((org_id, ids, _),) = harness.batches
    # org, lock+load, policy restrictions, suppressions, frequency counts, claim, result update, plus
    # the savepoints of the two transactions (a test runs inside a transaction).
    with django_assert_num_queries(BATCH_QUERIES):
        counts = pipeline.batch_send(org_id=org_id, message_ids=ids, now=MONDAY_10H)
    assert counts["sent"] == size


# One more on PostgreSQL: the advisory lock that serialises frequency checks (see the race test).
BATCH_QUERIES = 11 + (connection.vendor == "postgresql")


def test_mixed_batch_query_count_is_constant(tenant_a, harness, loopback, django_assert_num_queries):
    """Allowed, deferred-free, blocked and suppressed in one batch: still a fixed number of queries."""
    contact_list, contacts = make_audience(tenant_a, 6, credits=10)
    _, unknown = make_audience(tenant_a, 4, consent="unknown", name="U", start=50)
    from contacts.services import contacts_add_to_list

    contacts_add_to_list(
        org=tenant_a.org, actor=tenant_a.owner, contact_list=contact_list, contact_ids=[c.pk for c in unknown]
    )
    suppression_add(org=tenant_a.org, phone_e164=phone(0), source="manual")
    launch(tenant_a, contact_list)
    pipeline.campaign_dispatch(campaign_id=harness.dispatches.pop(), now=MONDAY_10H)
    ((org_id, ids, _),) = harness.batches
    with django_assert_num_queries(MIXED_QUERIES):
        counts = pipeline.batch_send(org_id=org_id, message_ids=ids, now=MONDAY_10H)
    assert counts["sent"] == 5 and counts["blocked"] == 5


# ... plus one update for blocked rows and the billing service's release (its own locks and audit).
MIXED_QUERIES = 24 + (connection.vendor == "postgresql")


def test_a_mixed_audience_gets_exactly_the_allowed_messages(tenant_a, harness, loopback, settings):
    """Opted-out, consent-less and out-of-window (La Réunion at 20:30 local) recipients in one campaign:
    the gateway receives the allowed ones once each; the others are deferred with their instant or blocked
    with their reason; the credits of what was sent are spent, of what was blocked released."""
    from billing.selectors import credit_reservation
    from contacts.services import contacts_add_to_list

    settings.CAMPAIGN_BATCH_SIZE = 50
    at = MONDAY_10H.replace(hour=16, minute=30)  # 18:30 in Paris, 20:30 in La Réunion
    contact_list, allowed = make_audience(tenant_a, 120, credits=200)
    _, no_consent = make_audience(tenant_a, 15, consent="none", name="N", start=1000)
    _, reunion = make_audience(tenant_a, 10, name="RE", start=0, prefix="+262692")
    opted_out = allowed[:20]
    allowed = allowed[20:]
    for contact in opted_out:
        suppression_add(org=tenant_a.org, phone_e164=contact.phone, source="manual")
    contacts_add_to_list(
        org=tenant_a.org,
        actor=tenant_a.owner,
        contact_list=contact_list,
        contact_ids=[c.pk for c in no_consent + reunion],
    )
    campaign = launch(tenant_a, contact_list, now=at)
    harness.run(now=at)
    assert received(loopback) == {c.phone: 1 for c in allowed}
    messages = Message.objects.filter(campaign=campaign)
    assert dict(
        messages.filter(status="blocked").values_list("block_reason").annotate(n=models.Count("id"))
    ) == {"suppressed": 20, "no_consent": 15}
    deferred = messages.filter(status="deferred")
    assert set(deferred.values_list("to", flat=True)) == {c.phone for c in reunion}
    assert set(deferred.values_list("deferred_until", flat=True)) == {
        at.replace(hour=4, minute=0) + timedelta(days=1)
    }
    reservation = credit_reservation(tenant_a.org, f"campaign:{campaign.pk}")
    assert (reservation.reserved, reservation.released) == (145, 35)
    tomorrow = at.replace(hour=4, minute=0) + timedelta(days=1)
    pipeline.messages_release_deferred(now=tomorrow)
    harness.run(now=tomorrow)
    periodic.campaigns_settle(now=tomorrow)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.COMPLETED and campaign.credits_spent == 110
    assert received(loopback) == {c.phone: 1 for c in allowed + reunion}
    assert_credits_consistent(tenant_a.org)
