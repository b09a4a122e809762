"""Fixtures of the analytics tests: campaigns with message rows, and a recount straight from those rows
that every report must equal."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import Count, Sum

from campaigns.models import Campaign, CampaignStatus, InboundMessage, Message, MessageStatus
from contacts.models import Contact

_numbers = itertools.count(1)
NOW = datetime(2026, 6, 15, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _analytics_settings(settings):
    settings.SHORT_LINK_DOMAIN = "https://sms.example"
    settings.SMS_GATEWAY = "console"


def make_contacts(org, n: int) -> list[Contact]:
    contacts = [
        Contact(org=org, phone=f"+336{next(_numbers):08d}", first_name=f"Client{i}", consent_basis="opt_in")
        for i in range(n)
    ]
    Contact.objects.bulk_create(contacts)
    return list(Contact.objects.filter(org=org, phone__in=[c.phone for c in contacts]).order_by("id"))


def make_campaign(org, n: int, *, name: str = "Soldes", status: str = CampaignStatus.SENDING,
                  launched_at: datetime = NOW) -> tuple[Campaign, list[Message]]:  # fmt: skip
    """A launched campaign with ``n`` pending messages, one per new contact (rows written as the launch
    writes them: bulk_create)."""
    campaign = Campaign.objects.create(
        org=org, name=name, body="Soldes -20% https://shop.example/soldes STOP au 36111", status=status,
        launched_at=launched_at, recipients=n,
    )  # fmt: skip
    contacts = make_contacts(org, n)
    Message.objects.bulk_create(
        [
            Message(
                org=org,
                campaign=campaign,
                contact=c,
                to=c.phone,
                body=campaign.body,
                credits=1,
                credit_reference=campaign.reference,
                gateway="console",
                created_at=launched_at,
            )  # fmt: skip
            for c in contacts
        ]
    )
    return campaign, list(Message.objects.filter(campaign=campaign).order_by("id"))


def recount(campaign: Campaign) -> dict:
    """The report's message figures counted directly over the message rows (the reference)."""
    rows = Message.objects.filter(campaign=campaign)
    status = Counter(dict(rows.values_list("status").annotate(n=Count("id")).order_by()))
    blocked = dict(
        rows.filter(status=MessageStatus.BLOCKED)
        .values_list("block_reason")
        .annotate(n=Count("id"))
        .order_by()
    )
    spent = rows.filter(status__in=("sent", "delivered", "undelivered")).aggregate(c=Sum("credits"))["c"] or 0
    sent = status["sent"] + status["delivered"] + status["undelivered"]
    return {
        "recipients": sum(status.values()),
        "status_counts": {
            "queued": status["pending"] + status["sending"],
            "deferred": status["deferred"],
            "sent": sent,
            "delivered": status["delivered"],
            "failed": status["failed"] + status["undelivered"],
            "blocked": status["blocked"],
            "cancelled": status["cancelled"],
        },
        "blocked_reasons": blocked,
        "credits_spent": spent,
    }


def recount_clicks(campaign: Campaign) -> tuple[int, int]:
    from analytics.models import Click

    clicks = Click.objects.filter(campaign_id=campaign.pk)
    return clicks.count(), clicks.values("message_id").distinct().count()


def recount_opt_outs(campaign: Campaign, window: timedelta = timedelta(days=7)) -> int:
    """Distinct numbers whose STOP came within the window after a message of this campaign, and whose
    latest campaign message before the STOP is this campaign's: computed row by row, the slow way."""
    numbers = set()
    for inbound in InboundMessage.objects.filter(org=campaign.org, kind__in=("opt_out", "near_miss_opt_out")):
        last = (
            Message.objects.filter(
                org=campaign.org,
                to=inbound.from_number,
                campaign__isnull=False,
                sent_at__lte=inbound.received_at,
                sent_at__gt=inbound.received_at - window,
            )
            .order_by("-sent_at", "-id")
            .first()
        )
        if last is not None and last.campaign_id == campaign.pk:
            numbers.add(inbound.from_number)
    return len(numbers)
