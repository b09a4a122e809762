"""Campaign pages: create, edit, estimate, launch, pause/cancel, 402 and 409, roles and tenancy."""

from __future__ import annotations

from datetime import UTC

import pytest
from django.urls import reverse

from campaigns import services
from campaigns.models import Campaign, CampaignStatus, Message
from smsplatform.models import Role

from .conftest import PARIS, add_contacts, future_local, make_campaign

pytestmark = pytest.mark.django_db


def form_data(contact_list, **extra):
    data = {
        "name": "Fête des mères",
        "body": "Bonne fête {first_name|à toutes} : -10% sur les roses !",
        "category": "marketing",
        "sender_id": "FleursLys",
        "list_ids": [contact_list.pk],
        "when": "now",
    }
    data.update(extra)
    return data


def test_list_empty_state_says_what_to_do(tenant_a):
    html = tenant_a.client(Role.ANALYST).get(reverse("campaigns:list")).content.decode()
    assert 'data-testid="empty-state"' in html
    assert "/contacts/import/" in html


def test_list_puts_the_next_scheduled_first(tenant_a, audience):
    make_campaign(tenant_a, audience, name="Brouillon")
    later = make_campaign(tenant_a, audience, name="Plus tard", scheduled_at=future_local(days=20))
    sooner = make_campaign(tenant_a, audience, name="Bientôt", scheduled_at=future_local(days=5))
    for c in (later, sooner):
        services.campaign_launch(org=tenant_a.org, actor=tenant_a.owner, campaign=c)
    html = tenant_a.client().get(reverse("campaigns:list")).content.decode()
    assert html.index("Bientôt") < html.index("Plus tard") < html.index("Brouillon")
    assert "status-scheduled" in html and "status-draft" in html


def test_create_edit_and_launch_through_the_pages(tenant_a, audience):
    client = tenant_a.client(Role.MARKETER)
    response = client.post(reverse("campaigns:create"), form_data(audience))
    assert response.status_code == 302, response.content.decode()[:2000]
    campaign = Campaign.objects.get(org=tenant_a.org)
    assert response["Location"] == reverse("campaigns:detail", args=[campaign.pk])
    assert campaign.status == CampaignStatus.DRAFT and campaign.scheduled_at is None
    assert campaign.list_ids == [audience.pk]

    detail = client.get(response["Location"]).content.decode()
    assert "Fête des mères" in detail and 'data-testid="launch"' in detail
    estimate = client.get(reverse("campaigns:estimate", args=[campaign.pk])).content.decode()
    assert 'data-recipients="3"' in estimate

    # Edit: a date in the organisation's time zone.
    when = future_local(days=12, weekday=1, hour=9, minute=30)
    edit = form_data(
        audience, name="Fête des mères (J-2)", when="later",
        scheduled_date=when.date().isoformat(), scheduled_time="09:30",
    )  # fmt: skip
    response = client.post(reverse("campaigns:edit", args=[campaign.pk]), edit)
    assert response.status_code == 302, response.content.decode()[:3000]
    campaign.refresh_from_db()
    assert campaign.name == "Fête des mères (J-2)"
    assert campaign.scheduled_at == when.astimezone(UTC)
    page = client.get(reverse("campaigns:edit", args=[campaign.pk])).content.decode()
    assert 'value="09:30"' in page

    # Launch with a future date: scheduled. Back to "now" and launch: sending.
    assert client.post(reverse("campaigns:launch", args=[campaign.pk])).status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SCHEDULED
    client.post(reverse("campaigns:edit", args=[campaign.pk]), form_data(audience))
    campaign.refresh_from_db()
    assert campaign.scheduled_at is None and campaign.status == CampaignStatus.DRAFT
    response = client.post(reverse("campaigns:launch", args=[campaign.pk]), follow=True)
    assert response.status_code == 200
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING
    assert Message.objects.filter(campaign=campaign).count() == 3
    assert campaign.credits_reserved == 3
    # What is sending cannot be edited any more.
    response = client.get(reverse("campaigns:edit", args=[campaign.pk]))
    assert response.status_code == 302


def test_invalid_form_is_explained(tenant_a, audience):
    client = tenant_a.client()
    response = client.post(reverse("campaigns:create"), form_data(audience, sender_id="INFO", body=""))
    assert response.status_code == 400
    html = response.content.decode()
    assert "INFO" in html and 'class="errorlist"' in html
    past = form_data(audience, when="later", scheduled_date="2020-01-01", scheduled_time="10:00")
    assert client.post(reverse("campaigns:create"), past).status_code == 400
    assert not Campaign.objects.exists()


def test_launch_short_of_credits_answers_402_with_a_link_to_billing(tenant_a):
    contact_list = add_contacts(tenant_a, 11)
    campaign = make_campaign(tenant_a, contact_list, body="a" * 1500)  # 10 SMS x 11 = 110 > 100
    response = tenant_a.client().post(reverse("campaigns:launch", args=[campaign.pk]))
    assert response.status_code == 402
    html = response.content.decode()
    assert 'data-testid="insufficient-credits"' in html and 'href="/billing/"' in html
    assert "110" in html
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT
    assert not Message.objects.filter(campaign=campaign).exists()
    estimate = tenant_a.client().get(reverse("campaigns:estimate", args=[campaign.pk])).content.decode()
    assert 'data-testid="estimate-short"' in estimate


def test_invalid_transitions_answer_409_in_words(tenant_a, audience):
    campaign = make_campaign(tenant_a, audience)
    client = tenant_a.client()
    response = client.post(reverse("campaigns:pause", args=[campaign.pk]))
    assert response.status_code == 409
    assert 'data-testid="action-error"' in response.content.decode()
    client.post(reverse("campaigns:launch", args=[campaign.pk]))
    assert client.post(reverse("campaigns:launch", args=[campaign.pk])).status_code == 409
    assert client.post(reverse("campaigns:pause", args=[campaign.pk])).status_code == 302
    assert client.post(reverse("campaigns:resume", args=[campaign.pk])).status_code == 302
    assert client.post(reverse("campaigns:cancel", args=[campaign.pk])).status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.CANCELLED
    assert client.post(reverse("campaigns:cancel", args=[campaign.pk])).status_code == 409


def test_estimate_explains_blocked_recipients(tenant_a):
    contact_list = add_contacts(tenant_a, 2)
    add_contacts(tenant_a, 1, consent="none", contact_list=contact_list)
    campaign = make_campaign(tenant_a, contact_list)
    html = tenant_a.client().get(reverse("campaigns:estimate", args=[campaign.pk])).content.decode()
    assert 'data-recipients="3"' in html
    assert 'data-reason="no_consent"' in html


def test_analyst_reads_but_cannot_post(tenant_a, audience):
    campaign = make_campaign(tenant_a, audience)
    analyst = tenant_a.client(Role.ANALYST)
    for name in ("campaigns:list", "campaigns:calendar"):
        assert analyst.get(reverse(name)).status_code == 200
    detail = analyst.get(reverse("campaigns:detail", args=[campaign.pk]))
    assert detail.status_code == 200 and 'data-testid="launch"' not in detail.content.decode()
    assert analyst.post(reverse("campaigns:create"), {"name": "x"}).status_code == 403
    for action in ("launch", "pause", "resume", "cancel", "delete", "edit", "reschedule"):
        assert analyst.post(reverse(f"campaigns:{action}", args=[campaign.pk])).status_code == 403, action
    assert analyst.post(reverse("campaigns:templates"), {"name": "a", "body": "b"}).status_code == 403
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT


ID_PAGES = ["detail", "edit", "estimate", "at_preview"]
ID_ACTIONS = ["edit", "launch", "pause", "resume", "cancel", "delete", "reschedule"]


def test_another_organisations_campaign_is_404_everywhere(tenant_a, tenant_b):
    decoy_list = add_contacts(tenant_b, 1)
    decoy = make_campaign(tenant_b, decoy_list, scheduled_at=future_local(days=8))
    services.campaign_launch(org=tenant_b.org, actor=tenant_b.owner, campaign=decoy)
    client = tenant_a.client()
    for name in ID_PAGES:
        assert client.get(reverse(f"campaigns:{name}", args=[decoy.pk])).status_code == 404, name
    for name in ID_ACTIONS:
        response = client.post(reverse(f"campaigns:{name}", args=[decoy.pk]), {"at": "2031-01-06T10:00"})
        assert response.status_code == 404, name
    decoy.refresh_from_db()
    assert decoy.status == CampaignStatus.SCHEDULED
    assert Campaign.objects.filter(pk=decoy.pk).exists()


def test_detail_of_a_sending_campaign_shows_progress(tenant_a, audience):
    campaign = make_campaign(tenant_a, audience)
    services.campaign_launch(org=tenant_a.org, actor=tenant_a.owner, campaign=campaign)
    html = tenant_a.client().get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert "status-sending" in html
    assert "+3361" in html  # the latest messages


def test_times_are_shown_in_the_organisations_zone(tenant_a, audience):
    from smsplatform.services import organisation_update

    organisation_update(org=tenant_a.org, actor=tenant_a.owner, timezone="Indian/Reunion")
    when = future_local(days=9, weekday=2, hour=10).astimezone(UTC)
    campaign = make_campaign(tenant_a, audience, scheduled_at=when)
    html = tenant_a.client().get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    local = when.astimezone(PARIS.__class__("Indian/Reunion"))
    assert local.strftime("%H:%M") in html
