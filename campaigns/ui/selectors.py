"""Reads behind the campaign pages: the audience in aggregate, the window preview, the calendar feed.

Everything here is read-only and scoped by the organisation first. The audience is never loaded row by
row: it is grouped in the database by what the price and the gate depend on (region, zone, calendar,
consent, opt-out), so a 100,000-contact audience costs one grouped query and a few dozen gate
evaluations.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, QuerySet

from billing.selectors import prices_for_regions
from campaigns.models import Campaign, CampaignStatus
from compliance.checker import org_policy
from compliance.context import RecipientContext
from compliance.gate import BLOCK, DEFER, MARKETING, TRANSACTIONAL, GateItem, evaluate
from contacts.models import Contact
from contacts.selectors import audience_contact_ids, org_lists_with_counts, org_segments
from smsplatform.models import Organisation

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
    ids = audience_contact_ids(org, _ids(list_ids), _ids(segment_ids))
    return Contact.objects.filter(org=org, id__in=ids).exclude(phone="")


def audience_regions(org: Organisation, list_ids: Iterable, segment_ids: Iterable) -> dict[str, int]:
    """Recipients per destination region (what the price depends on). One grouped query."""
    list_ids, segment_ids = _ids(list_ids), _ids(segment_ids)
    if not list_ids and not segment_ids:
        return {}
    rows = audience_queryset(org, list_ids, segment_ids).values("region").annotate(n=Count("id")).order_by()
    return {row["region"] or "": row["n"] for row in rows}


@dataclass(frozen=True)
class AudienceCost:
    recipients: int
    credits_per_sms: int  # credits of one segment for the whole audience (sum of regional prices)

    def credits(self, segments: int) -> int:
        return self.credits_per_sms * segments


def audience_cost(org: Organisation, list_ids: Iterable, segment_ids: Iterable) -> AudienceCost:
    """Recipients and the price of one segment sent to each of them (billing's regional prices)."""
    regions = audience_regions(org, list_ids, segment_ids)
    prices = prices_for_regions(regions.keys())
    return AudienceCost(
        recipients=sum(regions.values()),
        credits_per_sms=sum(n * prices[region] for region, n in regions.items()),
    )


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
