"""Stripe Checkout against a local fake of the API, and signed webhook events."""

import json
import time

import pytest
from django.test import Client
from django.urls import reverse

from billing.errors import PaymentError
from billing.models import Invoice, InvoiceKind, PaymentEvent, Purchase, PurchaseStatus
from billing.selectors import credits_balance, credits_ledger_sum
from billing.services import purchase_refund, purchase_start

from .conftest import sign, stripe_event

WEBHOOK = "/billing/webhooks/stripe/"


def start(org, owner, pack):
    return purchase_start(
        org=org, actor=owner, pack=pack, success_url="https://shop.test/ok", cancel_url="https://shop.test/ko"
    )


def session_obj(purchase, **extra):
    obj = {
        "id": purchase.provider_session_id,
        "object": "checkout.session",
        "amount_total": purchase.amount_ttc_cents,
        "currency": "eur",
        "payment_status": "paid",
        "payment_intent": f"pi_{purchase.pk}",
        "client_reference_id": str(purchase.pk),
        "metadata": {"purchase_id": str(purchase.pk), "org_id": str(purchase.org_id)},
    }
    obj.update(extra)
    return obj


def post_event(payload: bytes, signature: str | None = None):
    # CSRF checks enforced, as in production: the webhook must not need a token.
    client = Client(enforce_csrf_checks=True)
    return client.post(
        WEBHOOK,
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature or sign(payload),
    )


def test_checkout_session_created_through_the_stripe_package(fake_stripe, owner_client, org, owner, packs):
    response = owner_client.post(reverse("billing:buy"), {"pack": packs[4].pk})
    assert response.status_code == 302
    assert response.url.startswith("https://checkout.stripe.test/pay/cs_test_")
    purchase = Purchase.objects.get(org=org)
    assert purchase.provider == "stripe" and purchase.provider_session_id.startswith("cs_test_")
    method, path, form, headers = fake_stripe.requests[-1]
    assert (method, path) == ("POST", "/v1/checkout/sessions")
    assert headers["Authorization"] == "Bearer sk_test_123"
    assert form["mode"] == "payment"
    assert form["line_items[0][price_data][unit_amount]"] == "234000"  # 1,950.00 HT + 20 % VAT
    assert form["line_items[0][price_data][currency]"] == "eur"
    assert form["metadata[purchase_id]"] == str(purchase.pk)
    assert form["success_url"].endswith(f"?purchase={purchase.pk}&session_id={{CHECKOUT_SESSION_ID}}")
    assert form["customer_email"] == owner.email
    assert headers.get("Idempotency-Key") == f"purchase-{purchase.pk}-checkout"
    assert credits_balance(org) == 100


def test_provider_error_leaves_no_credit(fake_stripe, owner_client, org, packs):
    fake_stripe.fail_next = True
    response = owner_client.post(reverse("billing:buy"), {"pack": packs[0].pk})
    assert response.status_code == 302 and response.url == reverse("billing:index")
    assert credits_balance(org) == 100
    assert Purchase.objects.get(org=org).status == PurchaseStatus.FAILED


def test_completed_event_credits_once_even_when_replayed(fake_stripe, org, owner, packs):
    purchase, _url = start(org, owner, packs[0])
    payload = stripe_event("evt_1", "checkout.session.completed", session_obj(purchase))
    response = post_event(payload)
    assert response.status_code == 200 and response.json()["outcome"] == "paid"
    assert credits_balance(org) == 600
    purchase.refresh_from_db()
    assert purchase.status == PurchaseStatus.PAID and purchase.provider_payment_id == f"pi_{purchase.pk}"
    assert Invoice.objects.filter(purchase=purchase, kind=InvoiceKind.INVOICE).count() == 1

    again = post_event(payload)  # the same event delivered again
    assert again.status_code == 200 and again.json()["outcome"] == "duplicate"
    other_id = post_event(stripe_event("evt_2", "checkout.session.completed", session_obj(purchase)))
    assert other_id.json()["outcome"] == "paid"  # another event for a paid session: nothing more
    assert credits_balance(org) == 600
    assert Invoice.objects.filter(purchase=purchase).count() == 1
    assert credits_balance(org) == credits_ledger_sum(org)


@pytest.mark.parametrize(
    "signature",
    [
        "",
        "t=1,v1=deadbeef",
        "garbage",
        None,  # replaced below by a signature with the wrong secret
    ],
)
def test_bad_signature_is_400_and_credits_nothing(fake_stripe, org, owner, packs, signature):
    purchase, _url = start(org, owner, packs[0])
    payload = stripe_event("evt_bad", "checkout.session.completed", session_obj(purchase))
    if signature is None:
        signature = sign(payload, secret="whsec_wrong")
    response = Client(enforce_csrf_checks=True).post(
        WEBHOOK, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
    )
    assert response.status_code == 400
    assert credits_balance(org) == 100
    assert not PaymentEvent.objects.exists()


def test_tampered_body_and_stale_timestamp_are_rejected(fake_stripe, org, owner, packs):
    purchase, _url = start(org, owner, packs[0])
    payload = stripe_event("evt_t", "checkout.session.completed", session_obj(purchase))
    signature = sign(payload)
    tampered = payload.replace(b'"amount_total": 3900', b'"amount_total": 1')
    assert tampered != payload
    assert post_event(tampered, signature).status_code == 400
    stale = sign(payload, timestamp=int(time.time()) - 3600)
    assert post_event(payload, stale).status_code == 400
    assert credits_balance(org) == 100


def test_webhook_refused_without_a_configured_secret(fake_stripe, settings, org, owner, packs):
    purchase, _url = start(org, owner, packs[0])
    payload = stripe_event("evt_x", "checkout.session.completed", session_obj(purchase))
    settings.STRIPE_WEBHOOK_SECRET = ""
    assert post_event(payload, sign(payload, secret="")).status_code == 400
    assert credits_balance(org) == 100


def test_unpaid_completion_waits_for_the_async_payment(fake_stripe, org, owner, packs):
    purchase, _url = start(org, owner, packs[0])
    pending = post_event(
        stripe_event("evt_a", "checkout.session.completed", session_obj(purchase, payment_status="unpaid"))
    )
    assert pending.json()["outcome"] == "awaiting payment"
    assert credits_balance(org) == 100
    paid = post_event(
        stripe_event("evt_b", "checkout.session.async_payment_succeeded", session_obj(purchase))
    )
    assert paid.json()["outcome"] == "paid"
    assert credits_balance(org) == 600


def test_out_of_order_events(fake_stripe, org, owner, packs):
    """The success arrives before the (older) unpaid completion; an expiry arrives after the payment."""
    purchase, _url = start(org, owner, packs[0])
    post_event(stripe_event("evt_2", "checkout.session.async_payment_succeeded", session_obj(purchase)))
    post_event(
        stripe_event("evt_1", "checkout.session.completed", session_obj(purchase, payment_status="unpaid"))
    )
    post_event(
        stripe_event("evt_3", "checkout.session.expired", session_obj(purchase, payment_status="unpaid"))
    )
    post_event(stripe_event("evt_4", "checkout.session.async_payment_failed", session_obj(purchase)))
    purchase.refresh_from_db()
    assert purchase.status == PurchaseStatus.PAID
    assert credits_balance(org) == 600


def test_refund_before_its_payment_is_deferred_then_applied(fake_stripe, org, owner, packs):
    purchase, _url = start(org, owner, packs[0])
    refund = stripe_event(
        "evt_r", "charge.refunded", {"id": "ch_1", "payment_intent": f"pi_{purchase.pk}", "refunded": True}
    )
    first = post_event(refund)
    assert first.status_code == 409  # not recorded: Stripe will deliver it again
    assert not PaymentEvent.objects.filter(event_id="evt_r").exists()
    assert credits_balance(org) == 100

    post_event(stripe_event("evt_p", "checkout.session.completed", session_obj(purchase)))
    assert credits_balance(org) == 600
    retried = post_event(refund)
    assert retried.status_code == 200 and retried.json()["outcome"] == "refunded"
    assert credits_balance(org) == 100
    assert post_event(refund).json()["outcome"] == "duplicate"
    assert credits_balance(org) == 100
    assert Invoice.objects.filter(purchase=purchase, kind=InvoiceKind.CREDIT_NOTE).count() == 1
    # Stripe itself refunded: we must not call its refund API again.
    assert not [r for r in fake_stripe.requests if r[1] == "/v1/refunds"]


def test_amount_mismatch_credits_nothing(fake_stripe, org, owner, packs):
    purchase, _url = start(org, owner, packs[0])
    response = post_event(
        stripe_event("evt_m", "checkout.session.completed", session_obj(purchase, amount_total=1))
    )
    assert response.json()["outcome"] == "amount mismatch"
    assert credits_balance(org) == 100
    purchase.refresh_from_db()
    assert purchase.status == PurchaseStatus.PENDING


def test_session_of_another_organisation_is_not_credited_by_forged_metadata(
    fake_stripe, org, owner, other_org, packs
):
    _other_owner, other = other_org
    purchase, _url = start(org, owner, packs[0])
    obj = session_obj(
        purchase, id="cs_unknown", metadata={"purchase_id": str(purchase.pk), "org_id": str(other.pk)}
    )
    response = post_event(stripe_event("evt_f", "checkout.session.completed", obj))
    assert response.json()["outcome"] == "unknown session"
    assert credits_balance(org) == 100 and credits_balance(other) == 100


def test_operator_refund_calls_stripe(fake_stripe, org, owner, packs):
    purchase, _url = start(org, owner, packs[0])
    post_event(stripe_event("evt_p", "checkout.session.completed", session_obj(purchase)))
    purchase.refresh_from_db()
    purchase_refund(org=org, actor=owner, purchase=purchase, reason="geste")
    _method, path, form, _headers = fake_stripe.requests[-1]
    assert path == "/v1/refunds" and form["payment_intent"] == f"pi_{purchase.pk}"
    assert credits_balance(org) == 100
    # Stripe then tells us about the refund: nothing more happens.
    event = stripe_event(
        "evt_rr", "charge.refunded", {"id": "ch_1", "payment_intent": f"pi_{purchase.pk}", "refunded": True}
    )
    assert post_event(event).json()["outcome"] == "already refunded"
    assert credits_balance(org) == 100


def test_failed_provider_refund_changes_nothing(fake_stripe, org, owner, packs):
    purchase, _url = start(org, owner, packs[0])
    post_event(stripe_event("evt_p", "checkout.session.completed", session_obj(purchase)))
    purchase.refresh_from_db()
    fake_stripe.fail_next = True
    with pytest.raises(PaymentError):
        purchase_refund(org=org, actor=owner, purchase=purchase)
    purchase.refresh_from_db()
    assert purchase.status == PurchaseStatus.PAID and credits_balance(org) == 600
    assert not Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).exists()


def test_unrelated_events_are_acknowledged(db, fake_stripe):
    payload = json.dumps(
        {"id": "evt_u", "object": "event", "type": "customer.created", "data": {"object": {}}}
    ).encode()
    response = post_event(payload)
    assert response.status_code == 200 and response.json()["outcome"] == "ignored"
