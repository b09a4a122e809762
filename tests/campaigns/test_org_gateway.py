"""New organisations send to the sandbox until the operator switches them to a real gateway
(docs/operations.md, "Sandbox and real gateways"): the switch is per organisation, set in the operator's
admin only."""

from __future__ import annotations

import pytest

from campaigns.models import Message, MessageStatus
from campaigns.services import sms_send_transactional
from smsplatform.models import Organisation
from tests.conftest import org_settings_form

from .conftest import MONDAY_10H, make_audience, received
from .test_pipeline import launch

pytestmark = pytest.mark.django_db


def test_a_new_organisation_sends_to_the_platform_default_the_sandbox(tenant_a, harness, loopback):
    assert tenant_a.org.sms_gateway == ""
    contact_list, contacts = make_audience(tenant_a, 3, credits=100)
    campaign = launch(tenant_a, contact_list)
    harness.run(now=MONDAY_10H)
    assert set(Message.objects.filter(campaign=campaign).values_list("gateway", flat=True)) == {"loopback"}
    assert received(loopback) == {c.phone: 1 for c in contacts}


def test_an_organisation_switched_by_the_operator_sends_through_its_gateway_only(
    tenant_a, tenant_b, harness, loopback
):
    Organisation.objects.filter(pk=tenant_b.org.pk).update(sms_gateway="console")
    tenant_b.org.refresh_from_db()
    list_a, contacts_a = make_audience(tenant_a, 2, credits=100)
    list_b, _contacts_b = make_audience(tenant_b, 2, credits=100, start=50)
    campaign_a = launch(tenant_a, list_a)
    campaign_b = launch(tenant_b, list_b, sender_id="PAIN")  # a sender ID is one organisation's
    harness.run(now=MONDAY_10H)

    b_rows = Message.objects.filter(campaign=campaign_b)
    assert set(b_rows.values_list("gateway", flat=True)) == {"console"}
    assert set(b_rows.values_list("status", flat=True)) == {MessageStatus.SENT}
    assert set(b_rows.values_list("provider_id", flat=True)) != {None}
    # The sandbox still gets tenant A's messages, and none of tenant B's.
    assert set(Message.objects.filter(campaign=campaign_a).values_list("gateway", flat=True)) == {"loopback"}
    assert received(loopback) == {c.phone: 1 for c in contacts_a}


def test_transactional_messages_follow_the_organisation_gateway(tenant_a, harness):
    Organisation.objects.filter(pk=tenant_a.org.pk).update(sms_gateway="console")
    tenant_a.org.refresh_from_db()
    message = sms_send_transactional(
        org=tenant_a.org, to="+33612345678", body="Votre code : 1234", reason="test", charge=False
    )
    assert message.gateway == "console"


def test_virtual_phone_link_only_for_sandboxed_organisations(tenant_a, client):
    client.force_login(tenant_a.owner)
    assert 'data-testid="nav-phone"' in client.get("/contacts/").content.decode()
    Organisation.objects.filter(pk=tenant_a.org.pk).update(sms_gateway="console")
    assert 'data-testid="nav-phone"' not in client.get("/contacts/").content.decode()


def _admin_form(org: Organisation, gateway: str) -> dict[str, str]:
    return {
        **org_settings_form(org),
        "slug": org.slug,
        "sms_gateway": gateway,
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }


def test_the_operator_switches_an_organisation_in_the_admin(tenant_a, operator_client):
    url = f"/admin/smsplatform/organisation/{tenant_a.org.pk}/change/"
    page = operator_client.get(url).content.decode()
    assert '<option value="twilio">' in page and '<option value="console">' in page

    response = operator_client.post(url, _admin_form(tenant_a.org, "twilio"))
    assert response.status_code == 302, response.content.decode()[:2000]
    tenant_a.org.refresh_from_db()
    assert tenant_a.org.sms_gateway == "twilio"
    assert tenant_a.org.gateway_name == "twilio"


def test_the_admin_refuses_an_unknown_gateway(tenant_a, operator_client):
    url = f"/admin/smsplatform/organisation/{tenant_a.org.pk}/change/"
    response = operator_client.post(url, _admin_form(tenant_a.org, "acme-sms"))
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode() or "Sélectionnez un choix valide" in (
        response.content.decode()
    )
    tenant_a.org.refresh_from_db()
    assert tenant_a.org.sms_gateway == ""
