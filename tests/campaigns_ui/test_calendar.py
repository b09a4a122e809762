"""The calendar: the organisation's feed, rescheduling by drag (POST), the outside-window preview."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from campaigns import services
from campaigns.models import CampaignStatus

from .conftest import PARIS, add_contacts, future_local, make_campaign

pytestmark = pytest.mark.django_db

SUNDAY, MONDAY, TUESDAY = 6, 0, 1


def scheduled(tenant, contact_list, when, **fields):
    campaign = make_campaign(tenant, contact_list, scheduled_at=when, **fields)
    return services.campaign_launch(org=tenant.org, actor=tenant.owner, campaign=campaign)


def feed(client, start, end):
    response = client.get(reverse("campaigns:calendar_events"), {"start": start, "end": end})
    assert response.status_code == 200
    return response.json()


def test_feed_contains_only_the_organisations_campaigns(tenant_a, tenant_b, audience):
    when = future_local(days=10, weekday=TUESDAY, hour=10)
    mine = scheduled(tenant_a, audience, when, name="Chez A")
    sent = make_campaign(tenant_a, audience, name="Envoyée A")
    services.campaign_launch(org=tenant_a.org, actor=tenant_a.owner, campaign=sent)
    make_campaign(tenant_a, audience, name="Brouillon sans date")
    scheduled(tenant_b, add_contacts(tenant_b, 1), when, name="Chez B")

    start = (when - timedelta(days=40)).date().isoformat()
    end = (when + timedelta(days=2)).date().isoformat()
    events = feed(tenant_a.client(), start, end)
    titles = {e["title"] for e in events}
    assert titles == {"Chez A", "Envoyée A"}
    event = next(e for e in events if e["id"] == str(mine.pk))
    # The organisation's wall time, without offset (the calendar shows the shop's time).
    assert event["start"] == when.replace(tzinfo=None).isoformat(timespec="minutes")
    assert event["editable"] is True
    assert next(e for e in events if e["title"] == "Envoyée A")["editable"] is False


def test_calendar_page_loads_fullcalendar_without_inline_script(tenant_a):
    html = tenant_a.client().get(reverse("campaigns:calendar")).content.decode()
    assert "vendor/fullcalendar.min.js" in html and "vendor/fullcalendar-locales.min.js" in html
    assert "js/calendar.js" in html
    assert 'id="calendar-config" type="application/json"' in html
    assert '"locale": "fr"' in html


def test_drag_reschedules_a_scheduled_campaign(tenant_a, audience):
    campaign = scheduled(tenant_a, audience, future_local(days=10, weekday=TUESDAY, hour=10))
    new = future_local(days=14, weekday=TUESDAY, hour=15, minute=30)
    client = tenant_a.client()
    response = client.post(
        reverse("campaigns:reschedule", args=[campaign.pk]), {"at": new.replace(tzinfo=None).isoformat()}
    )
    assert response.status_code == 200, response.content
    campaign.refresh_from_db()
    assert campaign.scheduled_at == new.astimezone(UTC)
    assert campaign.status == CampaignStatus.SCHEDULED
    assert "15:30" in response.json()["detail"]


def test_drag_refuses_a_campaign_that_is_not_scheduled_or_a_past_date(tenant_a, audience):
    client = tenant_a.client()
    draft = make_campaign(tenant_a, audience)
    at = future_local(days=10).replace(tzinfo=None).isoformat()
    response = client.post(reverse("campaigns:reschedule", args=[draft.pk]), {"at": at})
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_state_draft"

    services.campaign_launch(org=tenant_a.org, actor=tenant_a.owner, campaign=draft)
    response = client.post(reverse("campaigns:reschedule", args=[draft.pk]), {"at": at})
    assert response.status_code == 409
    draft.refresh_from_db()
    assert draft.scheduled_at is None

    campaign = scheduled(tenant_a, audience, future_local(days=10))
    response = client.post(reverse("campaigns:reschedule", args=[campaign.pk]), {"at": "2020-01-01T10:00"})
    assert response.status_code == 400
    response = client.post(reverse("campaigns:reschedule", args=[campaign.pk]), {"at": "not a date"})
    assert response.status_code == 400


def test_preview_counts_recipients_deferred_on_a_sunday_and_until_when(tenant_a):
    contact_list = add_contacts(tenant_a, 3)
    add_contacts(tenant_a, 1, consent="none", contact_list=contact_list)
    campaign = scheduled(tenant_a, contact_list, future_local(days=10, weekday=TUESDAY))
    sunday = future_local(days=10, weekday=SUNDAY, hour=11)
    url = reverse("campaigns:at_preview", args=[campaign.pk])
    data = tenant_a.client().get(url, {"at": sunday.replace(tzinfo=None).isoformat()}).json()
    assert data["recipients"] == 4
    assert data["deferred"] == 3
    assert data["blocked"] == {"no_consent": 1}
    until = datetime.fromisoformat(data["deferred_until"]).astimezone(PARIS)
    assert until.date() == (sunday + timedelta(days=1)).date() and until.strftime("%H:%M") == "08:00"
    assert "08:00" in data["deferred_until_display"]

    # 21:00 on a weekday: outside FR_STRICT's 08:00-20:00, deferred to the next morning.
    evening = future_local(days=10, weekday=TUESDAY, hour=21)
    data = tenant_a.client().get(url, {"at": evening.replace(tzinfo=None).isoformat()}).json()
    assert data["deferred"] == 3
    until = datetime.fromisoformat(data["deferred_until"]).astimezone(PARIS)
    assert (until.date(), until.hour) == ((evening + timedelta(days=1)).date(), 8)

    # Inside the window: nobody waits.
    morning = future_local(days=10, weekday=TUESDAY, hour=10)
    data = tenant_a.client().get(url, {"at": morning.replace(tzinfo=None).isoformat()}).json()
    assert (data["deferred"], data["allowed"]) == (0, 3)


def test_composer_window_preview_for_an_unsaved_campaign(tenant_a, audience):
    sunday = future_local(days=10, weekday=SUNDAY, hour=11)
    response = tenant_a.client().post(
        reverse("campaigns:window"),
        {
            "list_ids": [audience.pk],
            "category": "marketing",
            "when": "later",
            "scheduled_date": sunday.date().isoformat(),
            "scheduled_time": "11:00",
        },
    )
    html = response.content.decode()
    assert 'data-deferred="3"' in html
    assert "08:00" in html
    # Transactional messages are not held by sending windows.
    response = tenant_a.client().post(
        reverse("campaigns:window"),
        {
            "list_ids": [audience.pk],
            "category": "transactional",
            "when": "later",
            "scheduled_date": sunday.date().isoformat(),
            "scheduled_time": "11:00",
        },
    )
    assert 'data-deferred="0"' in response.content.decode()
