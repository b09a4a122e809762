"""Reads behind the reports, the comparison table and the dashboard; ``org`` first, a fixed number of
queries each whatever the campaign's size.

Message figures come from :class:`~analytics.models.MessageCount` (kept by triggers, so they equal a count
over the message rows at every instant); clicks from the click rows (index-only aggregates); opt-outs from
the inbound messages, attributed to the campaign whose message the number received last within
``ATTRIBUTION_WINDOW``.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Exists, Max, Min, OuterRef, QuerySet, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Trunc
from django.utils import timezone
from django.utils.formats import date_format

from campaigns.models import Campaign, CampaignStatus, Message, MessageStatus
from campaigns.selectors import upcoming_campaigns
from contacts.models import Contact
from smsplatform.models import Organisation

from .counters import ATTRIBUTION_DAYS
from .models import Click, ClickCount, MessageCount, OptOut
from .reasons import deferred_label, reason_label
from .timeline import cumulative_timeline

M = MessageStatus
SPENT_STATUSES = (M.SENT, M.DELIVERED, M.UNDELIVERED)
# A near miss ("stp", "arret svp") suppresses like a STOP (docs/compliance.md, "Keywords"): an opt-out.
OPT_OUT_KINDS = ("opt_out", "near_miss_opt_out")
CONTACTS_CAP = 10_000


def attribution_window() -> timedelta:
    return timedelta(days=ATTRIBUTION_DAYS)


# --- attribution ------------------------------------------------------------------------------------


def attributed_campaigns(org: Organisation, events: Sequence[tuple[str, datetime]]) -> list[int | None]:
    """For each (phone, instant), the campaign whose message that number received last within the
    attribution window before the instant, or None. One query for any number of events."""
    if not events:
        return []
    window = attribution_window()
    phones = {phone for phone, _at in events}
    start = min(at for _p, at in events) - window
    end = max(at for _p, at in events)
    sent: dict[str, list[tuple[datetime, int, int]]] = defaultdict(list)
    rows = (
        Message.objects.filter(
            org=org, to__in=phones, campaign__isnull=False, sent_at__gte=start, sent_at__lte=end
        )
        .values_list("to", "sent_at", "id", "campaign_id")
        .order_by()
    )
    for to, sent_at, message_id, campaign_id in rows:
        sent[to].append((sent_at, message_id, campaign_id))
    for values in sent.values():
        values.sort()
    result: list[int | None] = []
    for phone, at in events:
        values = sent.get(phone, [])
        i = bisect.bisect_right(values, (at, float("inf"), 0)) - 1
        if i >= 0 and values[i][0] > at - window:
            result.append(values[i][2])
        else:
            result.append(None)
    return result


def opt_outs_by_campaign(org: Organisation, campaign_ids: Iterable[int]) -> dict[int, int]:
    """Opt-outs (distinct numbers) attributed to each campaign (rows written by a trigger as replies
    arrive, see analytics.counters). One query."""
    rows = (
        OptOut.objects.filter(org=org, campaign_id__in=list(campaign_ids))
        .values("campaign_id")
        .annotate(n=Count("phone", distinct=True))
        .values_list("campaign_id", "n")
        .order_by()
    )
    return dict(rows)


def _click_totals(org: Organisation, campaign_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    rows = (
        ClickCount.objects.filter(org=org, campaign_id__in=list(campaign_ids))
        .values("campaign_id")
        .annotate(total=Sum("clicks"), unique=Sum("unique_clicks"))
        .values_list("campaign_id", "total", "unique")
        .order_by()
    )
    return {cid: (total or 0, unique or 0) for cid, total, unique in rows}


# --- campaign figures ---------------------------------------------------------------------------------


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _figures(
    status: dict[str, int], credits_spent: int, clicks: int, unique_clicks: int, opt_outs: int
) -> dict:
    sent = status.get(M.SENT, 0) + status.get(M.DELIVERED, 0) + status.get(M.UNDELIVERED, 0)
    delivered = status.get(M.DELIVERED, 0)
    return {
        "recipients": sum(status.values()),
        "status_counts": {
            "queued": status.get(M.PENDING, 0) + status.get(M.SENDING, 0),
            "deferred": status.get(M.DEFERRED, 0),
            "sent": sent,
            "delivered": delivered,
            "failed": status.get(M.FAILED, 0) + status.get(M.UNDELIVERED, 0),
            "blocked": status.get(M.BLOCKED, 0),
            "cancelled": status.get(M.CANCELLED, 0),
        },
        "delivery_rate": _rate(delivered, sent),
        "clicks": clicks,
        "unique_clicks": unique_clicks,
        # Over delivered messages; over sent ones when the gateway sends no receipts at all.
        "click_rate": _rate(unique_clicks, delivered or sent),
        "opt_outs": opt_outs,
        "opt_out_rate": _rate(opt_outs, delivered or sent),
        "credits_spent": credits_spent,
    }


def campaign_report(org: Organisation, campaign: Campaign) -> dict[str, Any]:
    """The report of one campaign (docs/api.md, "Resources"). Three
    queries: counters, clicks, opt-outs."""
    status: dict[str, int] = defaultdict(int)
    blocked: dict[str, int] = defaultdict(int)
    deferred: dict[str, int] = defaultdict(int)
    spent = 0
    rows = (
        MessageCount.objects.filter(org=org, campaign=campaign)
        .values_list("status", "reason")
        .annotate(n=Sum("count"), c=Sum("credits"))
        .order_by()
    )
    for st, reason, n, c in rows:
        status[st] += n
        if st == M.BLOCKED:
            blocked[reason] += n
        elif st == M.DEFERRED:
            deferred[reason] += n
        if st in SPENT_STATUSES:
            spent += c
    total, unique = _click_totals(org, [campaign.pk]).get(campaign.pk, (0, 0))
    opt_outs = opt_outs_by_campaign(org, [campaign.pk]).get(campaign.pk, 0)
    report = _figures(dict(status), spent, total, unique, opt_outs)
    report["blocked_reasons"] = {k: v for k, v in sorted(blocked.items()) if v}
    report["deferred_reasons"] = {k: v for k, v in sorted(deferred.items()) if v}
    return report


def deferred_until_by_reason(org: Organisation, campaign: Campaign) -> dict[str, datetime]:
    """Until when the campaign's deferred messages wait, per reason (the latest of each): what the
    report's summary says beside each reason. One grouped query over the deferred messages (an index
    serves them: they are few once a campaign has sent)."""
    rows = (
        Message.objects.filter(org=org, campaign=campaign, status=M.DEFERRED)
        .values(code=KT("reasons__0__code"))
        .annotate(until=Max("deferred_until"))
        .order_by()
    )
    return {row["code"] or "": row["until"] for row in rows if row["until"]}


def reasons_in_words(
    reasons: dict[str, int], until: dict[str, datetime] | None = None
) -> list[dict[str, Any]]:
    """``{code: n}`` as rows for a page: the sentence, the code and the count, most frequent first."""
    return [
        {"code": code, "label": reason_label(code), "count": n, "until": (until or {}).get(code)}
        for code, n in sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
    ]


def campaigns_comparison(org: Organisation, campaigns: Sequence[Campaign]) -> list[dict[str, Any]]:
    """The figures of several campaigns side by side (reports index, dashboard). Three queries."""
    ids = [c.pk for c in campaigns]
    if not ids:
        return []
    status: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    spent: dict[int, int] = defaultdict(int)
    rows = (
        MessageCount.objects.filter(org=org, campaign_id__in=ids)
        .values_list("campaign_id", "status")
        .annotate(n=Sum("count"), c=Sum("credits"))
        .order_by()
    )
    for campaign_id, st, n, c in rows:
        status[campaign_id][st] += n
        if st in SPENT_STATUSES:
            spent[campaign_id] += c
    clicks = _click_totals(org, ids)
    opt_outs = opt_outs_by_campaign(org, ids)
    result = []
    for campaign in campaigns:
        total, unique = clicks.get(campaign.pk, (0, 0))
        figures = _figures(
            dict(status[campaign.pk]), spent[campaign.pk], total, unique, opt_outs.get(campaign.pk, 0)
        )
        figures["campaign"] = campaign
        result.append(figures)
    return result


def reported_campaigns(org: Organisation, limit: int = 100) -> list[Campaign]:
    """Campaigns that have (or had) messages, most recently launched first. One query."""
    return list(
        Campaign.objects.filter(org=org)
        .exclude(status__in=(CampaignStatus.DRAFT, CampaignStatus.SCHEDULED))
        .order_by("-launched_at", "-id")
        .only("id", "org_id", "name", "status", "launched_at", "created_at", "completed_at")[:limit]
    )


# --- over time -------------------------------------------------------------------------------------


def _org_tz(org: Organisation):
    try:
        return ZoneInfo(getattr(org, "timezone", "") or settings.TIME_ZONE)
    except Exception:  # noqa: BLE001 - a bad zone name must not break a report
        return ZoneInfo(settings.TIME_ZONE)


# Above this many messages the timeline keeps to the hourly counters even for a short campaign: reading
# every message row for minute buckets is not worth a slow report page.
FINE_TIMELINE_MAX_MESSAGES = 100_000
FINE_TIMELINE_MAX_SPAN = timedelta(hours=6)
RUNNING = (CampaignStatus.SENDING, CampaignStatus.PAUSED)


def campaign_timeline(org: Organisation, campaign: Campaign, now: datetime | None = None) -> dict[str, Any]:
    """Running totals of sent, delivered and clicks from the launch (zero) to the last event (or now while
    the campaign runs), for Chart.js (see analytics.timeline). Two queries on the hourly counters; three
    more on the rows for a short campaign (six hours at most), whose minutes matter."""
    now = now or timezone.now()
    series: dict[str, dict[datetime, int]] = {
        "sent": defaultdict(int),
        "delivered": defaultdict(int),
        "clicks": defaultdict(int),
    }
    rows = (
        MessageCount.objects.filter(org=org, campaign=campaign, bucket__isnull=False)
        .values_list("status", "bucket")
        .annotate(n=Sum("count"))
        .order_by()
    )
    for st, bucket, n in rows:
        series["sent"][bucket] += n  # every message with a time has left
        if st == M.DELIVERED:
            series["delivered"][bucket] += n
    for hour, n in (
        ClickCount.objects.filter(org=org, campaign=campaign)
        .values_list("bucket")
        .annotate(n=Sum("clicks"))
        .order_by()
    ):
        series["clicks"][hour] += n
    hours = sorted(_utc(h) for values in series.values() for h, n in values.items() if n)
    if not hours:
        return {"labels": []}
    start = _utc(campaign.launched_at) if campaign.launched_at else hours[0]
    resolution = timedelta(hours=1)
    end = _timeline_end(campaign, hours[-1] + resolution, now)
    if end - start <= FINE_TIMELINE_MAX_SPAN and (campaign.recipients or 0) <= FINE_TIMELINE_MAX_MESSAGES:
        series, resolution = _minute_series(org, campaign, start, end), timedelta(minutes=1)
        minutes = [m for values in series.values() for m, n in values.items() if n]
        if minutes:
            end = _timeline_end(campaign, max(minutes) + resolution, now)
    return cumulative_timeline(series, start=start, end=end, tz=_org_tz(org), resolution=resolution)


def _timeline_end(campaign: Campaign, after_last_event: datetime, now: datetime) -> datetime:
    return now if campaign.status in RUNNING else min(after_last_event, now)


def _minute_series(org: Organisation, campaign: Campaign, start: datetime, end: datetime) -> dict:
    """Sent, delivered and clicks per UTC minute, from the rows (three grouped queries)."""
    messages = Message.objects.filter(org=org, campaign=campaign).order_by()
    minute = {"tzinfo": UTC}
    sent = messages.filter(sent_at__isnull=False).annotate(m=Trunc("sent_at", "minute", **minute))
    delivered = messages.filter(status=M.DELIVERED, delivered_at__isnull=False).annotate(
        m=Trunc("delivered_at", "minute", **minute)
    )
    clicks = Click.objects.filter(
        org=org, campaign_id=campaign.pk, at__gte=start - timedelta(minutes=1), at__lte=end
    ).annotate(m=Trunc("at", "minute", **minute))
    return {
        name: dict(qs.order_by().values("m").annotate(n=Count("id")).values_list("m", "n"))
        for name, qs in (("sent", sent), ("delivered", delivered), ("clicks", clicks))
    }


def _utc(h: datetime) -> datetime:
    return h.replace(tzinfo=UTC) if h.tzinfo is None else h.astimezone(UTC)


# --- recipients ------------------------------------------------------------------------------------

STATUS_FILTERS: dict[str, tuple[str, ...]] = {
    "queued": (M.PENDING, M.SENDING),
    "deferred": (M.DEFERRED,),
    "sent": (M.SENT,),
    "delivered": (M.DELIVERED,),
    "failed": (M.FAILED, M.UNDELIVERED),
    "blocked": (M.BLOCKED,),
    "cancelled": (M.CANCELLED,),
}
RECIPIENT_FIELDS = (
    "id",
    "to",
    "contact_id",
    "contact__first_name",
    "contact__last_name",
    "status",
    "block_reason",
    "reasons",
    "error_code",
    "sent_at",
    "delivered_at",
    "deferred_until",
)


def _id_bounds(campaign: Campaign) -> tuple[int, int] | None:
    """The campaign's first and last message ids, or None without messages: two index-only lookups in
    ``message_campaign_id`` (campaign_id, id DESC), one query."""
    bounds = Message.objects.filter(campaign_id=campaign.pk).aggregate(low=Min("id"), high=Max("id"))
    if bounds["low"] is None:
        return None
    return bounds["low"], bounds["high"]


def _recipients_qs(org: Organisation, campaign: Campaign, *, status: str = "", clicked: str = "") -> QuerySet:
    qs = Message.objects.filter(org=org, campaign=campaign)
    if status in STATUS_FILTERS:
        qs = qs.filter(status__in=STATUS_FILTERS[status])
    if clicked in ("yes", "no"):
        has_click = Exists(Click.objects.filter(org=org, message_id=OuterRef("pk")))
        qs = qs.filter(has_click if clicked == "yes" else ~has_click)
    return qs


def _clicks_of(org: Organisation, message_ids: list[int]) -> dict[int, tuple[int, datetime]]:
    return {
        m: (n, first)
        for m, n, first in Click.objects.filter(org=org, message_id__in=message_ids)
        .values("message_id")
        .annotate(n=Count("id"), first=Min("at"))
        .values_list("message_id", "n", "first")
        .order_by()
    }


def _outcome_reason(row: dict[str, Any], tz) -> str:
    if row["status"] == M.BLOCKED:
        return reason_label(row["block_reason"])
    if row["status"] == M.DEFERRED:
        # The gate's first reason and the next allowed instant (campaigns.pipeline stores both).
        reasons = row.get("reasons") or []
        code = reasons[0].get("code", "") if reasons and isinstance(reasons[0], dict) else ""
        return deferred_label(code, row.get("deferred_until"), tz)
    if row["status"] in (M.FAILED, M.UNDELIVERED):
        return row.get("error_code") or ""
    return ""


def campaign_recipients(
    org: Organisation,
    campaign: Campaign,
    *,
    status: str = "",
    clicked: str = "",
    before: int | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """One page of the per-recipient outcome table, newest message first (keyset on the id: no count
    over a million rows). Four queries: the campaign's id bounds, the page, its clicks, its STOPs.

    The page is read between the campaign's first and last message ids (:func:`_id_bounds`): without the
    bounds PostgreSQL walks the primary key backwards from the newest message of the whole table, past
    every other campaign's rows (its estimate assumes a campaign's rows are spread evenly over the ids;
    a launch packs them), 0.5 s for the first page of a 1M-message campaign under 1M newer rows."""
    bounds = _id_bounds(campaign)
    if bounds is None:
        return {"rows": [], "next_before": None}
    low, high = bounds
    if before:
        high = min(high, before - 1)
    qs = _recipients_qs(org, campaign, status=status, clicked=clicked).filter(pk__gte=low, pk__lte=high)
    rows = list(qs.order_by("-id").values(*RECIPIENT_FIELDS)[: limit + 1]) if low <= high else []
    has_next = len(rows) > limit
    rows = rows[:limit]
    clicks = _clicks_of(org, [r["id"] for r in rows]) if rows else {}
    stopped = _stopped_numbers(org, campaign, {r["to"] for r in rows}) if rows else set()
    status_labels = dict(MessageStatus.choices)
    tz = _org_tz(org)
    for row in rows:
        row["name"] = " ".join(filter(None, [row["contact__first_name"], row["contact__last_name"]]))
        row["status_label"] = status_labels.get(row["status"], row["status"])
        row["reason"] = _outcome_reason(row, tz)
        row["opted_out"] = row["to"] in stopped
        row["clicks"], row["first_click_at"] = clicks.get(row["id"], (0, None))
    return {"rows": rows, "next_before": rows[-1]["id"] if has_next and rows else None}


def _stopped_numbers(org: Organisation, campaign: Campaign, phones: set[str]) -> set[str]:
    """The numbers among ``phones`` that answered STOP to this campaign (the attributed opt-outs)."""
    return set(
        OptOut.objects.filter(org=org, campaign=campaign, phone__in=list(phones))
        .values_list("phone", flat=True)
        .order_by()
    )


def campaign_export_rows(
    org: Organisation, campaign: Campaign, *, status: str = "", clicked: str = "", chunk: int = 2000
) -> Iterator[list[Any]]:
    """Every recipient's outcome as CSV rows, header first, streamed: two queries per ``chunk`` rows (and
    the campaign's id bounds once)."""
    yield [
        "phone",
        "first_name",
        "last_name",
        "status",
        "reason",
        "sent_at",
        "delivered_at",
        "clicks",
        "first_click_at",
    ]
    status_labels = dict(MessageStatus.choices)
    tz = _org_tz(org)
    bounds = _id_bounds(campaign)  # walk the primary key over the campaign's ids only (see above)
    if bounds is None:
        return
    qs = _recipients_qs(org, campaign, status=status, clicked=clicked)
    qs = qs.filter(pk__lte=bounds[1]).order_by("id")
    last = bounds[0] - 1
    while True:
        rows = list(qs.filter(pk__gt=last).values(*RECIPIENT_FIELDS)[:chunk])
        if not rows:
            return
        last = rows[-1]["id"]
        clicks = _clicks_of(org, [r["id"] for r in rows])
        for row in rows:
            n, first = clicks.get(row["id"], (0, None))
            yield [
                row["to"],
                row["contact__first_name"] or "",
                row["contact__last_name"] or "",
                str(status_labels.get(row["status"], row["status"])),
                _outcome_reason(row, tz),
                _iso(row["sent_at"]),
                _iso(row["delivered_at"]),
                n,
                _iso(first),
            ]


def _iso(value: datetime | None) -> str:
    return timezone.localtime(value).strftime("%d/%m/%Y %H:%M") if value else ""


# --- dashboard -------------------------------------------------------------------------------------


def dashboard_summary(org: Organisation, now: datetime | None = None, days: int = 30) -> dict[str, Any]:
    """The home page's figures over the last ``days`` days: messages that left, delivery rate, clicks,
    opt-outs and their rate, credits spent, contact growth, a daily series, the next scheduled campaigns
    and the last campaigns compared. Ten small indexed queries, none over message or click rows."""
    now = now or timezone.now()
    since = now - timedelta(days=days)
    status: dict[str, int] = defaultdict(int)
    spent = 0
    series: dict[str, dict[datetime, int]] = {"sent": defaultdict(int), "delivered": defaultdict(int)}
    rows = (
        MessageCount.objects.filter(org=org, bucket__gte=since.replace(minute=0, second=0, microsecond=0))
        .values_list("status", "bucket")
        .annotate(n=Sum("count"), c=Sum("credits"))
        .order_by()
    )
    for st, bucket, n, c in rows:
        status[st] += n
        series["sent"][bucket] += n
        if st == M.DELIVERED:
            series["delivered"][bucket] += n
        if st in SPENT_STATUSES:
            spent += c
    sent = sum(status.values())
    delivered = status.get(M.DELIVERED, 0)
    hour = since.replace(minute=0, second=0, microsecond=0)
    clicks = ClickCount.objects.filter(org=org, bucket__gte=hour).aggregate(
        total=Sum("clicks"), unique=Sum("unique_clicks")
    )
    clicks = {"total": clicks["total"] or 0, "unique": clicks["unique"] or 0}
    opt_outs = OptOut.objects.filter(org=org, at__gte=since).aggregate(n=Count("phone", distinct=True))["n"]
    # Counting a million contacts to print one number is not worth it: the count stops at the cap.
    contacts_new = (
        Contact.objects.filter(org=org, created_at__gte=since).order_by().values("id")[:CONTACTS_CAP].count()
    )
    recent = reported_campaigns(org, limit=5)
    return {
        "days": days,
        "sent": sent,
        "delivered": delivered,
        "delivery_rate": _rate(delivered, sent),
        "clicks": clicks["total"],
        "unique_clicks": clicks["unique"],
        "click_rate": _rate(clicks["unique"], delivered or sent),
        "opt_outs": opt_outs,
        "opt_out_rate": _rate(opt_outs, delivered or sent),
        "credits_spent": spent,
        "contacts_new": contacts_new,
        "contacts_new_more": contacts_new >= CONTACTS_CAP,
        "timeline": _bucketed_days(series, _org_tz(org), since, now),
        "upcoming": upcoming_campaigns(org, limit=5),
        "recent": campaigns_comparison(org, recent),
    }


def _day_label(day) -> str:
    """A chart's day in the page's language: "3 déc.", "3 Dec" (never "03/12", read 12 March in English)."""
    return date_format(day, "j N")


def _bucketed_days(
    series: dict[str, dict[datetime, int]], tz, since: datetime, now: datetime
) -> dict[str, list]:
    start = since.astimezone(tz).date()
    end = now.astimezone(tz).date()
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    index = {d: i for i, d in enumerate(days)}
    out: dict[str, list] = {"labels": [_day_label(d) for d in days]}
    for name, values in series.items():
        counts = [0] * len(days)
        for h, n in values.items():
            i = index.get(_utc(h).astimezone(tz).date())
            if i is not None:
                counts[i] += n
        out[name] = counts
    return out
