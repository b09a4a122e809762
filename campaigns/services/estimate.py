"""What a launch would do, computed without writing anything."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any

from django.utils import timezone

from analytics.links import body_for_counting
from billing.selectors import credits_balance, prices_for_regions
from compliance.checker import org_policy
from compliance.context import RecipientContext, recipient_context
from compliance.gate import BLOCK, DEFER, GateItem, evaluate
from compliance.selectors import suppressed_numbers
from smsplatform.models import Organisation

from ..models import Campaign, Category
from ..rendering import contact_values, prepare_body, render_for
from ..selectors import audience_rows, marketing_counts


def _context(row: dict[str, Any]) -> RecipientContext:
    if row.get("region") and row.get("timezone"):
        return RecipientContext(row["region"], row["timezone"], row.get("calendar") or row["region"])
    try:
        return recipient_context(row["phone"], row.get("postal_code") or "")
    except ValueError:
        return RecipientContext("FR", "Europe/Paris", "FR")


#: Recipients estimated at a time: memory stays flat whatever the audience, as in the launch.
ESTIMATE_CHUNK = 20_000


@dataclass
class _Tally:
    """What the estimate adds up over the audience, chunk by chunk."""

    recipients: int = 0
    credits: int = 0
    blocked_credits: int = 0
    max_segments: int = 0
    unicode: bool = False
    sizes: Counter = field(default_factory=Counter)  # (segments, unicode) -> recipients
    blocked: Counter = field(default_factory=Counter)
    deferred: int = 0
    deferred_until: datetime | None = None


def _estimate_chunk(
    org: Organisation,
    campaign: Campaign,
    rows: list[dict[str, Any]],
    template: str,
    at: datetime,
    policy: Any,
    tally: _Tally,
) -> None:
    """Renders, prices and gates one chunk of recipients into ``tally`` (three queries at most)."""
    marketing = campaign.category == Category.MARKETING
    prices = prices_for_regions({r["region"] or "" for r in rows})
    suppressed = suppressed_numbers(org, [r["phone"] for r in rows])
    counts = marketing_counts(org, [r["id"] for r in rows], at) if marketing else {}
    items, costs = [], []
    for row in rows:
        rendered = render_for(
            template,
            contact_values(row),
            smart=campaign.smart_encoding,
            transliterate_values=campaign.transliterate_merge_values,
        )
        cost = rendered.segments * prices[row["region"] or ""]
        costs.append(cost)
        unicode = rendered.encoding == "UCS-2"
        tally.sizes[(rendered.segments, unicode)] += 1
        tally.max_segments = max(tally.max_segments, rendered.segments)
        tally.unicode = tally.unicode or unicode
        d1, d7 = counts.get(row["id"], (0, 0))
        items.append(
            GateItem(
                context=_context(row),
                policy=policy,
                category=campaign.category,
                consent=row["consent_basis"],
                suppressed=row["phone"] in suppressed,
                sent_last_24h=d1,
                sent_last_7d=d7,
            )
        )
    tally.recipients += len(rows)
    tally.credits += sum(costs)
    for cost, decision in zip(costs, evaluate(items, at), strict=True):
        if decision.outcome == BLOCK:
            tally.blocked[decision.reason] += 1
            tally.blocked_credits += cost
        elif decision.outcome == DEFER:
            tally.deferred += 1
            until = decision.next_allowed_at
            if until and (tally.deferred_until is None or until > tally.deferred_until):
                tally.deferred_until = until


def campaign_estimate(*, org: Organisation, campaign: Campaign, at: datetime | None = None) -> dict[str, Any]:
    """What a launch would do, without writing anything: recipients, credits, encoding, segments, and how
    many the gate would defer (and until when at the latest) or block (and why) at ``at`` (default: the
    scheduled time, or now). Streamed :data:`ESTIMATE_CHUNK` recipients at a time: a few queries per
    chunk, and memory that does not grow with the audience."""
    now = timezone.now()
    at = at or (campaign.scheduled_at if campaign.scheduled_at and campaign.scheduled_at > now else now)
    marketing = campaign.category == Category.MARKETING
    template = prepare_body(campaign.body, marketing=marketing, stop_mention=org.stop_mention)
    # URLs counted at the length of their tracked short link, as the launch will send them (no write).
    template = body_for_counting(template)
    tally, policy = _Tally(), org_policy(org)  # the policy once, not per chunk
    audience = iter(audience_rows(org, campaign))
    while rows := list(islice(audience, ESTIMATE_CHUNK)):
        _estimate_chunk(org, campaign, rows, template, at, policy, tally)
    base = render_for(template, {}, smart=campaign.smart_encoding)
    return {
        "recipients": tally.recipients,
        "credits": tally.credits,
        "credits_after_blocks": tally.credits - tally.blocked_credits,
        "encoding": "UCS-2" if tally.unicode or base.encoding == "UCS-2" else "GSM-7",
        "segments": tally.max_segments or base.segments,
        # The distribution the composer showed: [{"segments": 1, "unicode": False, "recipients": 952}, ...]
        "sizes": [
            {"segments": k[0], "unicode": k[1], "recipients": n} for k, n in sorted(tally.sizes.items())
        ],
        "deferred": tally.deferred,
        "deferred_until": tally.deferred_until,
        "blocked": dict(tally.blocked),
        "at": at,
        "balance": credits_balance(org),
    }
