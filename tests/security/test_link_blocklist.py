"""Hole 11: short links must never lead to a known phishing host (the operator keeps the blocklist)."""

from __future__ import annotations

import pytest
from django.test import Client

from analytics.link_safety import blocklist_changed
from analytics.links import links_for_messages, shorten_body
from analytics.models import BlockedLinkHost, LinkCode, TrackedLink
from billing.selectors import credits_balance
from campaigns.models import Campaign, CampaignStatus, Message
from campaigns.services import campaign_create, campaign_launch
from tests.analytics.conftest import make_campaign
from tests.campaigns.conftest import make_audience

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _short_domain(settings):
    settings.SHORT_LINK_DOMAIN = "https://sms.example"
    settings.SMS_GATEWAY = "console"


def test_the_operator_adds_a_host_in_the_admin_normalised(operator_client):
    response = operator_client.post(
        "/admin/analytics/blockedlinkhost/add/",
        {"host": "https://Evil-Bank.example./login", "reason": "phishing kit reported by a carrier"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert BlockedLinkHost.objects.get().host == "evil-bank.example"
    again = operator_client.post("/admin/analytics/blockedlinkhost/add/", {"host": "EVIL-BANK.example"})
    assert again.status_code == 200 and BlockedLinkHost.objects.count() == 1


def test_a_campaign_linking_to_a_blocked_host_or_its_subdomain_is_refused_with_nothing_written(tenant_a):
    BlockedLinkHost.objects.create(host="evil-bank.example")
    contact_list, _ = make_audience(tenant_a, 3, credits=10)
    campaign = campaign_create(
        org=tenant_a.org,
        actor=tenant_a.owner,
        name="Phish",
        body="Votre compte est suspendu: https://secure.login.evil-bank.example/verify",
        list_ids=[contact_list.pk],
    )
    balance = credits_balance(tenant_a.org)
    response = tenant_a.api().post(f"/api/v1/campaigns/{campaign.pk}/launch")
    assert response.status_code == 400
    assert response.json()["code"] == "link_blocked"
    assert "secure.login.evil-bank.example" in response.json()["detail"]
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.DRAFT
    assert not Message.objects.filter(campaign=campaign).exists()
    assert not TrackedLink.objects.filter(campaign=campaign).exists()
    assert credits_balance(tenant_a.org) == balance


def test_a_lookalike_host_is_not_blocked_by_suffix(tenant_a):
    BlockedLinkHost.objects.create(host="evil-bank.example")
    contact_list, _ = make_audience(tenant_a, 1, credits=10)
    campaign = campaign_create(
        org=tenant_a.org,
        actor=tenant_a.owner,
        name="Honest",
        body="Soldes sur https://notevil-bank.example/soldes",
        list_ids=[contact_list.pk],
    )
    launched = campaign_launch(org=tenant_a.org, actor=tenant_a.owner, campaign=campaign)
    assert launched.status == CampaignStatus.SENDING


def test_a_host_blocked_after_the_launch_no_longer_redirects(tenant_a):
    campaign, msgs = make_campaign(tenant_a.org, 1)
    template, _ = shorten_body(org=tenant_a.org, campaign_id=campaign.pk, body="Offre https://shop.example/x")
    links_for_messages(org=tenant_a.org, campaign_id=campaign.pk, items=[(m.pk, template) for m in msgs])
    code = LinkCode.objects.get(campaign_id=campaign.pk).code
    assert Client().get(f"/r/{code}").status_code == 302
    BlockedLinkHost.objects.create(host="shop.example", reason="site taken over")
    blocklist_changed()  # what the admin does on save
    response = Client().get(f"/r/{code}")
    assert response.status_code != 302
    assert "Location" not in response
