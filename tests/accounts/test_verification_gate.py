"""A fresh sign-up works in the sandbox at once; a real send and a purchase wait for the verified address,
and the dashboard says so with a button that sends the email again."""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client

from billing.models import CreditPack, Purchase
from campaigns.models import CampaignStatus
from campaigns.services import campaign_create, campaign_launch
from smsplatform.models import Organisation, User
from tests.campaigns.conftest import MONDAY_10H, make_audience
from tests.conftest import Tenant, signup_form

pytestmark = pytest.mark.django_db

FORM = signup_form(
    org_name="Fleuriste Les Lilas", email="lilas@example.fr", password1="Un-long-mot-de-passe-7"
)


@pytest.fixture
def fresh(settings):
    """A shop that just signed up through the page: logged in, address not verified yet."""
    settings.PAYMENT_ADAPTER = "fake"
    client = Client()
    assert client.post("/accounts/signup/", FORM).status_code == 302
    user = User.objects.get(email="lilas@example.fr")
    org = user.memberships.get().org
    return client, Tenant(org=org, owner=user, users={"owner": user})


def verify(client: Client) -> None:
    body = next(m.body for m in reversed(mail.outbox) if "lilas@example.fr" in m.to)
    link = re.search(r"http://testserver(/accounts/confirm-email/\S+/)", body).group(1)
    assert client.post(link).status_code == 302


def launch(tenant: Tenant, name: str = "Clients"):
    contact_list, _ = make_audience(tenant, 2, name=name)
    campaign = campaign_create(
        org=tenant.org, actor=tenant.owner, list_ids=[contact_list.pk], name="Fête des mères", body="Promo"
    )
    return campaign_launch(org=tenant.org, actor=tenant.owner, campaign=campaign, now=MONDAY_10H)


def test_the_sandbox_loop_works_before_verification(fresh, monkeypatch):
    from campaigns import enqueue

    monkeypatch.setattr(enqueue, "enqueue_dispatch", lambda campaign_id: None)
    _client, tenant = fresh
    assert tenant.org.on_sandbox
    assert launch(tenant).status == CampaignStatus.SENDING


def test_real_phones_wait_for_the_verified_address(fresh, monkeypatch):
    from campaigns import enqueue

    monkeypatch.setattr(enqueue, "enqueue_dispatch", lambda campaign_id: None)
    client, tenant = fresh
    Organisation.objects.filter(pk=tenant.org.pk).update(sms_gateway="console-real")
    tenant.org.refresh_from_db()
    assert not tenant.org.on_sandbox
    with pytest.raises(ValidationError) as refused:
        launch(tenant)
    assert refused.value.code == "email_not_verified"
    verify(client)
    try:
        launch(tenant, name="Clients 2")
    except ValidationError as exc:  # another rule may refuse (the sender), never this one any more
        assert getattr(exc, "code", None) != "email_not_verified"


def test_a_purchase_with_real_money_waits_for_the_verified_address(fresh, fake_stripe):
    client, tenant = fresh
    pack = CreditPack.objects.filter(active=True).order_by("credits").first()
    page = client.get("/billing/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-testid="billing-verify-email"' in page
    refused = client.post("/billing/buy/", {"pack": pack.pk}, HTTP_ACCEPT_LANGUAGE="en", follow=True)
    assert "Confirm your email address before buying credits" in refused.content.decode()
    assert not Purchase.objects.filter(org=tenant.org).exists()
    assert fake_stripe.requests == []  # the provider was never asked
    verify(client)
    bought = client.post("/billing/buy/", {"pack": pack.pk})
    assert bought.status_code == 302 and bought["Location"].startswith("https://checkout.stripe.test/")
    assert len(fake_stripe.requests) == 1
    assert Purchase.objects.filter(org=tenant.org).count() == 1


def test_the_sandbox_checkout_of_development_is_open_before_verification(fresh):
    # The fake adapter moves no money: part of the five-minute sandbox journey.
    client, tenant = fresh
    assert 'data-testid="billing-verify-email"' not in client.get("/billing/").content.decode()
    pack = CreditPack.objects.filter(active=True).order_by("credits").first()
    assert client.post("/billing/buy/", {"pack": pack.pk}).status_code == 302
    assert Purchase.objects.filter(org=tenant.org).count() == 1


def test_the_dashboard_asks_for_the_verification_and_sends_the_email_again(fresh):
    client, _tenant = fresh
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-testid="verify-email"' in page and "lilas@example.fr" in page
    sent_before = len(mail.outbox)
    # The sign-up's email went out a moment ago: allauth's cooldown holds the button for a few minutes.
    held = client.post("/accounts/email/resend/", HTTP_ACCEPT_LANGUAGE="en", follow=True)
    assert len(mail.outbox) == sent_before
    assert "wait a few minutes" in held.content.decode()
    verify(client)
    assert EmailAddress.objects.get(email="lilas@example.fr").verified
    assert 'data-testid="verify-email"' not in client.get("/").content.decode()


def test_the_api_says_why_a_real_launch_waits(fresh):
    from smsplatform.services import api_key_create

    _client, tenant = fresh
    Organisation.objects.filter(pk=tenant.org.pk).update(sms_gateway="console-real")
    contact_list, _ = make_audience(tenant, 2)
    campaign = campaign_create(
        org=tenant.org, actor=tenant.owner, list_ids=[contact_list.pk], name="Soldes", body="Promo"
    )
    key = api_key_create(org=tenant.org, actor=tenant.owner, name="caisse").raw_key
    response = Client().post(f"/api/v1/campaigns/{campaign.pk}/launch", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 400
    assert response.json()["code"] == "email_not_verified"
