"""Payment adapters: the only code that talks to a payment provider. No database access here.

``PAYMENT_ADAPTER`` chooses the adapter for new purchases: ``fake`` (development and tests: a page of our
own confirms the payment at once) or ``stripe`` (Stripe Checkout with the official ``stripe`` package;
``STRIPE_SECRET_KEY``, ``STRIPE_WEBHOOK_SECRET``, and ``STRIPE_API_BASE`` to point at a local fake API).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.urls import reverse

from .errors import PaymentError, WebhookRejected


@dataclass(frozen=True)
class Checkout:
    session_id: str
    url: str


@dataclass(frozen=True)
class ProviderEvent:
    """A verified provider event, as plain data."""

    id: str
    type: str
    data: dict[str, Any]


class FakeAdapter:
    """Development and tests: the checkout is a page of ours whose button confirms the payment."""

    name = "fake"
    # No money moves: a purchase here is part of the sandbox, open before the owner's address is verified.
    takes_real_money = False

    def create_checkout(
        self, *, purchase, success_url: str, cancel_url: str, customer_email: str = ""
    ) -> Checkout:
        return Checkout(
            session_id=f"fake_{uuid.uuid4().hex}", url=reverse("billing:fake_checkout", args=[purchase.pk])
        )

    def refund(self, *, purchase) -> None:
        return None


class StripeAdapter:
    """Stripe Checkout: we create a Checkout Session and Stripe tells us by webhook when it is paid."""

    name = "stripe"
    takes_real_money = True

    def _client(self):
        import stripe

        secret = settings.STRIPE_SECRET_KEY
        if not secret:
            raise PaymentError("STRIPE_SECRET_KEY is not set.")
        base = settings.STRIPE_API_BASE or None
        return stripe.StripeClient(
            secret, base_addresses={"api": base} if base else None, max_network_retries=2
        )

    def create_checkout(
        self, *, purchase, success_url: str, cancel_url: str, customer_email: str = ""
    ) -> Checkout:
        import stripe

        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": purchase.currency.lower(),
                        "unit_amount": purchase.amount_ttc_cents,
                        "product_data": {"name": f"{purchase.credits} SMS credits"},
                    },
                }
            ],
            "success_url": success_url,
            "cancel_url": cancel_url,
            "client_reference_id": str(purchase.pk),
            "metadata": {"purchase_id": str(purchase.pk), "org_id": str(purchase.org_id)},
            "payment_intent_data": {
                "metadata": {"purchase_id": str(purchase.pk), "org_id": str(purchase.org_id)}
            },
        }
        if customer_email:
            params["customer_email"] = customer_email
        try:
            session = self._client().v1.checkout.sessions.create(
                params=params, options={"idempotency_key": f"purchase-{purchase.pk}-checkout"}
            )
        except stripe.StripeError as exc:
            raise PaymentError(str(exc)) from exc
        return Checkout(session_id=session.id, url=session.url)

    def refund(self, *, purchase) -> None:
        import stripe

        if not purchase.provider_payment_id:
            raise PaymentError("No payment to refund.")
        try:
            self._client().v1.refunds.create(
                params={"payment_intent": purchase.provider_payment_id},
                options={"idempotency_key": f"purchase-{purchase.pk}-refund"},
            )
        except stripe.StripeError as exc:
            raise PaymentError(str(exc)) from exc

    def parse_webhook(self, *, payload: bytes, signature: str) -> ProviderEvent:
        """Verifies the ``Stripe-Signature`` header (HMAC of the exact body, with a timestamp tolerance)."""
        import stripe

        secret = settings.STRIPE_WEBHOOK_SECRET
        if not secret:
            raise WebhookRejected("STRIPE_WEBHOOK_SECRET is not set.")
        try:
            stripe.Webhook.construct_event(payload, signature, secret)
            body = json.loads(payload)
        except (stripe.SignatureVerificationError, ValueError) as exc:
            raise WebhookRejected(str(exc)) from exc
        # Read the verified body as plain data rather than through the library's object wrappers.
        try:
            return ProviderEvent(
                id=str(body["id"]), type=str(body["type"]), data=dict(body["data"]["object"])
            )
        except (KeyError, TypeError) as exc:
            raise WebhookRejected("Malformed event.") from exc


ADAPTERS = {"fake": FakeAdapter, "stripe": StripeAdapter}


def fake_payments_allowed() -> bool:
    """The fake adapter gives credits away: only a development deployment configured for it may use it
    (production settings refuse to start with it; this guards against a purchase made before a switch)."""
    return settings.PAYMENT_ADAPTER == "fake" and not settings.PRODUCTION


def payments_take_real_money() -> bool:
    """Whether buying credits here moves real money (the fake adapter of development does not)."""
    try:
        return get_payment_adapter().takes_real_money
    except PaymentError:
        return True


def get_payment_adapter(name: str | None = None):
    name = name or settings.PAYMENT_ADAPTER
    if name == "fake" and not fake_payments_allowed():
        raise PaymentError("The fake payment adapter is for development only.")
    try:
        return ADAPTERS[name]()
    except KeyError:
        raise PaymentError(f"Unknown payment adapter {name!r}.")
