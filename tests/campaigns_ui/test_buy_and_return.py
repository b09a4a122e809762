"""Short of credits in the composer: the draft is saved before leaving, the billing page preselects the
pack that covers the shortfall, and the payment brings the owner back to the campaign."""

from __future__ import annotations

import pytest
from django.urls import reverse

from billing.models import CreditPack, Purchase
from billing.selectors import credits_balance
from campaigns.models import Campaign, CampaignStatus

from .conftest import add_contacts

pytestmark = pytest.mark.django_db

PACKS = [(500, 3200), (1000, 5900), (5000, 25000)]


@pytest.fixture
def packs(db, settings):
    settings.PAYMENT_ADAPTER = "fake"
    CreditPack.objects.update(active=False)
    return [
        CreditPack.objects.update_or_create(credits=c, defaults={"price_ht_cents": p, "active": True})[0]
        for c, p in PACKS
    ]


def test_short_of_credits_the_draft_is_kept_the_pack_preselected_and_the_owner_comes_back(tenant_a, packs):
    contact_list = add_contacts(tenant_a, 160)  # "Zoé" is GSM-7: one credit each, 160 for 100 in hand
    client = tenant_a.client()
    form = {
        "name": "Fête des mères",
        "body": "Bonjour {first_name}, -20% ce samedi !",
        "category": "marketing",
        "list_ids": [contact_list.pk],
        "when": "now",
        "then": "buy",
    }
    page = client.post(reverse("campaigns:counter"), form, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-testid="save-and-buy"' in page

    response = client.post(reverse("campaigns:create"), form)
    campaign = Campaign.objects.get(org=tenant_a.org, name="Fête des mères")
    assert campaign.status == CampaignStatus.DRAFT
    assert response.status_code == 302
    assert response.url == f"/billing/?need=60&next=%2Fcampaigns%2F{campaign.pk}%2F"

    billing = client.get(response.url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Your campaign is 60 credits short." in billing
    # The smallest pack that covers 60 credits is the 500 one: it is the one marked.
    marked = billing.split('data-testid="pack-recommended"')[0].rsplit("data-testid=", 1)[1]
    assert marked.startswith('"pack-500"')

    bought = client.post(reverse("billing:buy"), {"pack": packs[0].pk})
    purchase = Purchase.objects.get(org=tenant_a.org)
    confirmed = client.post(bought.url)
    assert confirmed.url == reverse("billing:purchase", args=[purchase.pk])
    back = client.get(confirmed.url)
    assert back.status_code == 302 and back.url == reverse("campaigns:detail", args=[campaign.pk])
    assert credits_balance(tenant_a.org) == 600
    # Once back, the purchase page is an ordinary page again.
    assert client.get(confirmed.url).status_code == 200


def test_billing_never_sends_the_buyer_to_another_site(tenant_a, packs):
    client = tenant_a.client()
    for target in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        client.get("/billing/", {"need": "10", "next": target})
        assert "billing_next" not in client.session
    page = client.get("/billing/", {"need": "abc"})
    assert page.status_code == 200 and page.context["need"] == 0
