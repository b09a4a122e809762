"""Purchases and the payment provider's events: an order, its confirmation (credits and invoice, once),
its failure and its refund (credits taken back, credit note)."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from smsplatform.audit import audit_record
from smsplatform.models import Organisation
from smsplatform.selectors import org_owner_email_verified

from ..errors import EventNotReady, InsufficientCredits, PaymentError, PurchaseError
from ..models import (
    BillingSettings,
    CreditPack,
    EntryKind,
    InvoiceKind,
    PaymentEvent,
    Purchase,
    PurchaseStatus,
)
from ..money import vat_of, vat_rate
from ..payments import get_payment_adapter
from .invoices import _document_issue
from .ledger import credits_debit, credits_grant

logger = logging.getLogger(__name__)


def purchase_start(
    *, org: Organisation, actor, pack: CreditPack, success_url: str, cancel_url: str
) -> tuple[Purchase, str]:
    """Records an order of ``pack`` at today's price and asks the payment adapter where to pay.

    Returns the purchase (pending: no credit yet) and the URL to send the buyer to. The order is committed
    before the provider is called so that the provider's webhook always finds it.
    """
    if not pack.active:
        raise ValidationError(_("This pack is no longer on sale."))
    adapter = get_payment_adapter()
    if adapter.takes_real_money and not org_owner_email_verified(org):
        raise ValidationError(
            _(
                "Confirm your email address before buying credits: open the link we emailed you (the "
                "dashboard can send it again)."
            ),
            code="email_not_verified",
        )
    rate = vat_rate()
    vat = vat_of(pack.price_ht_cents, rate)
    with transaction.atomic():
        purchase = Purchase.objects.create(
            org=org,
            pack=pack,
            credits=pack.credits,
            amount_ht_cents=pack.price_ht_cents,
            vat_rate=rate,
            vat_cents=vat,
            amount_ttc_cents=pack.price_ht_cents + vat,
            provider=adapter.name,
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        audit_record(
            org=org,
            actor=actor,
            action="purchase.started",
            target=purchase,
            data={
                "credits": purchase.credits,
                "amount_ttc_cents": purchase.amount_ttc_cents,
                "provider": adapter.name,
            },
        )
    success_url = success_url.replace("__PURCHASE__", str(purchase.pk))
    cancel_url = cancel_url.replace("__PURCHASE__", str(purchase.pk))
    prefs = BillingSettings.objects.filter(org=org).first()
    email = (prefs.billing_email if prefs else "") or getattr(actor, "email", "")
    try:
        checkout = adapter.create_checkout(
            purchase=purchase, success_url=success_url, cancel_url=cancel_url, customer_email=email
        )
    except PaymentError:
        purchase_fail(purchase=purchase, status=PurchaseStatus.FAILED, actor=actor)
        raise
    Purchase.objects.filter(pk=purchase.pk).update(provider_session_id=checkout.session_id)
    purchase.provider_session_id = checkout.session_id
    return purchase, checkout.url


def purchase_confirm(
    *,
    purchase: Purchase,
    actor=None,
    payment_id: str | None = None,
    amount_ttc_cents: int | None = None,
    currency: str | None = None,
) -> Purchase:
    """The provider says the money is in: grant the credits and issue the invoice, exactly once.

    Safe to call any number of times and concurrently (the purchase row is locked; a paid or refunded
    purchase is returned unchanged). When the provider reports an amount or currency that differs from
    the order, nothing is granted and :class:`PurchaseError` is raised.
    """
    with transaction.atomic():
        locked = Purchase.objects.select_for_update().get(pk=purchase.pk, org_id=purchase.org_id)
        if locked.status in (PurchaseStatus.PAID, PurchaseStatus.REFUNDED):
            return locked
        if amount_ttc_cents is not None and int(amount_ttc_cents) != locked.amount_ttc_cents:
            raise PurchaseError(
                f"{locked.reference}: paid {amount_ttc_cents}, expected {locked.amount_ttc_cents}."
            )
        if currency is not None and currency.upper() != locked.currency:
            raise PurchaseError(f"{locked.reference}: paid in {currency}, expected {locked.currency}.")
        now = timezone.now()
        locked.status = PurchaseStatus.PAID
        locked.paid_at = now
        if payment_id:
            locked.provider_payment_id = payment_id
        locked.save(update_fields=["status", "paid_at", "provider_payment_id"])
        credits_grant(
            org=locked.org,
            amount=locked.credits,
            reference=locked.reference,
            actor=actor,
            kind=EntryKind.PURCHASE,
            reason=f"{locked.credits} credits",
        )
        invoice = _document_issue(purchase=locked, kind=InvoiceKind.INVOICE)
        audit_record(
            org=locked.org,
            actor=actor,
            action="purchase.paid",
            target=locked,
            data={"credits": locked.credits, "invoice": invoice.number},
        )
    return locked


def purchase_fail(*, purchase: Purchase, status: str = PurchaseStatus.FAILED, actor=None) -> Purchase:
    """The payment failed or the buyer gave up: the order stays as a trace, without credit. A paid
    purchase is never moved back by a late failure event."""
    if status not in (PurchaseStatus.FAILED, PurchaseStatus.EXPIRED):
        raise ValueError(status)
    with transaction.atomic():
        locked = Purchase.objects.select_for_update().get(pk=purchase.pk, org_id=purchase.org_id)
        if locked.status != PurchaseStatus.PENDING:
            return locked
        locked.status = status
        locked.save(update_fields=["status"])
        audit_record(org=locked.org, actor=actor, action=f"purchase.{status}", target=locked)
    return locked


def purchase_refund(
    *, org: Organisation, actor, purchase: Purchase, reason: str = "", notify_provider: bool = True
) -> Purchase:
    """Money back for a whole purchase: its credits are taken back (refused with
    :class:`InsufficientCredits` when they are already spent) and a credit note cancels the invoice.

    ``notify_provider`` asks the provider to pay back (the operator's refund); it is off when the provider
    itself told us of the refund. The provider call is made inside the transaction: if it fails, nothing
    is written. Refunding twice is a no-op.
    """
    with transaction.atomic():
        locked = Purchase.objects.select_for_update().get(pk=purchase.pk, org=org)
        if locked.status == PurchaseStatus.REFUNDED:
            return locked
        if locked.status != PurchaseStatus.PAID:
            raise PurchaseError(f"{locked.reference} is not paid.")
        credits_debit(
            org=org,
            amount=locked.credits,
            reference=locked.reference,
            actor=actor,
            kind=EntryKind.PURCHASE_REFUND,
            reason=reason or "refund",
        )
        locked.status = PurchaseStatus.REFUNDED
        locked.refunded_at = timezone.now()
        locked.save(update_fields=["status", "refunded_at"])
        note = _document_issue(purchase=locked, kind=InvoiceKind.CREDIT_NOTE)
        audit_record(
            org=org,
            actor=actor,
            action="purchase.refunded",
            target=locked,
            data={"credits": locked.credits, "credit_note": note.number, "reason": reason},
        )
        if notify_provider:
            get_payment_adapter(locked.provider).refund(purchase=locked)
    return locked


def payment_event_handle(*, provider: str, event_id: str, event_type: str, data: dict[str, Any]) -> str:
    """Applies one verified provider event, once: the event id is recorded in the same transaction as its
    effect, so a replay finds it and does nothing, and a failure records nothing and can be redelivered.

    Returns a short outcome for the logs. Raises :class:`EventNotReady` for an event that arrived before
    the one it depends on (a refund before the payment): the provider delivers it again later.
    """
    with transaction.atomic():
        try:
            with transaction.atomic():
                event = PaymentEvent.objects.create(
                    provider=provider, event_id=event_id, event_type=event_type
                )
        except IntegrityError:
            return "duplicate"
        purchase, outcome = (
            _apply_stripe_event(event_type=event_type, data=data)
            if provider == "stripe"
            else (None, "ignored")
        )
        PaymentEvent.objects.filter(pk=event.pk).update(purchase=purchase, outcome=outcome)
    return outcome


def _purchase_for_session(session: dict[str, Any]) -> Purchase | None:
    session_id = session.get("id")
    purchase = (
        Purchase.objects.filter(provider="stripe", provider_session_id=session_id).first()
        if session_id
        else None
    )
    if purchase is None:
        # The webhook may come before we stored the session id: trust our own metadata, checked below.
        purchase_id = (session.get("metadata") or {}).get("purchase_id") or session.get("client_reference_id")
        if purchase_id and str(purchase_id).isdigit():
            purchase = Purchase.objects.filter(
                provider="stripe", pk=int(purchase_id), provider_session_id__isnull=True
            ).first()
            org_id = (session.get("metadata") or {}).get("org_id")
            if purchase is not None and org_id is not None and str(purchase.org_id) != str(org_id):
                purchase = None
            if purchase is not None:
                Purchase.objects.filter(pk=purchase.pk).update(provider_session_id=session_id)
    return purchase


def _apply_stripe_event(*, event_type: str, data: dict[str, Any]) -> tuple[Purchase | None, str]:
    if event_type in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
        purchase = _purchase_for_session(data)
        if purchase is None:
            return None, "unknown session"
        # A card payment is "paid" in the completed event; a bank debit is "unpaid" until its
        # async_payment_succeeded event. Only money actually received grants credits.
        if data.get("payment_status") not in ("paid", "no_payment_required"):
            return purchase, "awaiting payment"
        try:
            purchase_confirm(
                purchase=purchase,
                payment_id=data.get("payment_intent") or None,
                amount_ttc_cents=data.get("amount_total"),
                currency=data.get("currency"),
            )
        except PurchaseError as exc:
            logger.error("Stripe session %s not credited: %s", data.get("id"), exc)
            return purchase, "amount mismatch"
        return purchase, "paid"
    if event_type in ("checkout.session.async_payment_failed", "checkout.session.expired"):
        purchase = _purchase_for_session(data)
        if purchase is None:
            return None, "unknown session"
        status = PurchaseStatus.EXPIRED if event_type.endswith("expired") else PurchaseStatus.FAILED
        purchase = purchase_fail(purchase=purchase, status=status)
        return purchase, str(purchase.status)
    if event_type == "charge.refunded":
        payment_id = data.get("payment_intent")
        purchase = (
            Purchase.objects.filter(provider="stripe", provider_payment_id=payment_id).first()
            if payment_id
            else None
        )
        if purchase is None or purchase.status == PurchaseStatus.PENDING:
            raise EventNotReady(f"refund of {payment_id} before its payment")
        if purchase.status == PurchaseStatus.REFUNDED:
            return purchase, "already refunded"
        if not data.get("refunded"):
            return purchase, "partial refund ignored"
        try:
            purchase_refund(
                org=purchase.org,
                actor=None,
                purchase=purchase,
                reason="refunded by Stripe",
                notify_provider=False,
            )
        except InsufficientCredits:
            # The money is gone back already: the operator must settle the credits by hand.
            logger.error("Stripe refunded %s but its credits are spent", purchase.reference)
            return purchase, "refund with credits spent"
        except PurchaseError:
            return purchase, "refund ignored"
        return purchase, "refunded"
    return None, "ignored"
