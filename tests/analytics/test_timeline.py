"""The report's cumulative timeline: the bucket follows the span, the launch is at zero, the last point
holds every event, and a short campaign is read per minute from its rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from analytics import selectors
from analytics.models import ClickCount
from analytics.timeline import bucket_size, cumulative_timeline
from campaigns.models import CampaignStatus, Message, MessageStatus

from .conftest import make_campaign

PARIS = ZoneInfo("Europe/Paris")
LAUNCH = datetime(2026, 6, 15, 8, 13, tzinfo=UTC)


@pytest.mark.parametrize(
    ("span", "step"),
    [
        (timedelta(minutes=20), timedelta(minutes=1)),
        (timedelta(hours=1), timedelta(minutes=1)),
        (timedelta(hours=2), timedelta(minutes=5)),
        (timedelta(hours=6), timedelta(minutes=5)),
        (timedelta(hours=30), timedelta(hours=1)),
        (timedelta(days=7), timedelta(days=1)),
    ],
)
def test_the_bucket_follows_the_span(span, step):
    assert bucket_size(span) == step


def test_one_bucket_of_events_still_draws_a_line_from_zero_to_the_total():
    # Everything in one minute, the case that drew two giant bars.
    series = {"sent": {LAUNCH.replace(second=0): 40}, "delivered": {LAUNCH.replace(second=0): 38}}
    timeline = cumulative_timeline(
        series, start=LAUNCH, end=LAUNCH, tz=PARIS, resolution=timedelta(minutes=1)
    )
    assert timeline["sent"][0] == 0 and timeline["sent"][-1] == 40
    assert timeline["delivered"][0] == 0 and timeline["delivered"][-1] == 38
    assert len(timeline["labels"]) >= 2
    assert timeline["labels"][0] == "10:13"  # Paris time


def test_a_forty_minute_campaign_is_drawn_per_minute_and_never_decreases():
    minute = LAUNCH.replace(second=0)
    series = {"sent": {minute + timedelta(minutes=i): 10 for i in range(40)}}
    end = minute + timedelta(minutes=40)
    timeline = cumulative_timeline(series, start=LAUNCH, end=end, tz=PARIS, resolution=timedelta(minutes=1))
    assert timeline["step"] == "minute"
    points = timeline["sent"]
    assert points[0] == 0 and points[-1] == 400
    assert points == sorted(points)
    assert 40 <= len(points) <= 62
    assert timeline["labels"][1] == "10:14"  # the first bucket end after the launch
    assert points[1] == 10  # the launch minute's messages, counted once that minute is over


def test_a_week_long_campaign_is_drawn_per_local_day_with_hourly_data():
    hour = LAUNCH.replace(minute=0)
    series = {"clicks": {hour: 3, hour + timedelta(days=2): 2, hour + timedelta(days=6): 1}}
    end = hour + timedelta(days=6, hours=1)
    with translation.override("fr"):
        timeline = cumulative_timeline(series, start=LAUNCH, end=end, tz=PARIS, resolution=timedelta(hours=1))
    assert timeline["step"] == "day"
    # Days in the page's language, never "06/15" against "15/06": June and July stay apart in French.
    assert timeline["labels"][:2] == ["15 juin", "16 juin"]
    with translation.override("en"):
        english = cumulative_timeline(series, start=LAUNCH, end=end, tz=PARIS, resolution=timedelta(hours=1))
    assert english["labels"][:2] == ["15 June", "16 June"]
    assert timeline["clicks"][0] == 0 and timeline["clicks"][1] == 3 and timeline["clicks"][-1] == 6
    assert len(timeline["labels"]) == 8  # launch, six local midnights, the end


@pytest.mark.django_db
def test_the_report_timeline_of_a_short_campaign_reads_its_rows_per_minute(tenant_a, tenant_b):
    campaign, messages = make_campaign(tenant_a.org, 4, status=CampaignStatus.COMPLETED, launched_at=LAUNCH)
    for i, message in enumerate(messages):
        at = LAUNCH + timedelta(minutes=10 * i)
        Message.objects.filter(pk=message.pk).update(
            status=MessageStatus.DELIVERED, sent_at=at, delivered_at=at
        )
    decoy, decoy_messages = make_campaign(tenant_b.org, 3, launched_at=LAUNCH)
    Message.objects.filter(campaign=decoy).update(status=MessageStatus.DELIVERED, sent_at=LAUNCH)
    timeline = selectors.campaign_timeline(tenant_a.org, campaign, now=LAUNCH + timedelta(days=1))
    assert timeline["step"] == "minute"
    assert timeline["sent"][0] == 0 and timeline["sent"][-1] == 4
    assert timeline["delivered"][-1] == 4
    assert timeline["sent"] == sorted(timeline["sent"])
    # The line ends just after the last event (30 minutes after the launch), not at "now".
    assert 30 <= len(timeline["labels"]) <= 34


@pytest.mark.django_db
def test_the_report_timeline_without_events_is_empty(tenant_a):
    campaign, _messages = make_campaign(tenant_a.org, 2, launched_at=LAUNCH)
    assert selectors.campaign_timeline(tenant_a.org, campaign, now=LAUNCH)["labels"] == []


@pytest.mark.django_db
def test_clicks_days_later_stretch_the_timeline_to_hours(tenant_a):
    campaign, messages = make_campaign(tenant_a.org, 2, status=CampaignStatus.COMPLETED, launched_at=LAUNCH)
    Message.objects.filter(campaign=campaign).update(status=MessageStatus.DELIVERED, sent_at=LAUNCH)
    ClickCount.objects.create(
        org=tenant_a.org, campaign=campaign, bucket=LAUNCH.replace(minute=0) + timedelta(hours=30), clicks=2,
        unique_clicks=1,
    )  # fmt: skip
    timeline = selectors.campaign_timeline(tenant_a.org, campaign, now=LAUNCH + timedelta(days=5))
    assert timeline["step"] == "hour"
    assert timeline["clicks"][-1] == 2 and timeline["sent"][-1] == 2
