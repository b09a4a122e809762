"""Reads of campaigns, messages and replies; ``org`` first, a bounded number of queries each."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from django.db.models import Count, Max, Q, QuerySet

from contacts.models import Contact
from contacts.selectors import audience_contact_ids
from smsplatform.models import Organisation

from .models import (
    SPENT_STATUSES,
    Campaign,
    CampaignStatus,
    InboundMessage,
    Message,
    MessageStatus,
    Template,
)

# What the launch and the estimate need of each recipient.
AUDIENCE_FIELDS = (
    "id",
    "phone",
    "first_name",
    "last_name",
    "city",
    "postal_code",
    "email",
    "attributes",
    "consent_basis",
    "region",
    "timezone",
    "calendar",
)


def org_campaigns(org: Organisation) -> QuerySet[Campaign]:
    return Campaign.objects.filter(org=org).order_by("-created_at", "-id")


def org_templates(org: Organisation) -> QuerySet[Template]:
    return Template.objects.filter(org=org).order_by("name")


def org_messages(
    org: Organisation, *, campaign_id: Any = None, status: str | None = None
) -> QuerySet[Message]:
    """Messages of the organisation, newest first, optionally of one campaign and/or status."""
    qs = Message.objects.filter(org=org)
    if campaign_id not in (None, ""):
        qs = qs.filter(campaign_id=campaign_id)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-id")


def audience_rows(
    org: Organisation,
    campaign: Campaign,
    chunk_size: int = 2000,
    fields: tuple[str, ...] = AUDIENCE_FIELDS,
) -> Iterator[dict[str, Any]]:
    """The recipients of a campaign (contacts of its lists and segments, each once, with a phone),
    streamed in id order: one query per ``chunk_size`` contacts, whatever the audience size."""
    ids = audience_contact_ids(org, campaign.list_ids or [], campaign.segment_ids or [])
    qs = Contact.objects.filter(org=org, id__in=ids).exclude(phone="").order_by("id").values(*fields)
    yield from qs.iterator(chunk_size=chunk_size)


def audience_count(org: Organisation, campaign: Campaign) -> int:
    ids = audience_contact_ids(org, campaign.list_ids or [], campaign.segment_ids or [])
    return Contact.objects.filter(org=org, id__in=ids).exclude(phone="").count()


def marketing_counts(
    org: Organisation, contact_ids: Iterable[int] | QuerySet, now: datetime
) -> dict[int, tuple[int, int]]:
    """Marketing SMS that left (or are leaving) for each contact in the last 24 h and 7 days, in ONE
    aggregate query: ``{contact_id: (last_24h, last_7d)}`` (contacts with none are absent)."""
    from datetime import timedelta

    since_7d = now - timedelta(days=7)
    since_24h = now - timedelta(hours=24)
    rows = (
        Message.objects.filter(
            org=org,
            contact_id__in=contact_ids,
            category="marketing",
            status__in=(MessageStatus.SENDING, *SPENT_STATUSES),
            claimed_at__gte=since_7d,
            claimed_at__lte=now,
        )
        .values("contact_id")
        .annotate(d7=Count("id"), d1=Count("id", filter=Q(claimed_at__gte=since_24h)))
        .values_list("contact_id", "d1", "d7")
    )
    return {contact_id: (d1, d7) for contact_id, d1, d7 in rows}


def campaign_status_counts(campaign: Campaign) -> dict[str, int]:
    """Messages of a campaign per status, one query."""
    rows = (
        Message.objects.filter(org_id=campaign.org_id, campaign=campaign)
        .values_list("status")
        .annotate(n=Count("id"))
    )
    counts = dict.fromkeys(MessageStatus.values, 0)
    counts.update({status: n for status, n in rows})
    return counts


def upcoming_campaigns(org: Organisation, limit: int = 5) -> list[Campaign]:
    """Next scheduled campaigns (dashboard widget), one query."""
    return list(
        Campaign.objects.filter(org=org, status=CampaignStatus.SCHEDULED)
        .order_by("scheduled_at", "id")
        .only("id", "name", "status", "scheduled_at")[:limit]
    )


def recent_campaigns(org: Organisation, limit: int = 5) -> list[Campaign]:
    """Last campaigns launched or finished (dashboard widget), one query."""
    return list(
        Campaign.objects.filter(org=org)
        .exclude(status__in=(CampaignStatus.DRAFT, CampaignStatus.SCHEDULED))
        .order_by("-launched_at", "-id")
        .only("id", "name", "status", "launched_at", "completed_at", "recipients", "credits_spent")[:limit]
    )


def calendar_campaigns(org: Organisation, start: datetime, end: datetime) -> QuerySet[Campaign]:
    """Campaigns to show between two instants (calendar): scheduled at, or launched at, in the range."""
    return (
        Campaign.objects.filter(org=org)
        .filter(
            Q(scheduled_at__gte=start, scheduled_at__lt=end) | Q(launched_at__gte=start, launched_at__lt=end)
        )
        .order_by("scheduled_at", "launched_at", "id")
    )


# --- virtual phone --------------------------------------------------------------------------------

# The virtual phone shows, and replies as, numbers that only the sandbox's loopback gateway texted: a
# number reached through a real provider is a real handset, whose replies only that handset may send.
VIRTUAL_PHONE_GATEWAY = "loopback"


def phone_numbers(org: Organisation, limit: int = 50) -> list[str]:
    """The numbers the organisation texted most recently through the loopback gateway (the virtual
    phone's list), one query."""
    seen: list[str] = []
    recent = (
        Message.objects.filter(org=org, gateway=VIRTUAL_PHONE_GATEWAY)
        .order_by("-id")
        .values_list("to", flat=True)[: limit * 20]
    )
    for to in recent:
        if to not in seen:
            seen.append(to)
            if len(seen) >= limit:
                break
    return seen


def phone_last_sender(org: Organisation, number: str) -> str | None:
    """The sender of the organisation's latest loopback message to ``number`` (what a reply from the
    virtual phone answers), or None when the virtual phone has no business with that number."""
    row = (
        Message.objects.filter(org=org, to=number, gateway=VIRTUAL_PHONE_GATEWAY)
        .order_by("-id")
        .values("sender")
        .first()
    )
    return None if row is None else row["sender"]


def phone_thread(
    org: Organisation, number: str, limit: int = 50, *, gateway: str | None = None
) -> list[dict[str, Any]]:
    """What one number received from the organisation and what it replied, oldest first (two queries);
    with ``gateway``, only what went through that gateway (the virtual phone's view)."""
    outbound_qs = Message.objects.filter(org=org, to=number)
    inbound_qs = InboundMessage.objects.filter(org=org, from_number=number)
    if gateway is not None:
        outbound_qs = outbound_qs.filter(gateway=gateway)
        inbound_qs = inbound_qs.filter(gateway=gateway)
    outbound = list(
        outbound_qs.order_by("-id").values(
            "id", "body", "status", "created_at", "sent_at", "delivered_at", "block_reason", "deferred_until"
        )[:limit]
    )
    inbound = list(
        inbound_qs.order_by("-received_at", "-id").values("id", "text", "kind", "received_at")[:limit]
    )
    items = [{"direction": "out", "at": m["sent_at"] or m["created_at"], **m} for m in outbound]
    items += [{"direction": "in", "at": m["received_at"], **m} for m in inbound]
    items.sort(key=lambda item: item["at"])
    return items


def contact_messages(org: Organisation, contact_id: int, limit: int = 50) -> list[Message]:
    """The latest messages sent to one contact, for the contact page (one indexed query)."""
    return list(
        Message.objects.filter(org=org, contact_id=contact_id)
        .select_related("campaign")
        .only(
            "id", "body", "status", "block_reason", "sent_at", "delivered_at", "created_at", "campaign__name"
        )
        .order_by("-created_at", "-id")[:limit]
    )


def inbox_conversations(org: Organisation, *, to_review_only: bool, limit: int = 200) -> list[dict]:
    """One row per number that replied, most recent first: its latest reply (with the contact), how many
    replies it sent and how many wait for a review. Two queries whatever the number of replies."""
    groups = (
        InboundMessage.objects.filter(org=org)
        .values("from_number")
        .annotate(
            latest_id=Max("id"),
            last_at=Max("received_at"),
            replies=Count("id"),
            to_review=Count("id", filter=Q(needs_review=True)),
        )
    )
    if to_review_only:
        groups = groups.filter(to_review__gt=0)
    rows = list(groups.order_by("-last_at", "-latest_id")[:limit])
    latest = (
        InboundMessage.objects.filter(org=org)
        .select_related("contact")
        .in_bulk([r["latest_id"] for r in rows])
    )
    return [{**row, "latest": latest[row["latest_id"]]} for row in rows]
