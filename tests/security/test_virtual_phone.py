"""Hole 3: the virtual phone worked for organisations on real gateways, and automatic replies were free.

A marketer could post a reply "from" any number the organisation texted: START lifted a real opt-out with
a fabricated consent proof, HELP made the platform send free SMS through the real provider. The virtual
phone is for the sandbox only (and only for numbers reached through the loopback gateway), and the
automatic replies (HELP, STOP and START confirmations) are limited to one of each per number and day.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.template.loader import render_to_string
from django.utils import timezone

from campaigns.gateways.base import reset_gateways
from campaigns.models import InboundMessage, Message
from campaigns.replies import inbound_receive
from compliance.models import SuppressionSource
from compliance.selectors import is_suppressed
from compliance.services import suppression_add
from smsplatform.models import Organisation, Role
from tests.campaigns.conftest import SECRET, free_port

pytestmark = pytest.mark.django_db

NUMBER = "+33612345678"
OTHER = "+33612345679"


@pytest.fixture(autouse=True)
def _sandbox_settings(settings):
    settings.SMS_GATEWAY = "loopback"
    settings.GATEWAY_WEBHOOK_SECRET = SECRET
    # Nothing listens there: the pages render without the loopback server.
    settings.LOOPBACK_GATEWAY_URL = f"http://127.0.0.1:{free_port()}"
    reset_gateways()
    yield
    reset_gateways()


def _on_gateway(org: Organisation, gateway: str) -> None:
    Organisation.objects.filter(pk=org.pk).update(sms_gateway=gateway)
    org.refresh_from_db()


def _texted(org: Organisation, to: str, gateway: str, sender: str = "FLEURS") -> Message:
    return Message.objects.create(
        org=org, to=to, sender=sender, body="Promo -20% STOP au 36111", gateway=gateway, category="marketing"
    )


def _q(number: str) -> str:
    return number.replace("+", "%2B")


def _phone_reply(client, number: str, text: str):
    return client.post("/campaigns/phone/reply/", {"from": number, "text": text})


def test_the_virtual_phone_is_404_for_an_organisation_on_a_real_gateway(tenant_a):
    org = tenant_a.org
    _on_gateway(org, "twilio")
    _texted(org, NUMBER, "twilio")
    # The recipient really opted out, by a STOP its handset sent.
    suppression_add(org=org, phone_e164=NUMBER, source=SuppressionSource.INBOUND_KEYWORD, proof="STOP")
    client = tenant_a.client(Role.MARKETER)

    assert client.get("/campaigns/phone/").status_code == 404
    assert client.get(f"/campaigns/phone/?to={_q(NUMBER)}").status_code == 404
    assert client.get(f"/campaigns/phone/thread/?to={_q(NUMBER)}").status_code == 404
    assert _phone_reply(client, NUMBER, "START").status_code == 404
    assert _phone_reply(client, NUMBER, "AIDE").status_code == 404

    # START forged by the marketer lifted nothing, HELP made the provider send nothing.
    assert is_suppressed(org, NUMBER)
    assert not InboundMessage.objects.exists()
    assert not Message.objects.filter(reason__in=("help_reply", "opt_in_confirmation")).exists()
    # And no link leads there.
    assert 'data-testid="nav-phone"' not in client.get("/contacts/").content.decode()


def test_in_the_sandbox_only_numbers_texted_through_the_loopback_gateway(tenant_a):
    org = tenant_a.org
    # Texted through a real gateway while the organisation was on it, then moved back to the sandbox.
    _texted(org, OTHER, "twilio")
    _texted(org, NUMBER, "loopback")
    suppression_add(org=org, phone_e164=OTHER, source=SuppressionSource.INBOUND_KEYWORD, proof="STOP")
    client = tenant_a.client(Role.MARKETER)

    page = client.get("/campaigns/phone/")
    assert page.status_code == 200
    html = page.content.decode()
    assert NUMBER in html and OTHER not in html
    assert client.get(f"/campaigns/phone/?to={_q(OTHER)}").status_code == 404
    assert client.get(f"/campaigns/phone/thread/?to={_q(OTHER)}").status_code == 404
    assert _phone_reply(client, OTHER, "START").status_code == 404
    assert is_suppressed(org, OTHER)

    # The loopback number still works: a STOP from the virtual phone is recorded for this organisation.
    assert client.get(f"/campaigns/phone/thread/?to={_q(NUMBER)}").status_code == 200
    assert _phone_reply(client, NUMBER, "STOP").status_code == 302
    assert is_suppressed(org, NUMBER)
    assert InboundMessage.objects.get().org == org


def test_help_twice_a_day_gets_one_reply(tenant_a):
    org = tenant_a.org
    _texted(org, NUMBER, "loopback")
    client = tenant_a.client(Role.MARKETER)

    for _ in range(3):
        assert _phone_reply(client, NUMBER, "AIDE").status_code == 302
    assert InboundMessage.objects.filter(org=org, kind="help").count() == 3  # every reply is kept
    assert Message.objects.filter(org=org, to=NUMBER, reason="help_reply").count() == 1

    # The same through the gateway's webhook path: still one a day.
    inbound_receive(gateway="loopback", provider_id="h-1", from_number=NUMBER, to="FLEURS", text="HELP")
    assert Message.objects.filter(org=org, to=NUMBER, reason="help_reply").count() == 1


def test_the_help_limit_is_per_number_and_per_day(tenant_a):
    org = tenant_a.org
    _texted(org, NUMBER, "loopback")
    _texted(org, OTHER, "loopback")
    inbound_receive(gateway="loopback", provider_id="h-1", from_number=NUMBER, text="AIDE")
    inbound_receive(gateway="loopback", provider_id="h-2", from_number=OTHER, text="AIDE")
    assert Message.objects.filter(org=org, reason="help_reply").count() == 2

    tomorrow = timezone.now() + timedelta(days=1)
    inbound_receive(gateway="loopback", provider_id="h-3", from_number=NUMBER, text="AIDE", now=tomorrow)
    inbound_receive(gateway="loopback", provider_id="h-4", from_number=NUMBER, text="AIDE", now=tomorrow)
    assert Message.objects.filter(org=org, to=NUMBER, reason="help_reply").count() == 2


def test_stop_and_start_toggled_all_day_get_one_confirmation_each(tenant_a):
    org = tenant_a.org
    _texted(org, NUMBER, "loopback")
    client = tenant_a.client(Role.MARKETER)

    for text, suppressed in [
        ("STOP", True),
        ("STOP", True),
        ("START", False),
        ("STOP", True),
        ("START", False),
    ]:
        assert _phone_reply(client, NUMBER, text).status_code == 302
        # The opt-out and the opt-in themselves are recorded every time.
        assert is_suppressed(org, NUMBER) is suppressed
    assert Message.objects.filter(org=org, to=NUMBER, reason="opt_out_confirmation").count() == 1
    assert Message.objects.filter(org=org, to=NUMBER, reason="opt_in_confirmation").count() == 1

    # A webhook STOP the same day: suppressed at once, no second confirmation.
    inbound_receive(gateway="loopback", provider_id="s-9", from_number=NUMBER, to="FLEURS", text="STOP")
    assert is_suppressed(org, NUMBER)
    assert Message.objects.filter(org=org, to=NUMBER, reason="opt_out_confirmation").count() == 1


def test_the_test_send_links_to_the_virtual_phone_only_in_the_loopback_sandbox():
    sent = {"sent": object(), "to": NUMBER}
    assert "/campaigns/phone/" in render_to_string(
        "campaigns/ui/_test_send.html", {**sent, "sms_gateway": "loopback"}
    )
    assert "/campaigns/phone/" not in render_to_string(
        "campaigns/ui/_test_send.html", {**sent, "sms_gateway": "twilio"}
    )
