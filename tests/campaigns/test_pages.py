"""Backend pages: virtual phone, messages, inbox, dashboard widget; another organisation's data is 404."""

from __future__ import annotations

import pytest
from django.test import TestCase

from campaigns.models import InboundMessage
from campaigns.services import campaign_create, campaign_launch
from compliance.selectors import is_suppressed
from smsplatform.models import Role

from .conftest import MONDAY_10H, free_port, make_audience

pytestmark = pytest.mark.django_db


def sent(tenant, harness, n=2, name="Clients", start=0, sender_id="FLEURS"):
    contact_list, contacts = make_audience(tenant, n, name=name, start=start)
    campaign = campaign_create(
        org=tenant.org,
        actor=tenant.owner,
        name="Soldes",
        body="Promo -20%",
        sender_id=sender_id,
        list_ids=[contact_list.pk],
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        campaign_launch(org=tenant.org, actor=tenant.owner, campaign=campaign, now=MONDAY_10H)
    harness.run(now=MONDAY_10H)
    return campaign, contacts


def test_virtual_phone_shows_what_each_number_received(tenant_a, tenant_b, harness, loopback):
    _, contacts = sent(tenant_a, harness)
    _, decoys = sent(tenant_b, harness, n=1, start=500, sender_id="PAIN")
    client = tenant_a.client(Role.ANALYST)
    page = client.get("/campaigns/phone/")
    assert page.status_code == 200
    html = page.content.decode()
    assert contacts[0].phone in html and contacts[1].phone in html and decoys[0].phone not in html
    assert "Promo -20% STOP au 36111" in html
    thread = client.get(f"/campaigns/phone/thread/?to={contacts[0].phone.replace('+', '%2B')}")
    assert thread.status_code == 200
    assert 'data-status="sent" data-on-gateway="accepted"' in thread.content.decode()
    assert client.get(f"/campaigns/phone/?to={decoys[0].phone.replace('+', '%2B')}").status_code == 404
    assert client.get(f"/campaigns/phone/thread/?to={decoys[0].phone.replace('+', '%2B')}").status_code == 404


def test_virtual_phone_reply_without_the_loopback_server_is_recorded_directly(
    tenant_a, harness, loopback, settings
):
    _, contacts = sent(tenant_a, harness, n=1)
    settings.LOOPBACK_GATEWAY_URL = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    client = tenant_a.client()
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(
            "/campaigns/phone/reply/", {"from": contacts[0].phone, "text": "STOP"}, follow=True
        )
    assert response.status_code == 200
    assert is_suppressed(tenant_a.org, contacts[0].phone)
    assert InboundMessage.objects.get().org == tenant_a.org
    assert "loopback" in response.content.decode()


def test_virtual_phone_reply_to_another_organisations_number_is_404(tenant_a, tenant_b, harness, loopback):
    _, decoys = sent(tenant_b, harness, n=1)
    response = tenant_a.client().post("/campaigns/phone/reply/", {"from": decoys[0].phone, "text": "STOP"})
    assert response.status_code == 404
    assert not is_suppressed(tenant_b.org, decoys[0].phone)


def test_analyst_cannot_reply(tenant_a, harness, loopback):
    _, contacts = sent(tenant_a, harness, n=1)
    response = tenant_a.client(Role.ANALYST).post(
        "/campaigns/phone/reply/", {"from": contacts[0].phone, "text": "x"}
    )
    assert response.status_code == 403


def test_messages_page_and_decoy(tenant_a, tenant_b, harness, loopback):
    campaign, _ = sent(tenant_a, harness)
    decoy, _ = sent(tenant_b, harness, n=1, start=500, sender_id="PAIN")
    client = tenant_a.client()
    page = client.get(f"/campaigns/messages/?campaign={campaign.pk}")
    assert page.status_code == 200 and page.content.decode().count('data-testid="message-row"') == 2
    assert client.get(f"/campaigns/messages/?campaign={decoy.pk}").status_code == 404
    assert (
        client.get("/campaigns/messages/?status=blocked").content.decode().count('data-testid="message-row"')
        == 0
    )


def test_inbox_and_review(tenant_a, tenant_b):
    mine = InboundMessage.objects.create(
        org=tenant_a.org,
        gateway="loopback",
        provider_id="1",
        from_number="+33612345678",
        text="stop svp",
        kind="near_miss_opt_out",
        needs_review=True,
    )
    other = InboundMessage.objects.create(
        org=tenant_b.org,
        gateway="loopback",
        provider_id="2",
        from_number="+33612345679",
        text="Merci",
        needs_review=True,
    )
    client = tenant_a.client()
    html = client.get("/campaigns/inbox/").content.decode()
    assert "stop svp" in html and "Merci" not in html
    assert client.post(f"/campaigns/inbox/{other.pk}/reviewed/").status_code == 404
    assert client.post(f"/campaigns/inbox/{mine.pk}/reviewed/").status_code == 302
    mine.refresh_from_db()
    other.refresh_from_db()
    assert not mine.needs_review and other.needs_review


def test_dashboard_widget(tenant_a, harness, loopback):
    sent(tenant_a, harness, n=1)
    html = tenant_a.client().get("/").content.decode()
    # The home page shows the campaign among the recent ones (the analytics section of the dashboard).
    assert "Soldes" in html
