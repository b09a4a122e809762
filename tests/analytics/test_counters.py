"""The message counters (database triggers + squash) always equal a direct count over the rows."""

from __future__ import annotations

import random

import pytest
from django.db.models import Sum

from analytics import selectors, services
from analytics.models import MessageCount
from campaigns.models import Message, MessageStatus

from .conftest import NOW, make_campaign, recount

pytestmark = pytest.mark.django_db

M = MessageStatus


def _report_counts(campaign):
    report = selectors.campaign_report(campaign.org, campaign)
    return {k: report[k] for k in ("recipients", "status_counts", "blocked_reasons", "credits_spent")}


def test_insert_update_delete_are_counted(tenant_a):
    campaign, msgs = make_campaign(tenant_a.org, 12)
    assert _report_counts(campaign) == recount(campaign)
    ids = [m.pk for m in msgs]
    Message.objects.filter(pk__in=ids[:3]).update(status=M.BLOCKED, block_reason="suppressed")
    Message.objects.filter(pk__in=ids[3:5]).update(
        status=M.DEFERRED, reasons=[{"code": "sunday", "fr": "x", "en": "y"}]
    )
    Message.objects.filter(pk__in=ids[5:10]).update(status=M.SENT, sent_at=NOW)
    Message.objects.filter(pk__in=ids[5:8]).update(status=M.DELIVERED, delivered_at=NOW)
    Message.objects.filter(pk__in=ids[8:9]).update(status=M.UNDELIVERED)
    Message.objects.filter(pk__in=ids[10:11]).update(attempts=2, provider_id="x")  # counts nothing
    Message.objects.filter(pk=ids[11]).delete()
    expected = recount(campaign)
    assert _report_counts(campaign) == expected
    assert expected["status_counts"] == {
        "queued": 1, "deferred": 2, "sent": 5, "delivered": 3, "failed": 1, "blocked": 3, "cancelled": 0,
    }  # fmt: skip
    assert selectors.campaign_report(campaign.org, campaign)["deferred_reasons"] == {"sunday": 2}
    assert expected["credits_spent"] == 5


def test_squash_keeps_the_figures_and_folds_the_rows(tenant_a, tenant_b):
    campaign, msgs = make_campaign(tenant_a.org, 30)
    other, _ = make_campaign(tenant_b.org, 5)
    rng = random.Random(7)
    for _round in range(20):
        chosen = rng.sample([m.pk for m in msgs], 5)
        status = rng.choice([M.SENDING, M.SENT, M.DELIVERED, M.UNDELIVERED, M.FAILED, M.BLOCKED])
        Message.objects.filter(pk__in=chosen).update(status=status, sent_at=NOW, block_reason="no_consent")
    before = _report_counts(campaign)
    rows_before = MessageCount.objects.filter(campaign=campaign).count()
    result = services.message_counts_squash()
    assert result["campaigns"] == 2
    assert _report_counts(campaign) == before == recount(campaign)
    assert _report_counts(other) == recount(other)
    assert MessageCount.objects.filter(campaign=campaign).count() < rows_before
    assert not MessageCount.objects.filter(is_squashed=False).exists()
    # Deltas after a squash add up with the squashed rows.
    Message.objects.filter(pk=msgs[0].pk).update(status=M.CANCELLED)
    assert _report_counts(campaign) == recount(campaign)
    assert services.message_counts_squash()["campaigns"] == 1


def test_squash_twice_counts_nothing_twice(tenant_a):
    campaign, _ = make_campaign(tenant_a.org, 10)
    services.message_counts_squash()
    services.message_counts_squash()
    assert MessageCount.objects.filter(campaign=campaign).aggregate(n=Sum("count"))["n"] == 10


def test_a_deleted_campaign_leaves_no_counts_after_the_squash(tenant_a):
    campaign, _ = make_campaign(tenant_a.org, 4)
    campaign.delete()
    services.message_counts_squash()
    assert not MessageCount.objects.filter(campaign_id=campaign.pk).exists()


def test_standalone_messages_are_counted_for_the_dashboard(tenant_a):
    Message.objects.create(
        org=tenant_a.org, to="+33612345678", body="Code 1234", status=M.SENT, sent_at=NOW, credits=1
    )
    summary = selectors.dashboard_summary(tenant_a.org, now=NOW)
    assert summary["sent"] == 1
    assert summary["credits_spent"] == 1


def test_the_squash_task_takes_a_lock(tenant_a):
    from analytics.tasks import message_counts_squash
    from campaigns.locks import nonblocking_lock

    make_campaign(tenant_a.org, 2)
    with nonblocking_lock("analytics.squash_message_counts") as acquired:
        assert acquired
        assert message_counts_squash() == {"skipped_locked": 1}
    assert message_counts_squash()["campaigns"] == 1
