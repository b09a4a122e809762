"""Every movement of credits goes through these services, under a lock of the organisation's account.

Ledger
    ``credits_grant`` / ``credits_debit`` append one signed entry and move the balance row in the same
    transaction; the balance row is locked first (``SELECT ... FOR UPDATE``), so concurrent writers of one
    organisation queue and the balance can never go below zero (a database check backs this up).

Reservations (the sending pipeline's contract)
    A campaign holds its credits under a ``reference`` (e.g. ``"campaign:42"``) while it runs:

    * ``credits_reserve(org=, amount=, reference=)`` at launch: takes ``amount`` from the balance (a
      ``reservation`` entry) or raises :class:`InsufficientCredits` (API: 402) and writes nothing. May be
      called again for the same reference to hold more (e.g. a resumed campaign with more recipients).
    * ``credits_release(org=, amount=, reference=)`` when messages will not be sent (blocked by the gate,
      failed permanently, cancelled): gives them back (a ``release`` entry). Releasing more than the
      reference still holds raises :class:`ReservationError` and writes nothing.
    * ``credits_settle(org=, reference=, spent=)`` when the campaign ends (finished or cancelled):
      ``spent`` is the total the campaign consumed (sent messages x segments x price); the rest is
      released and the reservation is closed. Settling again with the same ``spent`` is a no-op, so a
      settle task delivered twice is harmless; a closed reference accepts no more reserve or release.

    So: sent = spent; blocked, failed, cancelled = released; ``credits_reserved(org)`` (selectors) is the
    sum still held by open reservations and is 0 once every campaign is settled.

Purchases and invoices
    ``purchase_start`` records an order and asks the payment adapter for a checkout URL;
    ``purchase_confirm`` (called by the fake checkout or by the provider's webhook) grants the credits
    and issues the invoice, once; ``purchase_refund`` takes the credits back and issues a credit note.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from smsplatform.audit import audit_record
from smsplatform.models import Membership, Organisation, Role

from .models import (
    BillingSettings,
    CreditAccount,
    CreditEntry,
    CreditPack,
    CreditReservation,
    EntryKind,
    Invoice,
    InvoiceKind,
    InvoiceSequence,
    PaymentEvent,
    Purchase,
    PurchaseStatus,
    RegionPrice,
)
from .money import vat_of, vat_rate
from .payments import PaymentError, get_payment_adapter
from .selectors import DOMESTIC_REGIONS

logger = logging.getLogger(__name__)


class InsufficientCredits(Exception):
    """Raised when a debit would take the balance below zero; nothing is written."""

    def __init__(self, needed: int, available: int):
        self.needed = needed
        self.available = available
        super().__init__(f"{needed} credits needed, {available} available.")


class ReservationError(ValueError):
    """A release or settlement that does not match what the reference holds; nothing is written."""


def _locked_account(org: Organisation) -> CreditAccount:
    # get_or_create first (it may race with another creator: the unique org_id settles it), then lock the
    # row so that concurrent writers of this organisation queue here and never both pass the check.
    CreditAccount.objects.get_or_create(org=org)
    return CreditAccount.objects.select_for_update().get(org=org)


def _append(
    *,
    org: Organisation,
    kind: str,
    amount: int,
    reference: str,
    actor,
    reason: str,
    account: CreditAccount | None = None,
) -> CreditEntry:
    """One entry and the new balance; ``account`` is the row already locked by the caller, if any."""
    if amount == 0:
        raise ValueError("A credit movement cannot be zero.")
    with transaction.atomic():
        if account is None:
            account = _locked_account(org)
        old_balance = account.balance
        new_balance = old_balance + amount
        if new_balance < 0:
            raise InsufficientCredits(needed=-amount, available=old_balance)
        now = timezone.now()
        CreditAccount.objects.filter(pk=account.pk).update(balance=new_balance, updated_at=now)
        account.balance = new_balance
        entry = CreditEntry.objects.create(
            org=org,
            kind=kind,
            amount=amount,
            balance_after=new_balance,
            reference=reference,
            reason=reason,
            actor=actor if getattr(actor, "pk", None) else None,
            created_at=now,
        )
        _low_balance_check(org=org, old_balance=old_balance, new_balance=new_balance)
    return entry


def credits_grant(
    *,
    org: Organisation,
    amount: int,
    reference: str = "",
    actor=None,
    kind: str = EntryKind.GRANT,
    reason: str = "",
) -> CreditEntry:
    """Adds credits (free grant, purchase, refund, release of a reservation). Audited."""
    if amount <= 0:
        raise ValueError("A grant must be positive.")
    with transaction.atomic():
        entry = _append(org=org, kind=kind, amount=amount, reference=reference, actor=actor, reason=reason)
        audit_record(
            org=org,
            actor=actor,
            action=f"credits.{kind}",
            target=entry,
            data={"amount": amount, "reference": reference},
        )
    return entry


def credits_debit(
    *,
    org: Organisation,
    amount: int,
    reference: str = "",
    actor=None,
    kind: str = EntryKind.RESERVATION,
    reason: str = "",
) -> CreditEntry:
    """Takes credits (a campaign's reservation, an operator's removal); refuses to go below zero."""
    if amount <= 0:
        raise ValueError("A debit must be positive.")
    with transaction.atomic():
        entry = _append(org=org, kind=kind, amount=-amount, reference=reference, actor=actor, reason=reason)
        audit_record(
            org=org,
            actor=actor,
            action=f"credits.{kind}",
            target=entry,
            data={"amount": -amount, "reference": reference},
        )
    return entry


def credits_adjust(*, org: Organisation, actor, amount: int, reason: str) -> CreditEntry:
    """The operator gives or takes credits by hand (a commercial gesture, a correction); the reason is
    mandatory because the customer will ask why their balance changed."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("A reason is required.")]})
    if amount == 0:
        raise ValidationError({"amount": [_("The amount cannot be zero.")]})
    if amount > 0:
        return credits_grant(
            org=org,
            amount=amount,
            actor=actor,
            kind=EntryKind.ADJUSTMENT,
            reason=reason,
            reference="operator",
        )
    return credits_debit(
        org=org, amount=-amount, actor=actor, kind=EntryKind.ADJUSTMENT, reason=reason, reference="operator"
    )


# --- Reservations ----------------------------------------------------------------------------------


def _locked_reservation(org: Organisation, reference: str) -> CreditReservation | None:
    return CreditReservation.objects.select_for_update().filter(org=org, reference=reference).first()


def credits_reserve(*, org: Organisation, amount: int, reference: str, actor=None) -> CreditReservation:
    """Holds ``amount`` credits for ``reference`` (a campaign at launch) so that two campaigns cannot both
    count on the same credits. Raises :class:`InsufficientCredits` (nothing written) when the balance does
    not cover it, :class:`ReservationError` when the reference was already settled."""
    if amount <= 0:
        raise ValueError("A reservation must be positive.")
    if not reference:
        raise ValueError("A reservation needs a reference.")
    with transaction.atomic():
        account = _locked_account(org)
        reservation = _locked_reservation(org, reference)
        if reservation is not None and reservation.closed_at is not None:
            raise ReservationError(f"{reference} is already settled.")
        entry = _append(
            org=org,
            kind=EntryKind.RESERVATION,
            amount=-amount,
            reference=reference,
            actor=actor,
            reason="",
            account=account,
        )
        now = timezone.now()
        if reservation is None:
            reservation = CreditReservation.objects.create(
                org=org, reference=reference, reserved=amount, created_at=now, updated_at=now
            )
        else:
            CreditReservation.objects.filter(pk=reservation.pk).update(
                reserved=F("reserved") + amount, updated_at=now
            )
            reservation.reserved += amount
        audit_record(
            org=org,
            actor=actor,
            action="credits.reservation",
            target=entry,
            data={"amount": -amount, "reference": reference},
        )
    return reservation


def credits_release(*, org: Organisation, amount: int, reference: str, actor=None) -> CreditReservation:
    """Gives back part of what ``reference`` holds (messages blocked, failed or cancelled): they will not
    be sent, so they must not stay out of the balance. Raises :class:`ReservationError` when ``amount`` is
    more than the reference still holds or the reference is unknown or settled; nothing is written then."""
    if amount <= 0:
        raise ValueError("A release must be positive.")
    with transaction.atomic():
        account = _locked_account(org)
        reservation = _locked_reservation(org, reference)
        if reservation is None or reservation.closed_at is not None:
            raise ReservationError(f"{reference} holds no open reservation.")
        if amount > reservation.outstanding:
            raise ReservationError(
                f"{reference} holds {reservation.outstanding} credits, cannot release {amount}."
            )
        entry = _append(
            org=org,
            kind=EntryKind.RELEASE,
            amount=amount,
            reference=reference,
            actor=actor,
            reason="",
            account=account,
        )
        CreditReservation.objects.filter(pk=reservation.pk).update(
            released=F("released") + amount, updated_at=timezone.now()
        )
        reservation.released += amount
        audit_record(
            org=org,
            actor=actor,
            action="credits.release",
            target=entry,
            data={"amount": amount, "reference": reference},
        )
    return reservation


def credits_settle(*, org: Organisation, reference: str, spent: int, actor=None) -> CreditReservation:
    """Ends a reservation when its campaign ends: ``spent`` (the total consumed, 0 for a campaign cancelled
    before sending) is kept, the rest goes back to the balance, and the row is closed so that nothing stays
    reserved. Idempotent: settling a closed reference with the same ``spent`` returns it unchanged;
    with another ``spent``, or ``spent`` above what is held, raises :class:`ReservationError`."""
    if spent < 0:
        raise ValueError("Spent credits cannot be negative.")
    with transaction.atomic():
        account = _locked_account(org)
        reservation = _locked_reservation(org, reference)
        if reservation is None:
            if spent == 0:  # a campaign that never reserved anything (nothing to send): nothing to do
                now = timezone.now()
                return CreditReservation.objects.create(
                    org=org, reference=reference, created_at=now, updated_at=now, closed_at=now
                )
            raise ReservationError(f"{reference} holds no reservation.")
        if reservation.closed_at is not None:
            if reservation.spent == spent:
                return reservation
            raise ReservationError(
                f"{reference} was settled with {reservation.spent} credits spent, not {spent}."
            )
        rest = reservation.reserved - reservation.released - spent
        if rest < 0:
            raise ReservationError(
                f"{reference} holds {reservation.outstanding} credits, cannot spend {spent}."
            )
        entry = None
        if rest > 0:
            entry = _append(
                org=org,
                kind=EntryKind.RELEASE,
                amount=rest,
                reference=reference,
                actor=actor,
                reason="settlement",
                account=account,
            )
        now = timezone.now()
        CreditReservation.objects.filter(pk=reservation.pk).update(
            released=F("released") + rest, spent=spent, closed_at=now, updated_at=now
        )
        reservation.released += rest
        reservation.spent = spent
        reservation.closed_at = now
        audit_record(
            org=org,
            actor=actor,
            action="credits.settle",
            target=entry or reservation,
            data={"reference": reference, "spent": spent, "released": rest},
        )
    return reservation


# --- Low-balance alert -----------------------------------------------------------------------------


def _default_threshold() -> int:
    return int(getattr(settings, "BILLING_LOW_BALANCE_DEFAULT_THRESHOLD", 50))


def _low_balance_check(*, org: Organisation, old_balance: int, new_balance: int) -> None:
    """Runs under the account lock of every movement: arms the alert when the balance goes back above the
    threshold, sends it (after commit) the first time the balance falls below. At most one email per
    crossing, whatever the number of concurrent debits."""
    if new_balance >= old_balance:
        BillingSettings.objects.filter(
            org=org, alert_sent_at__isnull=False, low_balance_threshold__lte=new_balance
        ).update(alert_sent_at=None)
        return
    prefs, _created = BillingSettings.objects.get_or_create(
        org=org, defaults={"low_balance_threshold": _default_threshold()}
    )
    threshold = prefs.low_balance_threshold
    if not threshold or new_balance >= threshold or prefs.alert_sent_at is not None:
        return
    BillingSettings.objects.filter(pk=prefs.pk).update(alert_sent_at=timezone.now())
    org_id, balance = org.pk, new_balance
    transaction.on_commit(
        lambda: _send_low_balance_alert(org_id=org_id, balance=balance, threshold=threshold)
    )


def _send_low_balance_alert(*, org_id: int, balance: int, threshold: int) -> None:
    org = Organisation.objects.get(pk=org_id)
    emails = list(
        Membership.objects.filter(org=org, role__in=[Role.OWNER, Role.ADMIN]).values_list(
            "user__email", flat=True
        )
    )
    billing_email = BillingSettings.objects.filter(org=org).values_list("billing_email", flat=True).first()
    if billing_email and billing_email not in emails:
        emails.append(billing_email)
    if not emails:
        return
    url = getattr(settings, "SITE_URL", "").rstrip("/") + "/billing/"
    try:
        send_mail(
            subject=_("%(org)s: only %(balance)s credits left") % {"org": org.name, "balance": balance},
            message=_(
                "The credit balance of %(org)s is %(balance)s, "
                "below your alert threshold of %(threshold)s.\n\n"
                "Buy credits so that your next campaigns are not stopped: %(url)s\n"
            )
            % {"org": org.name, "balance": balance, "threshold": threshold, "url": url},
            from_email=None,
            recipient_list=emails,
        )
    except Exception:  # the movement is committed; a mail failure must not turn it into an error
        logger.exception("Low-balance alert for organisation %s could not be sent", org_id)


def billing_settings_get(*, org: Organisation) -> BillingSettings:
    """The organisation's billing preferences, created with the defaults on first use."""
    prefs, _created = BillingSettings.objects.get_or_create(
        org=org, defaults={"low_balance_threshold": _default_threshold()}
    )
    return prefs


def billing_settings_update(*, org: Organisation, actor, **fields: Any) -> BillingSettings:
    """Changes the alert threshold and the details printed on future invoices (issued ones keep theirs).
    A new threshold re-arms the alert so that the owner hears about the new level."""
    allowed = {"low_balance_threshold", "billing_email", "billing_address", "vat_number", "siren"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"Not editable: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        prefs = billing_settings_get(org=org)
        prefs = BillingSettings.objects.select_for_update().get(pk=prefs.pk)
        changed = {k: v for k, v in fields.items() if getattr(prefs, k) != v}
        for key, value in changed.items():
            setattr(prefs, key, value)
        prefs.full_clean()
        if changed:
            update = list(changed)
            if "low_balance_threshold" in changed:
                prefs.alert_sent_at = None
                update.append("alert_sent_at")
            prefs.save(update_fields=update)
            audit_record(
                org=org,
                actor=actor,
                action="billing.settings_updated",
                target=prefs,
                data={"fields": sorted(changed)},
            )
    return prefs


# --- Operator tables: prices and packs --------------------------------------------------------------


def region_price_set(*, actor, region: str, credits_per_segment: int) -> RegionPrice:
    """The operator sets what one segment to a foreign region costs (France is fixed at 1 credit)."""
    region = (region or "").strip().upper()
    if len(region) != 2 or not region.isalpha():
        raise ValidationError({"region": [_("Enter a two-letter country code.")]})
    if region in DOMESTIC_REGIONS:
        raise ValidationError(
            {"region": [_("France and its overseas regions always cost 1 credit per segment.")]}
        )
    if credits_per_segment < 1:
        raise ValidationError({"credits_per_segment": [_("At least 1 credit.")]})
    with transaction.atomic():
        price, _created = RegionPrice.objects.update_or_create(
            region=region, defaults={"credits_per_segment": credits_per_segment, "updated_at": timezone.now()}
        )
        audit_record(
            org=None,
            actor=actor,
            action="billing.price_set",
            target=price,
            data={"region": region, "credits": credits_per_segment},
        )
    return price


def region_price_delete(*, actor, region: str) -> None:
    """Removes a region's price: its messages then cost the default price."""
    with transaction.atomic():
        RegionPrice.objects.filter(region=region.upper()).delete()
        audit_record(org=None, actor=actor, action="billing.price_deleted", data={"region": region.upper()})


def credit_pack_save(
    *, actor, credits: int, price_ht_cents: int, active: bool = True, pack: CreditPack | None = None
) -> CreditPack:
    """Creates or changes a pack on sale; purchases already made keep the price they were made at."""
    if credits < 1 or price_ht_cents < 1:
        raise ValidationError(_("Credits and price must be positive."))
    with transaction.atomic():
        if pack is None:
            pack = CreditPack(credits=credits, price_ht_cents=price_ht_cents, active=active)
        else:
            pack.credits, pack.price_ht_cents, pack.active = credits, price_ht_cents, active
        pack.updated_at = timezone.now()
        pack.full_clean()
        pack.save()
        audit_record(
            org=None,
            actor=actor,
            action="billing.pack_saved",
            target=pack,
            data={"credits": credits, "price_ht_cents": price_ht_cents, "active": active},
        )
    return pack


# --- Purchases -------------------------------------------------------------------------------------


class PurchaseError(Exception):
    """A purchase that cannot move to the requested state; nothing is written."""


class EventNotReady(Exception):
    """A provider event that refers to something we have not seen yet (events arrive out of order):
    nothing is recorded, the provider is asked to deliver it again later."""


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


# --- Invoices and credit notes ---------------------------------------------------------------------


def _issuer_details() -> dict[str, str]:
    return {
        "code": getattr(settings, "INVOICE_ISSUER_CODE", "SMSPLATFORM"),
        "name": getattr(settings, "INVOICE_ISSUER_NAME", "smsplatform SAS"),
        "address": getattr(settings, "INVOICE_ISSUER_ADDRESS", "1 rue de la Paix\n75002 Paris\nFrance"),
        "siren": getattr(settings, "INVOICE_ISSUER_SIREN", "000 000 000"),
        "vat_number": getattr(settings, "INVOICE_ISSUER_VAT_NUMBER", "FR00000000000"),
        "email": getattr(settings, "INVOICE_ISSUER_EMAIL", "facturation@example.com"),
    }


def _buyer_details(org: Organisation) -> dict[str, str]:
    prefs = BillingSettings.objects.filter(org=org).first()
    return {
        "legal_name": org.legal_name or org.name,
        "name": org.name,
        "country": org.country,
        "address": prefs.billing_address if prefs else "",
        "vat_number": prefs.vat_number if prefs else "",
        "siren": prefs.siren if prefs else "",
        "email": prefs.billing_email if prefs else "",
    }


NUMBER_PREFIX = {InvoiceKind.INVOICE: "FA", InvoiceKind.CREDIT_NOTE: "AV"}


def _next_number(issuer_code: str, kind: str) -> int:
    """The next number of a series, taken under the counter row's lock: concurrent invoices queue here, and
    a rolled-back transaction gives its number back, so the series has no gap and no duplicate."""
    InvoiceSequence.objects.get_or_create(issuer_code=issuer_code, kind=kind)
    sequence = InvoiceSequence.objects.select_for_update().get(issuer_code=issuer_code, kind=kind)
    number = sequence.last_number + 1
    InvoiceSequence.objects.filter(pk=sequence.pk).update(last_number=number)
    return number


def _document_issue(*, purchase: Purchase, kind: str) -> Invoice:
    """Issues the invoice of a paid purchase or the credit note of its refund; must run inside the
    transaction that changes the purchase, so that the number and the payment commit together."""
    issuer = _issuer_details()
    sign = 1 if kind == InvoiceKind.INVOICE else -1
    corrects = None
    if kind == InvoiceKind.CREDIT_NOTE:
        corrects = Invoice.objects.filter(purchase=purchase, kind=InvoiceKind.INVOICE).first()
    sequence_number = _next_number(issuer["code"], kind)
    number = f"{NUMBER_PREFIX[kind]}-{sequence_number:06d}"
    # Invoices are French documents whatever the language of the request that paid.
    with translation.override(settings.LANGUAGE_CODE):
        if kind == InvoiceKind.INVOICE:
            description = _("%(credits)s SMS credits") % {"credits": purchase.credits}
        else:
            corrected = corrects.number if corrects else purchase.reference
            description = _("Refund of invoice %(number)s") % {"number": corrected}
    invoice = Invoice(
        org_id=purchase.org_id,
        purchase=purchase,
        kind=kind,
        corrects=corrects,
        issuer_code=issuer["code"],
        sequence_number=sequence_number,
        number=number,
        issuer=issuer,
        buyer=_buyer_details(purchase.org),
        description=description,
        quantity=purchase.credits,
        amount_ht_cents=sign * purchase.amount_ht_cents,
        vat_rate=purchase.vat_rate,
        vat_cents=sign * purchase.vat_cents,
        amount_ttc_cents=sign * purchase.amount_ttc_cents,
        currency=purchase.currency,
    )
    invoice.full_clean()
    invoice.save()
    audit_record(
        org=purchase.org, actor=None, action=f"invoice.{kind}_issued", target=invoice, data={"number": number}
    )
    return invoice
