"""What a launch would do, computed without writing anything."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
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


def campaign_estimate(*, org: Organisation, campaign: Campaign, at: datetime | None = None) -> dict[str, Any]:
    """What a launch would do, without writing anything: recipients, credits, encoding, segments, and how
    many the gate would defer (and until when at the latest) or block (and why) at ``at`` (default: the
    scheduled time, or now). A constant number of queries whatever the audience size (plus one per 2,000
    recipients streamed)."""
    now = timezone.now()
    at = at or (campaign.scheduled_at if campaign.scheduled_at and campaign.scheduled_at > now else now)
    marketing = campaign.category == Category.MARKETING
    template = prepare_body(campaign.body, marketing=marketing, stop_mention=org.stop_mention)
    # URLs counted at the length of their tracked short link, as the launch will send them (no write).
    template = body_for_counting(template)
    rows = list(audience_rows(org, campaign))
    prices = prices_for_regions({r["region"] or "" for r in rows})
    suppressed = suppressed_numbers(org, [r["phone"] for r in rows])
    counts = marketing_counts(org, [r["id"] for r in rows], at) if marketing and rows else {}
    policy = org_policy(org)
    items, credits, max_segments, unicode, row_credits = [], 0, 0, False, []
    plain = campaign.transliterate_merge_values
    sizes: Counter[tuple[int, bool]] = Counter()  # (segments, unicode) -> recipients
    for row in rows:
        rendered = render_for(
            template, contact_values(row), smart=campaign.smart_encoding, transliterate_values=plain
        )
        cost = rendered.segments * prices[row["region"] or ""]
        row_credits.append(cost)
        credits += cost
        max_segments = max(max_segments, rendered.segments)
        sizes[(rendered.segments, rendered.encoding == "UCS-2")] += 1
        unicode = unicode or rendered.encoding == "UCS-2"
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
    decisions = evaluate(items, at)
    blocked = Counter(d.reason for d in decisions if d.outcome == BLOCK)
    deferred = [d.next_allowed_at for d in decisions if d.outcome == DEFER]
    base = render_for(template, {}, smart=campaign.smart_encoding)
    blocked_credits = sum(c for c, d in zip(row_credits, decisions, strict=True) if d.outcome == BLOCK)
    return {
        "recipients": len(rows),
        "credits": credits,
        "credits_after_blocks": credits - blocked_credits,
        "encoding": "UCS-2" if unicode or base.encoding == "UCS-2" else "GSM-7",
        "segments": max_segments or base.segments,
        # The distribution the composer showed: [{"segments": 1, "unicode": False, "recipients": 952}, ...]
        "sizes": [{"segments": k[0], "unicode": k[1], "recipients": n} for k, n in sorted(sizes.items())],
        "deferred": len(deferred),
        "deferred_until": max(deferred) if deferred else None,
        "blocked": dict(blocked),
        "at": at,
        "balance": credits_balance(org),
    }
