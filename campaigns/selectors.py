"""Reads of campaigns, messages and replies; ``org`` first, a bounded number of queries each."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, F, Max, Q, QuerySet
from django.db.models.fields.json import KeyTransform

from billing.selectors import prices_for_regions
from compliance.checker import org_policy
from compliance.context import RecipientContext
from compliance.gate import BLOCK, DEFER, MARKETING, TRANSACTIONAL, GateItem, evaluate
from contacts.models import Contact
from contacts.selectors import audience_contacts, org_lists_with_counts, org_segments
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
from .rendering import CONTACT_FIELDS, FIELD_ALIASES

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
    qs = audience_contacts(org, campaign.list_ids or [], campaign.segment_ids or [])
    qs = qs.exclude(phone="").order_by("id").values(*fields)
    yield from qs.iterator(chunk_size=chunk_size)


def audience_count(org: Organisation, campaign: Campaign) -> int:
    return (
        audience_contacts(org, campaign.list_ids or [], campaign.segment_ids or []).exclude(phone="").count()
    )


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


# --- the campaign pages: the audience in aggregate, the window preview ------------------------------
# Everything here is read-only and scoped by the organisation first. The audience is never loaded row by
# row: it is grouped in the database by what the price and the gate depend on (region, zone, calendar,
# consent, opt-out), so a 100,000-contact audience costs one grouped query and a few dozen gate
# evaluations.

# Attribute keys offered as merge fields are read from the most recent contacts only: cheap, and the
# keys of an import are the same on every row.
ATTRIBUTE_SAMPLE = 200


def _ids(values: Iterable) -> list[int]:
    out = []
    for value in values or ():
        try:
            out.append(int(value))
        except (TypeError, ValueError):
            continue
    return out


def audience_queryset(org: Organisation, list_ids: Iterable, segment_ids: Iterable) -> QuerySet[Contact]:
    """The contacts of the lists and segments (each once; other organisations' ids are ignored)."""
    return audience_contacts(org, _ids(list_ids), _ids(segment_ids)).exclude(phone="")


# The letters of French (and nearby) names that GSM-7 lacks (é, è, à, ü... it has): a PostgreSQL class.
NON_GSM_LETTERS = "[âêîôûëïÿçœÂÊÎÔÛËÏŸŒÀÈÙáíóúãõ]"


@dataclass(frozen=True)
class AudienceGroup:
    """Recipients who share a region and the same values for a body's merge fields: they all receive
    the same text, so it is rendered and priced once for the group."""

    region: str
    values: dict[str, Any]  # what campaigns.rendering.render reads for those fields
    recipients: int
    price: int  # credits per segment in the region


def _merge_columns(names: Iterable[str]) -> dict[str, tuple[str, Any]]:
    """``{alias: (value key, expression)}`` reading each merge field as ``contact_values`` does: a
    contact field from its column, anything else from the attributes, a French alias from both (the
    attribute of that name wins, then the field it stands for)."""
    columns: dict[str, tuple[str, Any]] = {}
    for name in names:
        if name in CONTACT_FIELDS:
            columns[f"m{len(columns)}"] = (name, F(name))
            continue
        columns[f"m{len(columns)}"] = (name, KeyTransform(name, "attributes"))
        target = FIELD_ALIASES.get(name.lower())
        if target:
            columns[f"m{len(columns)}"] = (target, F(target))
    return columns


def audience_groups(
    org: Organisation, list_ids: Iterable, segment_ids: Iterable, fields: Sequence[str]
) -> list[AudienceGroup]:
    """The audience grouped by region and by the values of the merge ``fields`` a body uses: ONE
    grouped query (distinct first names are far fewer than contacts) plus the regional prices, so a
    composer can price the exact text of every recipient of 100,000 contacts as it is typed."""
    list_ids, segment_ids = _ids(list_ids), _ids(segment_ids)
    if not list_ids and not segment_ids:
        return []
    columns = _merge_columns(fields)
    rows = list(
        audience_queryset(org, list_ids, segment_ids)
        .values("region", **{alias: expr for alias, (_key, expr) in columns.items()})
        .annotate(n=Count("id"))
        .order_by()
    )
    prices = prices_for_regions({row["region"] or "" for row in rows})
    groups = []
    for row in rows:
        values: dict[str, Any] = {}
        for alias, (key, _expr) in columns.items():
            values.setdefault(key, row[alias])
        region = row["region"] or ""
        groups.append(AudienceGroup(region, values, row["n"], prices[region]))
    return groups


def merge_attribute_keys(org: Organisation) -> list[str]:
    """Custom attribute names found on the organisation's recent contacts (offered as merge fields)."""
    keys: dict[str, None] = {}
    rows = (
        Contact.objects.filter(org=org)
        .order_by("-id")
        .values_list("attributes", flat=True)[:ATTRIBUTE_SAMPLE]
    )
    for attributes in rows:
        if isinstance(attributes, dict):
            keys.update(dict.fromkeys(str(k) for k in attributes))
    return sorted(keys)[:30]


def audience_choices(org: Organisation) -> tuple[list[tuple[int, str, int]], list[tuple[int, str]]]:
    """(lists as (id, name, contact count), segments as (id, name)) for the audience picker."""
    lists = [(cl.pk, cl.name, cl.contact_count) for cl in org_lists_with_counts(org)]
    segments = [(s.pk, s.name) for s in org_segments(org)]
    return lists, segments


def campaigns_for_list(org: Organisation) -> list[Campaign]:
    """The list page: what will leave next first (scheduled, soonest first), then what is moving
    (sending, paused), then drafts, then the past, most recent first."""
    rank = {
        CampaignStatus.SCHEDULED: 0,
        CampaignStatus.SENDING: 1,
        CampaignStatus.PAUSED: 1,
        CampaignStatus.DRAFT: 2,
    }
    rows = list(Campaign.objects.filter(org=org).order_by("-created_at", "-id")[:500])
    far = datetime.max.replace(tzinfo=None)

    def key(c: Campaign):
        r = rank.get(c.status, 3)
        if r == 0:
            return (r, c.scheduled_at.replace(tzinfo=None) if c.scheduled_at else far, 0)
        when = c.completed_at or c.launched_at or c.updated_at or c.created_at
        return (r, datetime.min, -when.timestamp() if when else 0)

    return sorted(rows, key=key)


# --- outside-window preview ---------------------------------------------------------------------------


@dataclass
class WindowPreview:
    """What the gate would do with the audience if the campaign left at ``at`` (a dry run)."""

    at: datetime
    recipients: int = 0
    allowed: int = 0
    deferred: int = 0
    blocked: dict[str, int] = field(default_factory=dict)
    deferred_until: datetime | None = None  # the latest instant a deferred recipient waits for
    deferred_first: datetime | None = None  # the earliest one
    reasons: list[str] = field(default_factory=list)  # distinct explanations of the deferrals

    @property
    def blocked_total(self) -> int:
        return sum(self.blocked.values())


def window_preview(
    org: Organisation,
    *,
    list_ids: Sequence,
    segment_ids: Sequence,
    at: datetime,
    category: str = MARKETING,
    language: str = "fr",
) -> WindowPreview:
    """Runs the gate as a dry run for the whole audience at ``at``.

    The audience is grouped by (region, zone, calendar, consent, opted out): one query, then one gate
    evaluation per group (the gate itself caches per recipient context). Frequency caps are not
    counted: they depend on what else is sent before ``at``, which the dispatch-time gate knows.
    """
    preview = WindowPreview(at=at)
    list_ids, segment_ids = _ids(list_ids), _ids(segment_ids)
    if not list_ids and not segment_ids:
        return preview
    rows = list(
        audience_queryset(org, list_ids, segment_ids)
        .values("region", "timezone", "calendar", "consent_basis", "opted_out")
        .annotate(n=Count("id"))
        .order_by()
    )
    policy = org_policy(org)
    gate_category = TRANSACTIONAL if category == TRANSACTIONAL else MARKETING
    items = [
        GateItem(
            context=RecipientContext(
                row["region"] or "", row["timezone"] or org.timezone or "UTC", row["calendar"] or ""
            ),
            policy=policy,
            category=gate_category,
            consent=row["consent_basis"] or "unknown",
            suppressed=bool(row["opted_out"]),
        )
        for row in rows
    ]
    reasons: dict[str, None] = {}
    for row, decision in zip(rows, evaluate(items, at), strict=True):
        n = row["n"]
        preview.recipients += n
        if decision.outcome == DEFER:
            preview.deferred += n
            until = decision.next_allowed_at
            if until and (preview.deferred_until is None or until > preview.deferred_until):
                preview.deferred_until = until
            if until and (preview.deferred_first is None or until < preview.deferred_first):
                preview.deferred_first = until
            for reason in decision.reasons:
                reasons[reason.message(language)] = None
        elif decision.outcome == BLOCK:
            preview.blocked[decision.reason] = preview.blocked.get(decision.reason, 0) + n
        else:
            preview.allowed += n
    preview.reasons = list(reasons)[:5]
    return preview


def audience_sample(
    org: Organisation, list_ids: Iterable, segment_ids: Iterable, limit: int = 30
) -> list[Contact]:
    """Contacts of the audience a test can be rendered for: those whose first name has a letter outside
    GSM-7 first (Noël, Zoë, Jérôme: the ones whose message may cost more), then the others; two small
    queries."""
    list_ids, segment_ids = _ids(list_ids), _ids(segment_ids)
    if not list_ids and not segment_ids:
        return []
    audience = audience_queryset(org, list_ids, segment_ids).only("id", "first_name", "last_name", "phone")
    accented = list(audience.filter(first_name__regex=NON_GSM_LETTERS).order_by("id")[: max(limit // 3, 1)])
    rest = audience.exclude(id__in=[c.pk for c in accented]).order_by("id")[: limit - len(accented)]
    return [*accented, *rest]


def audience_contact(
    org: Organisation, list_ids: Iterable, segment_ids: Iterable, contact_id: Any
) -> Contact | None:
    """One contact of the audience (None for anything else: another organisation's id, or a contact
    outside the lists and segments chosen)."""
    try:
        pk = int(contact_id)
    except (TypeError, ValueError):
        return None
    return audience_queryset(org, list_ids, segment_ids).filter(pk=pk).values(*AUDIENCE_FIELDS).first()
