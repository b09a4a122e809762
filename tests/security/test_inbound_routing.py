"""Hole 4: cross-tenant STOP/START forging.

A reply without an organisation was routed to the latest message to that number with the same sender,
across all organisations and gateways: a reply arriving through one gateway could opt a number out of
(or back in to) another organisation's messages sent through another gateway, and the virtual phone of
one organisation could do the same, through the loopback, to another organisation that texted the same
number. A reply is routed only among the messages of the gateway that received it, and the virtual phone
records its replies with its own organisation.
"""

from __future__ import annotations

import pytest

from campaigns import enqueue
from campaigns.gateways.base import reset_gateways
from campaigns.gateways.loopback_server import LoopbackServer
from campaigns.models import InboundMessage, Message
from campaigns.replies import inbound_receive
from compliance.models import SuppressionSource
from compliance.selectors import is_suppressed
from compliance.services import suppression_add
from smsplatform.models import Organisation, Role
from tests.campaigns.conftest import SECRET, signed_post

NUMBER = "+33612345678"
INBOUND_URL = "/webhooks/sms/loopback/inbound"


@pytest.fixture(autouse=True)
def _gateway_settings(settings):
    settings.SMS_GATEWAY = "loopback"
    settings.GATEWAY_WEBHOOK_SECRET = SECRET
    reset_gateways()
    yield
    reset_gateways()


def _texted(org: Organisation, gateway: str, sender: str = "FLEURS") -> Message:
    return Message.objects.create(
        org=org, to=NUMBER, sender=sender, body="Promo STOP au 36111", gateway=gateway, category="marketing"
    )


def _opted_out(org: Organisation) -> None:
    suppression_add(org=org, phone_e164=NUMBER, source=SuppressionSource.INBOUND_KEYWORD, proof="STOP")


@pytest.mark.django_db
def test_a_reply_on_the_loopback_is_not_routed_to_a_message_sent_through_another_gateway(
    client, tenant_a, tenant_b
):
    mine = _texted(tenant_a.org, "loopback")
    _texted(tenant_b.org, "twilio")  # later, same number, same sender, another organisation and gateway
    payload = {"messages": [{"id": "in-1", "from": NUMBER, "to": "FLEURS", "text": "STOP"}]}
    assert signed_post(client, INBOUND_URL, payload).status_code == 200

    assert is_suppressed(tenant_a.org, NUMBER)
    assert not is_suppressed(tenant_b.org, NUMBER)
    inbound = InboundMessage.objects.get()
    assert inbound.org == tenant_a.org and inbound.in_reply_to == mine


@pytest.mark.django_db
def test_a_reply_matching_only_another_gateways_messages_stays_unrouted(client, tenant_b):
    _texted(tenant_b.org, "twilio")
    _opted_out(tenant_b.org)
    payload = {"messages": [{"id": "in-1", "from": NUMBER, "to": "FLEURS", "text": "START"}]}
    assert signed_post(client, INBOUND_URL, payload).status_code == 200

    assert is_suppressed(tenant_b.org, NUMBER)  # the real opt-out stands
    inbound = InboundMessage.objects.get()
    assert inbound.org is None and inbound.in_reply_to is None


@pytest.mark.django_db
def test_a_reply_on_a_real_gateway_goes_to_the_organisation_that_texted_through_it(tenant_a, tenant_b):
    theirs = _texted(tenant_b.org, "twilio")
    _texted(tenant_a.org, "loopback")  # later, through the sandbox
    inbound, created = inbound_receive(
        gateway="twilio", provider_id="SM1", from_number=NUMBER, to="FLEURS", text="STOP"
    )
    assert created and inbound.org == tenant_b.org and inbound.in_reply_to == theirs
    assert is_suppressed(tenant_b.org, NUMBER)
    assert not is_suppressed(tenant_a.org, NUMBER)


@pytest.mark.django_db
def test_the_sender_match_is_preferred_within_the_gateway(client, tenant_a, tenant_b):
    mine = _texted(tenant_a.org, "loopback", sender="FLEURS")
    _texted(tenant_b.org, "loopback", sender="PAINS")  # later, same gateway, another sender
    payload = {"messages": [{"id": "in-1", "from": NUMBER, "to": "FLEURS", "text": "STOP"}]}
    assert signed_post(client, INBOUND_URL, payload).status_code == 200
    assert InboundMessage.objects.get().in_reply_to == mine
    assert is_suppressed(tenant_a.org, NUMBER) and not is_suppressed(tenant_b.org, NUMBER)


@pytest.mark.django_db(transaction=True)
def test_a_virtual_phone_reply_reaches_only_its_own_organisation(
    tenant_a, tenant_b, live_server, settings, monkeypatch
):
    """With the loopback server running and forwarding replies to the platform's webhook, organisation
    A's virtual phone posts START "from" a number that organisation B texted later, with the same sender:
    B's opt-out must stand."""
    monkeypatch.setattr(enqueue, "enqueue_batch", lambda *args, **kwargs: None)
    server = LoopbackServer(port=0, receipt_delay=3600, secret=SECRET, webhook_base=live_server.url).start()
    settings.LOOPBACK_GATEWAY_URL = server.url
    reset_gateways()
    try:
        _texted(tenant_a.org, "loopback", sender="SMS")
        _texted(tenant_b.org, "loopback", sender="SMS")
        _opted_out(tenant_b.org)
        response = tenant_a.client(Role.MARKETER).post(
            "/campaigns/phone/reply/", {"from": NUMBER, "text": "START"}
        )
        assert response.status_code == 302
    finally:
        server.stop()

    assert is_suppressed(tenant_b.org, NUMBER)
    assert [inbound.org for inbound in InboundMessage.objects.all()] == [tenant_a.org]
