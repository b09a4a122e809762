"""Hole 8: a marketer could label a bulk campaign "transactional" and so skip consent, sending windows and
caps. A bulk campaign is marketing unless an operator approves it as transactional in the admin."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, CampaignStatus, Message
from campaigns.services import (
    campaign_create,
    campaign_start_scheduled,
    campaign_transactional_approve,
    sms_send_transactional,
)
from contacts.services import contact_create, contact_list_create, contacts_add_to_list
from smsplatform.models import AuditEntry, Role

pytestmark = pytest.mark.django_db


def audience(tenant, n=2, consent="none"):
    contact_list = contact_list_create(org=tenant.org, actor=tenant.owner, name="Tous")
    ids = [
        contact_create(
            org=tenant.org,
            actor=tenant.owner,
            phone=f"+336987650{i:02d}",
            consent_basis=consent,
            consent_source="manual",
        ).pk
        for i in range(n)
    ]
    contacts_add_to_list(org=tenant.org, actor=tenant.owner, contact_list=contact_list, contact_ids=ids)
    return contact_list


def transactional_draft(tenant, contact_list, **fields):
    response = tenant.api(Role.MARKETER).post(
        "/api/v1/campaigns",
        {
            "name": "Commande",
            "body": "-50% sur tout, aujourd'hui seulement !",
            "sender_id": "FLEURS",
            "category": "transactional",
            "list_ids": [contact_list.pk],
            **fields,
        },
        format="json",
    )
    assert response.status_code == 201, response.content  # saving a draft as transactional is allowed
    return Campaign.objects.get(pk=response.json()["id"])


def test_launching_an_unapproved_transactional_campaign_is_refused(tenant_a):
    campaign = transactional_draft(tenant_a, audience(tenant_a))
    response = tenant_a.api(Role.MARKETER).post(
        f"/api/v1/campaigns/{campaign.pk}/launch", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "transactional_needs_approval"
    assert "operator" in body["detail"]
    assert not Message.objects.filter(campaign=campaign).exists()
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT


def test_the_page_says_it_awaits_approval_and_refuses_the_launch(tenant_a):
    campaign = transactional_draft(tenant_a, audience(tenant_a))
    client = tenant_a.client(Role.MARKETER)
    page = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert 'data-testid="transactional-pending"' in page
    response = client.post(reverse("campaigns:launch", args=[campaign.pk]))
    assert response.status_code == 400
    assert 'data-testid="action-error"' in response.content.decode()
    assert not Message.objects.filter(campaign=campaign).exists()


def test_the_operator_approves_in_the_admin_then_it_launches(tenant_a, operator_client):
    campaign = transactional_draft(tenant_a, audience(tenant_a, consent="opt_in"))
    response = operator_client.post(
        "/admin/campaigns/campaign/", {"action": "approve_transactional", "_selected_action": [campaign.pk]}
    )
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.transactional_approved_at is not None
    assert AuditEntry.objects.filter(action="campaign.transactional_approved", org=tenant_a.org).exists()
    # An organisation's own admin is no operator.
    assert tenant_a.client(Role.OWNER).post(
        "/admin/campaigns/campaign/", {"action": "approve_transactional", "_selected_action": [campaign.pk]}
    ).status_code in (302, 403)
    launched = tenant_a.api(Role.MARKETER).post(f"/api/v1/campaigns/{campaign.pk}/launch")
    assert launched.status_code == 200, launched.content
    assert launched.json()["status"] == CampaignStatus.SENDING


def test_editing_the_body_after_approval_withdraws_it(tenant_a):
    campaign = transactional_draft(tenant_a, audience(tenant_a))
    campaign_transactional_approve(campaign=campaign, actor=None)
    api = tenant_a.api(Role.MARKETER)
    assert (
        api.patch(f"/api/v1/campaigns/{campaign.pk}", {"name": "Commande 2"}, format="json").status_code
        == 200
    )
    campaign.refresh_from_db()
    assert campaign.transactional_approved_at is not None  # the name is not what was approved
    swapped = api.patch(f"/api/v1/campaigns/{campaign.pk}", {"body": "Soldes ! -70%"}, format="json")
    assert swapped.status_code == 200
    campaign.refresh_from_db()
    assert campaign.transactional_approved_at is None
    response = api.post(f"/api/v1/campaigns/{campaign.pk}/launch")
    assert response.status_code == 400 and response.json()["code"] == "transactional_needs_approval"


def test_a_scheduled_unapproved_transactional_campaign_fails_at_its_time(tenant_a):
    contact_list = audience(tenant_a)
    campaign = campaign_create(
        org=tenant_a.org,
        actor=tenant_a.owner,
        name="Plus tard",
        body="Promo",
        sender_id="FLEURS",
        category="transactional",
        list_ids=[contact_list.pk],
    )
    # A row scheduled before the rule existed: the beat refuses it too.
    Campaign.objects.filter(pk=campaign.pk).update(
        status=CampaignStatus.SCHEDULED, scheduled_at=timezone.now() - timedelta(minutes=1)
    )
    assert campaign_start_scheduled(campaign_id=campaign.pk) == "failed"
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.FAILED
    assert campaign.failure_reason == "transactional_needs_approval"
    assert not Message.objects.filter(campaign=campaign).exists()


def test_one_to_one_transactional_messages_are_unaffected(tenant_a):
    message = sms_send_transactional(
        org=tenant_a.org, to="+33612345678", body="Votre code : 1234", reason="optin_code", charge=False
    )
    assert message.category == "transactional"
