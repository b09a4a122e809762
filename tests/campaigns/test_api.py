"""Campaigns and messages API (docs/api.md): shapes, statuses, roles, tenancy, query counts."""

from __future__ import annotations

import pytest

from billing.selectors import credits_balance
from campaigns.models import Campaign, CampaignStatus, Message
from campaigns.services import campaign_create, campaign_launch
from smsplatform.models import Role

from .conftest import MONDAY_10H, make_audience

pytestmark = pytest.mark.django_db


def make_campaign(tenant, contact_list=None, **kw):
    fields = {"name": "Soldes", "body": "Promo", "sender_id": "FLEURS"}
    fields.update(kw)
    return campaign_create(
        org=tenant.org, actor=tenant.owner, list_ids=[contact_list.pk] if contact_list else [], **fields
    )


def test_create_list_and_detail(tenant_a, tenant_b):
    api = tenant_a.api()
    contact_list, _ = make_audience(tenant_a, 2)
    decoy = make_campaign(tenant_b, name="Decoy", sender_id="PAIN")  # a sender ID is one organisation's
    response = api.post(
        "/api/v1/campaigns",
        {
            "name": "Fête des mères",
            "body": "Bonjour {first_name|client}",
            "sender_id": "FLEURS",
            "category": "marketing",
            "list_ids": [contact_list.pk],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    assert {
        "id",
        "name",
        "body",
        "sender_id",
        "category",
        "list_ids",
        "scheduled_at",
        "status",
        "created_at",
    } <= set(data)
    assert data["status"] == "draft" and data["list_ids"] == [contact_list.pk]
    listing = api.get("/api/v1/campaigns").json()
    assert [c["name"] for c in listing["results"]] == ["Fête des mères"]
    assert listing["next"] is None and listing["previous"] is None
    assert api.get(f"/api/v1/campaigns/{data['id']}").status_code == 200
    for method in ("get", "patch", "delete"):
        assert getattr(api, method)(f"/api/v1/campaigns/{decoy.pk}").status_code == 404
    for action in ("estimate", "launch", "pause", "resume", "cancel"):
        assert api.post(f"/api/v1/campaigns/{decoy.pk}/{action}").status_code == 404
    assert Campaign.objects.get(pk=decoy.pk).status == CampaignStatus.DRAFT


def test_validation_errors_are_400(tenant_a, tenant_b):
    api = tenant_a.api()
    other_list, _ = make_audience(tenant_b, 1)
    response = api.post(
        "/api/v1/campaigns",
        {"name": "X", "body": "Y", "sender_id": "SFR", "list_ids": [other_list.pk]},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()) >= {"sender_id", "list_ids"}


def test_launch_402_when_short_and_nothing_written(tenant_a):
    api = tenant_a.api()
    contact_list, _ = make_audience(tenant_a, 3)
    campaign = make_campaign(tenant_a, contact_list, body="a" * 6000)
    response = api.post(f"/api/v1/campaigns/{campaign.pk}/launch")
    assert response.status_code == 402
    assert response.json()["code"] == "insufficient_credits"
    assert Message.objects.count() == 0 and credits_balance(tenant_a.org) == 100
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.DRAFT


def test_launch_then_invalid_transitions_are_409(tenant_a, monkeypatch):
    from campaigns import enqueue

    monkeypatch.setattr(enqueue, "enqueue_dispatch", lambda campaign_id: None)
    api = tenant_a.api()
    contact_list, _ = make_audience(tenant_a, 2)
    campaign = make_campaign(tenant_a, contact_list)
    response = api.post(f"/api/v1/campaigns/{campaign.pk}/launch")
    assert response.status_code == 200 and response.json()["status"] == "sending"
    again = api.post(f"/api/v1/campaigns/{campaign.pk}/launch")
    assert again.status_code == 409 and again.json()["code"] == "invalid_state_sending"
    assert api.patch(f"/api/v1/campaigns/{campaign.pk}", {"name": "Z"}, format="json").status_code == 409
    assert api.delete(f"/api/v1/campaigns/{campaign.pk}").status_code == 409
    assert api.post(f"/api/v1/campaigns/{campaign.pk}/resume").status_code == 409
    assert api.post(f"/api/v1/campaigns/{campaign.pk}/pause").json()["status"] == "paused"
    assert api.post(f"/api/v1/campaigns/{campaign.pk}/resume").json()["status"] == "sending"
    cancelled = api.post(f"/api/v1/campaigns/{campaign.pk}/cancel")
    assert cancelled.json()["status"] == "cancelled"
    assert credits_balance(tenant_a.org) == 100
    assert api.post(f"/api/v1/campaigns/{campaign.pk}/cancel").status_code == 409
    assert Message.objects.filter(campaign=campaign).count() == 2


def test_launch_at_a_future_date_schedules(tenant_a):
    api = tenant_a.api()
    contact_list, _ = make_audience(tenant_a, 2)
    campaign = make_campaign(tenant_a, contact_list)
    response = api.patch(
        f"/api/v1/campaigns/{campaign.pk}", {"scheduled_at": "2099-01-05T10:00:00+01:00"}, format="json"
    )
    assert response.status_code == 200
    launched = api.post(f"/api/v1/campaigns/{campaign.pk}/launch").json()
    assert launched["status"] == "scheduled" and Message.objects.count() == 0
    # Still editable (the calendar moves it) and deletable while scheduled.
    moved = api.patch(
        f"/api/v1/campaigns/{campaign.pk}", {"scheduled_at": "2099-01-06T10:00:00+01:00"}, format="json"
    )
    assert moved.json()["status"] == "scheduled"
    assert api.delete(f"/api/v1/campaigns/{campaign.pk}").status_code == 204


def test_estimate_shape(tenant_a):
    api = tenant_a.api(Role.ANALYST)
    contact_list, _ = make_audience(tenant_a, 2)
    campaign = make_campaign(tenant_a, contact_list)
    response = api.post(
        f"/api/v1/campaigns/{campaign.pk}/estimate", {"at": "2026-06-15T21:30:00+02:00"}, format="json"
    )
    assert response.status_code == 200, response.json()
    data = response.json()
    assert {"recipients", "credits", "encoding", "segments", "deferred", "blocked"} <= set(data)
    assert data["recipients"] == 2 and data["deferred"] == 2 and data["blocked"] == {}


def test_analyst_reads_but_cannot_write(tenant_a):
    api = tenant_a.api(Role.ANALYST)
    campaign = make_campaign(tenant_a)
    assert api.get("/api/v1/campaigns").status_code == 200
    assert api.post("/api/v1/campaigns", {"name": "x", "body": "y"}, format="json").status_code == 403
    assert api.post(f"/api/v1/campaigns/{campaign.pk}/launch").status_code == 403
    assert api.delete(f"/api/v1/campaigns/{campaign.pk}").status_code == 403


def test_messages_list_filters_and_decoys(tenant_a, tenant_b, monkeypatch):
    from campaigns import enqueue

    monkeypatch.setattr(enqueue, "enqueue_dispatch", lambda campaign_id: None)
    contact_list, _ = make_audience(tenant_a, 3)
    campaign = make_campaign(tenant_a, contact_list)
    campaign_launch(org=tenant_a.org, actor=tenant_a.owner, campaign=campaign, now=MONDAY_10H)
    b_list, _ = make_audience(tenant_b, 2)
    decoy = make_campaign(tenant_b, b_list, sender_id="PAIN")
    campaign_launch(org=tenant_b.org, actor=tenant_b.owner, campaign=decoy, now=MONDAY_10H)
    api = tenant_a.api()
    data = api.get("/api/v1/messages").json()
    assert len(data["results"]) == 3
    assert set(data["results"][0]) == {
        "id",
        "campaign",
        "to",
        "body",
        "status",
        "encoding",
        "segments",
        "deferred_until",
        "block_reason",
        "sent_at",
        "delivered_at",
    }
    assert data["results"][0]["campaign"] == campaign.pk
    assert len(api.get(f"/api/v1/messages?campaign={campaign.pk}").json()["results"]) == 3
    assert api.get(f"/api/v1/messages?campaign={decoy.pk}").json()["results"] == []
    assert api.get("/api/v1/messages?status=sent").json()["results"] == []
    assert len(api.get("/api/v1/messages?status=pending").json()["results"]) == 3
    assert api.get("/api/v1/messages?status=bogus").status_code == 400
    assert len(api.get("/api/v1/messages?page_size=2").json()["results"]) == 2


@pytest.mark.parametrize("n", [2, 30])
def test_list_query_counts_are_constant(tenant_a, django_assert_num_queries, monkeypatch, n):
    from campaigns import enqueue

    monkeypatch.setattr(enqueue, "enqueue_dispatch", lambda campaign_id: None)
    contact_list, _ = make_audience(tenant_a, n)
    for i in range(n):
        make_campaign(tenant_a, name=f"C{i}")
    campaign = make_campaign(tenant_a, contact_list, name="sent")
    campaign_launch(org=tenant_a.org, actor=tenant_a.owner, campaign=campaign, now=MONDAY_10H)
    api = tenant_a.api()
    api.get("/api/v1/campaigns")  # warm the key's last_used_at
    # API key lookup, page of campaigns (throttling uses the cache, not the database).
    with django_assert_num_queries(2):
        assert api.get("/api/v1/campaigns").status_code == 200
    with django_assert_num_queries(2):
        assert api.get("/api/v1/messages").status_code == 200
