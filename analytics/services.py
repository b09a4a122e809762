"""Writes of the analytics app: clicks, link options, and the squash of the message counters."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from campaigns.models import Campaign
from smsplatform.audit import audit_record
from smsplatform.models import Organisation

from .bots import is_bot, user_agent_class
from .link_safety import blocked_hosts
from .links import UTM_KEYS, target_url
from .models import CampaignLinkOptions, Click, ClickCount, LinkCode, MessageCount, TrackedLink

logger = logging.getLogger(__name__)

CODE_RE = re.compile(r"^[A-Za-z0-9]{4,16}$")


def ip_hash(ip: str) -> str:
    """A keyed hash of the client's address: repeated clicks can be told apart, the address is not kept."""
    if not ip:
        return ""
    return hmac.new(settings.SECRET_KEY.encode(), ip.encode(), hashlib.sha256).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class ClickOutcome:
    url: str
    counted: bool


def click_record(
    *, code: str, user_agent: str = "", ip: str = "", method: str = "GET", now: datetime | None = None
) -> ClickOutcome | None:
    """Resolves a short code to its destination and records a person's click on it.

    None for an unknown or expired code. Bots (link previews, crawlers, HTTP libraries) and HEAD requests
    get the destination but are not counted. Nothing shared is incremented: a click inserts its row and a
    :class:`ClickCount` delta row (squashed later). Four queries for a click, one for a bot.
    """
    if not code or not CODE_RE.match(code):
        return None
    now = now or timezone.now()
    row = (
        LinkCode.objects.filter(code=code)
        .select_related("link")
        .only(
            "id",
            "org_id",
            "message_id",
            "campaign_id",
            "contact_id",
            "link__url",
            "link__utm",
            "link__expires_at",
        )
        .first()
    )
    if row is None:
        return None
    if row.link.expires_at is not None and row.link.expires_at <= now:
        return None
    if blocked_hosts([row.link.url]):
        logger.warning("short link %s leads to a blocked host; not redirected", code)
        return None
    url = target_url(row.link.url, row.link.utm)
    if method.upper() != "GET" or is_bot(user_agent):
        return ClickOutcome(url, counted=False)
    with transaction.atomic():
        # Exactly one request flips the flag: that click is the message's unique click.
        first = LinkCode.objects.filter(pk=row.pk, first_clicked_at__isnull=True).update(first_clicked_at=now)
        _click_insert(row, now, user_agent, ip, first=bool(first))
    return ClickOutcome(url, counted=True)


def _click_insert(row: LinkCode, now: datetime, user_agent: str, ip: str, *, first: bool) -> None:
    Click.objects.create(
        org_id=row.org_id,
        link_id=row.link_id,
        code_id=row.pk,
        message_id=row.message_id,
        campaign_id=row.campaign_id,
        contact_id=row.contact_id,
        at=now,
        user_agent_class=user_agent_class(user_agent),
        ip_hash=ip_hash(ip),
    )
    ClickCount.objects.create(
        org_id=row.org_id,
        campaign_id=row.campaign_id,
        bucket=now.astimezone(UTC).replace(minute=0, second=0, microsecond=0),
        clicks=1,
        unique_clicks=int(first),
    )


def campaign_utm_set(
    *, org: Organisation, actor: Any, campaign: Campaign, utm: Mapping[str, str] | None
) -> dict:
    """Sets (or clears, with None or {}) the UTM parameters of a campaign's links.

    They are added when a link is opened, so a change also applies to messages already sent: an owner
    who forgot them before launching can still have the visits attributed in their web analytics.
    """
    clean = {key: str(value).strip()[:100] for key, value in (utm or {}).items() if key in UTM_KEYS and value}
    with transaction.atomic():
        CampaignLinkOptions.objects.update_or_create(
            org=org, campaign=campaign, defaults={"utm": clean, "updated_at": timezone.now()}
        )
        TrackedLink.objects.filter(org=org, campaign=campaign).update(utm=clean)
        audit_record(org=org, actor=actor, action="campaign.utm_set", target=campaign, data={"utm": clean})
    return clean


# --- counters ---------------------------------------------------------------------------------------

_SQUASHED = {
    MessageCount: (("org_id", "campaign_id", "status", "reason", "bucket"), ("count", "credits")),
    ClickCount: (("org_id", "campaign_id", "bucket"), ("clicks", "unique_clicks")),
}


def message_counts_squash(*, max_campaigns: int = 500) -> dict[str, int]:
    """Folds the delta rows of the message and click counters into one row per key.

    Reports are exact without it (they sum every row); squashing keeps the rows of a campaign few, so
    that a report reads a few hundred rows whatever happened. Runs under a non-blocking lock (beat); the
    rows it folds are locked (``FOR UPDATE``) and deleted by id, so deltas inserted meanwhile are kept for
    the next run and an overlapping run cannot count anything twice. Rows of a deleted campaign or
    organisation are dropped. A constant number of queries per counter and chunk of campaigns.
    """
    totals = {"campaigns": 0, "rows_in": 0, "rows_out": 0}
    for model, (keys, values) in _SQUASHED.items():
        for name, n in _squash(model, keys, values, max_campaigns).items():
            totals[name] += n
    return totals


def _squash(model, keys: tuple[str, ...], values: tuple[str, ...], max_campaigns: int) -> dict[str, int]:
    pending = list(
        model.objects.filter(is_squashed=False)
        .values_list("org_id", "campaign_id")
        .distinct()
        .order_by()[:max_campaigns]
    )
    if not pending:
        return {"campaigns": 0, "rows_in": 0, "rows_out": 0}
    campaign_ids = {c for _o, c in pending if c is not None}
    standalone_orgs = {o for o, c in pending if c is None}
    with transaction.atomic():
        live_campaigns = set(Campaign.objects.filter(pk__in=campaign_ids).values_list("id", flat=True))
        live_orgs = set(
            Organisation.objects.filter(pk__in={o for o, _c in pending}).values_list("id", flat=True)
        )
        where = Q(campaign_id__in=campaign_ids)
        if standalone_orgs:
            where |= Q(campaign__isnull=True, org_id__in=standalone_orgs)
        rows = list(model.objects.select_for_update().filter(where).values_list("id", *keys, *values))
        sums: dict[tuple, list[int]] = defaultdict(lambda: [0] * len(values))
        for row in rows:
            key, amounts = row[1 : 1 + len(keys)], row[1 + len(keys) :]
            org_id, campaign_id = key[0], key[1]
            if org_id not in live_orgs or (campaign_id is not None and campaign_id not in live_campaigns):
                continue
            total = sums[key]
            for i, amount in enumerate(amounts):
                total[i] += amount
        ids = [row[0] for row in rows]
        for start in range(0, len(ids), 5000):
            model.objects.filter(pk__in=ids[start : start + 5000]).delete()
        squashed = [
            model(
                **dict(zip(keys, key, strict=True)),
                **dict(zip(values, amounts, strict=True)),
                is_squashed=True,
            )
            for key, amounts in sums.items()
            if any(amounts)
        ]
        model.objects.bulk_create(squashed, batch_size=2000)
    return {"campaigns": len(pending), "rows_in": len(ids), "rows_out": len(squashed)}
