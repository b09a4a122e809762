"""The cumulative timeline of a campaign report, computed without the database.

A campaign's figures are drawn as running totals (sent, delivered, clicks) from the launch, at zero, to
the last event or now. Per-bucket bars read wrong when everything falls in one bucket (two giant bars
for a campaign sent in ten minutes); running totals read the same for one hour or one week. The bucket
size follows the span so that the chart keeps a few dozen points at most.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.utils.formats import date_format

MINUTE = timedelta(minutes=1)
FIVE_MINUTES = timedelta(minutes=5)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
# (longest span, bucket): up to 61 points per minute for an hour, 73 per five minutes for six hours,
# 73 per hour for three days, then one per day.
STEPS = ((HOUR, MINUTE), (timedelta(hours=6), FIVE_MINUTES), (timedelta(days=3), HOUR))
STEP_NAMES = {MINUTE: "minute", FIVE_MINUTES: "5min", HOUR: "hour", DAY: "day"}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def bucket_size(span: timedelta) -> timedelta:
    for longest, step in STEPS:
        if span <= longest:
            return step
    return DAY


def _boundaries(start: datetime, end: datetime, step: timedelta, tz) -> list[datetime]:
    """The bucket ends strictly between ``start`` and ``end``: multiples of ``step`` (local midnights for
    days)."""
    if step >= DAY:
        day = start.astimezone(tz).date() + DAY
        result = []
        while True:
            at = datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
            if at >= end:
                return result
            result.append(at)
            day += DAY
    first = EPOCH + ((start - EPOCH) // step + 1) * step
    count = max(0, -(-(end - first) // step))  # ceiling: the boundaries before ``end``
    return [first + i * step for i in range(count)]


def _label(at: datetime, step: timedelta, tz, same_day: bool) -> str:
    """In the page's language: "3 déc.", "3 Dec 14:05" (never "03/12", read 12 March in English)."""
    local = at.astimezone(tz)
    if step >= DAY:
        return date_format(local, "j N")
    return date_format(local, "H:i" if same_day else "j N H:i")


def cumulative_timeline(
    series: dict[str, dict[datetime, int]],
    *,
    start: datetime,
    end: datetime,
    tz,
    resolution: timedelta = timedelta(0),
) -> dict[str, list | str]:
    """Running totals of each series at the launch (zero), at each bucket end, and at ``end`` (everything).

    ``series`` maps a name to counts per instant, each instant rounded down to ``resolution`` by its
    source (a minute for message rows, an hour for the counters): an event counts at a bucket end once
    its whole rounding interval has passed, so coarse data never shows before it happened. Always at
    least two points."""
    start, end = _aware(start), _aware(end)
    end = max(end, start + MINUTE)
    step = max(bucket_size(end - start), resolution)
    times = [start, *_boundaries(start, end, step, tz), end]
    same_day = start.astimezone(tz).date() == end.astimezone(tz).date()
    out: dict[str, list | str] = {
        "labels": [_label(t, step, tz, same_day) for t in times],
        "step": STEP_NAMES.get(step, "hour"),
    }
    for name, values in series.items():
        events = sorted((_aware(at) + resolution, n) for at, n in values.items() if n)
        total = sum(n for _at, n in events)
        running, i, points = 0, 0, [0]
        for t in times[1:-1]:
            while i < len(events) and events[i][0] <= t:
                running += events[i][1]
                i += 1
            points.append(running)
        points.append(total)
        out[name] = points
    return out


def _aware(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
