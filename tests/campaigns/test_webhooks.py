"""Receipts and replies: signed, idempotent under replay, STOP acted on at once with one confirmation."""

from __future__ import annotations

import pytest
from django.test import TestCase

from campaigns import pipeline
from campaigns.models import InboundMessage, Message, MessageCategory, MessageStatus
from campaigns.services import campaign_create, campaign_launch
from compliance.selectors import is_suppressed
from contacts.models import Contact

from .conftest import MONDAY_10H, make_audience, received, signed_post

pytestmark = pytest.mark.django_db

STATUS_URL = "/webhooks/sms/loopback/status"
INBOUND_URL = "/webhooks/sms/loopback/inbound"


def sent_campaign(tenant, harness, n=2):
    contact_list, contacts = make_audience(tenant, n)
    campaign = campaign_create(
        org=tenant.org,
        actor=tenant.owner,
        name="C",
        body="Promo",
        sender_id="FLEURS",
        list_ids=[contact_list.pk],
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        campaign_launch(org=tenant.org, actor=tenant.owner, campaign=campaign, now=MONDAY_10H)
    harness.run(now=MONDAY_10H)
    return campaign, contacts


def receipt(message, status="delivered", **extra):
    return {
        "id": message.provider_id or "lb-unknown",
        "client_ref": str(message.pk),
        "status": status,
        "occurred_at": "2026-06-15T08:00:05+00:00",
        **extra,
    }


def test_receipts_update_status_and_a_replay_changes_nothing(client, tenant_a, harness, loopback):
    campaign, _ = sent_campaign(tenant_a, harness)
    first, second = Message.objects.filter(campaign=campaign).order_by("id")
    payload = {"receipts": [receipt(first), receipt(second, "undelivered", error_code="handset_unreachable")]}
    response = signed_post(client, STATUS_URL, payload)
    assert response.status_code == 200 and response.json() == {"received": 2, "updated": 2}
    first.refresh_from_db()
    second.refresh_from_db()
    assert (
        first.status == MessageStatus.DELIVERED
        and first.delivered_at.isoformat() == "2026-06-15T08:00:05+00:00"
    )
    assert second.status == MessageStatus.UNDELIVERED and second.error_code == "handset_unreachable"
    replay = signed_post(client, STATUS_URL, payload)
    assert replay.status_code == 200 and replay.json()["updated"] == 0
    # A late "sent" receipt never moves a delivered message back.
    signed_post(client, STATUS_URL, {"receipts": [receipt(first, "sent")]})
    first.refresh_from_db()
    assert first.status == MessageStatus.DELIVERED


def test_a_receipt_before_the_send_result_is_kept(client, tenant_a, harness, loopback):
    """The provider's receipt can beat its own answer to us: matched by client reference, and the late
    'accepted' then keeps the delivered status."""
    from campaigns.gateways import SendResult

    contact_list, _ = make_audience(tenant_a, 1)
    campaign = campaign_create(
        org=tenant_a.org,
        actor=tenant_a.owner,
        name="C",
        body="Promo",
        sender_id="FLEURS",
        list_ids=[contact_list.pk],
    )
    campaign_launch(org=tenant_a.org, actor=tenant_a.owner, campaign=campaign, now=MONDAY_10H)
    message = Message.objects.get(campaign=campaign)
    Message.objects.filter(pk=message.pk).update(status=MessageStatus.SENDING, claimed_at=MONDAY_10H)
    response = signed_post(client, STATUS_URL, {"receipts": [receipt(message) | {"id": "lb-early"}]})
    assert response.json()["updated"] == 1
    row = Message.objects.filter(pk=message.pk).values(
        "id", "campaign_id", "credits", "credit_reference", "attempts", "contact_id", "to", "sender", "body"
    )[0]
    pipeline.apply_results(
        org=tenant_a.org,
        rows={str(message.pk): row},
        results=[SendResult(str(message.pk), "lb-early", "accepted")],
        gateway="loopback",
        now=MONDAY_10H,
    )
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED
    assert message.provider_id == "lb-early" and message.sent_at is not None


def test_a_bad_signature_is_refused_and_changes_nothing(client, tenant_a, harness, loopback):
    campaign, _ = sent_campaign(tenant_a, harness, n=1)
    message = Message.objects.get(campaign=campaign)
    payload = {"receipts": [receipt(message)]}
    assert signed_post(client, STATUS_URL, payload, secret="wrong").status_code == 403
    assert client.post(STATUS_URL, data=payload, content_type="application/json").status_code == 403
    inbound = {"messages": [{"id": "in-1", "from": message.to, "to": "FLEURS", "text": "STOP"}]}
    assert signed_post(client, INBOUND_URL, inbound, secret="wrong").status_code == 403
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert InboundMessage.objects.count() == 0
    assert not is_suppressed(tenant_a.org, message.to)


def test_an_unknown_gateway_is_404(client):
    assert signed_post(client, "/webhooks/sms/nope/status", {"receipts": []}).status_code == 404


def test_malformed_body_is_400(client, loopback):
    assert signed_post(client, STATUS_URL, {"receipts": "x"}).status_code == 400


def test_stop_suppresses_at_once_and_sends_exactly_one_confirmation(client, tenant_a, harness, loopback):
    campaign, contacts = sent_campaign(tenant_a, harness)
    number = contacts[0].phone
    payload = {"messages": [{"id": "in-1", "from": number, "to": "FLEURS", "text": " Stop! "}]}
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = signed_post(client, INBOUND_URL, payload)
    assert response.status_code == 200 and response.json() == {"received": 1, "created": 1}
    assert is_suppressed(tenant_a.org, number)
    assert Contact.objects.get(pk=contacts[0].pk).opted_out
    inbound = InboundMessage.objects.get()
    assert inbound.org == tenant_a.org and inbound.kind == "opt_out" and inbound.text == " Stop! "
    assert inbound.in_reply_to.campaign == campaign and inbound.contact_id == contacts[0].pk
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert signed_post(client, INBOUND_URL, payload).json()["created"] == 0  # replay
        # Another STOP from the same number (a new message): already suppressed, no second confirmation.
        signed_post(client, INBOUND_URL, {"messages": [{"id": "in-2", "from": number, "text": "STOP"}]})
    confirmations = Message.objects.filter(to=number, category=MessageCategory.OPT_OUT_CONFIRMATION)
    assert confirmations.count() == 1
    assert confirmations.get().body == "Vous ne recevrez plus de SMS de Fleurs de Lys."
    harness.run(now=MONDAY_10H)
    # The confirmation reaches the number that just opted out (it is suppressed), once.
    assert [m["text"] for m in loopback.messages(to=[number])] == [
        "Promo STOP au 36111",
        "Vous ne recevrez plus de SMS de Fleurs de Lys.",
    ]
    assert confirmations.get().status == MessageStatus.SENT and confirmations.get().credits == 0


def test_a_near_miss_is_an_opt_out_queued_for_review(client, tenant_a, harness, loopback):
    _, contacts = sent_campaign(tenant_a, harness, n=1)
    with TestCase.captureOnCommitCallbacks(execute=True):
        signed_post(
            client, INBOUND_URL, {"messages": [{"id": "n1", "from": contacts[0].phone, "text": "stop svp"}]}
        )
    inbound = InboundMessage.objects.get()
    assert inbound.kind == "near_miss_opt_out" and inbound.needs_review
    assert is_suppressed(tenant_a.org, contacts[0].phone)


def test_start_lifts_the_opt_out_and_help_gets_a_reply(client, tenant_a, harness, loopback):
    _, contacts = sent_campaign(tenant_a, harness, n=1)
    number = contacts[0].phone
    with TestCase.captureOnCommitCallbacks(execute=True):
        signed_post(client, INBOUND_URL, {"messages": [{"id": "a", "from": number, "text": "STOP"}]})
        signed_post(client, INBOUND_URL, {"messages": [{"id": "b", "from": number, "text": "start"}]})
        signed_post(client, INBOUND_URL, {"messages": [{"id": "c", "from": number, "text": "AIDE"}]})
    assert not is_suppressed(tenant_a.org, number)
    assert not Contact.objects.get(pk=contacts[0].pk).opted_out
    reasons = list(
        Message.objects.filter(to=number, campaign__isnull=True)
        .order_by("id")
        .values_list("reason", flat=True)
    )
    assert reasons == ["opt_out_confirmation", "opt_in_confirmation", "help_reply"]
    harness.run(now=MONDAY_10H)
    assert received(loopback) == {number: 4}


def test_a_free_reply_lands_in_the_inbox(client, tenant_a, harness, loopback):
    _, contacts = sent_campaign(tenant_a, harness, n=1)
    signed_post(
        client, INBOUND_URL, {"messages": [{"id": "r", "from": contacts[0].phone, "text": "Merci, à samedi"}]}
    )
    inbound = InboundMessage.objects.get()
    assert inbound.kind == "none" and inbound.needs_review and inbound.org == tenant_a.org
    assert not is_suppressed(tenant_a.org, contacts[0].phone)


def test_a_reply_is_routed_to_the_organisation_that_texted_the_number(
    client, tenant_a, tenant_b, harness, loopback
):
    _, contacts = sent_campaign(tenant_a, harness, n=1)
    with TestCase.captureOnCommitCallbacks(execute=True):
        signed_post(
            client, INBOUND_URL, {"messages": [{"id": "x", "from": contacts[0].phone, "text": "STOP"}]}
        )
    assert is_suppressed(tenant_a.org, contacts[0].phone)
    assert not is_suppressed(tenant_b.org, contacts[0].phone)


def test_transactional_send_is_refused_to_a_suppressed_number(tenant_a, harness, loopback):
    from campaigns.services import sms_send_transactional
    from compliance.services import suppression_add

    suppression_add(org=tenant_a.org, phone_e164="+33612345678", source="manual")
    with TestCase.captureOnCommitCallbacks(execute=True):
        message = sms_send_transactional(
            org=tenant_a.org, to="+33612345678", body="Code : 123456", reason="optin_code"
        )
    again = sms_send_transactional(
        org=tenant_a.org, to="+33612345678", body="x", reason="r", idempotency_key="k1"
    )
    assert (
        sms_send_transactional(
            org=tenant_a.org, to="+33612345678", body="x", reason="r", idempotency_key="k1"
        )
        == again
    )
    harness.run(now=MONDAY_10H)
    message.refresh_from_db()
    assert message.status == MessageStatus.BLOCKED and message.block_reason == "suppressed"
    assert received(loopback) == {}
    from billing.selectors import credits_balance, credits_reserved

    assert credits_reserved(tenant_a.org) == 1  # "again" is still queued (not run above)
    assert credits_balance(tenant_a.org) == 99


def test_transactional_send_is_charged_once_sent(tenant_a, harness, loopback):
    from billing.selectors import credits_balance, credits_ledger_sum, credits_reserved
    from campaigns.services import sms_send_transactional

    with TestCase.captureOnCommitCallbacks(execute=True):
        sms_send_transactional(
            org=tenant_a.org, to="+33612345678", body="Votre code : 123456", reason="optin_code"
        )
    harness.run(now=MONDAY_10H)
    assert received(loopback) == {"+33612345678": 1}
    assert credits_balance(tenant_a.org) == 99 and credits_reserved(tenant_a.org) == 0
    assert credits_ledger_sum(tenant_a.org) == 99
