"""Reservations: a campaign holds its credits under a ``reference`` while it runs, gives back what it will
not send and settles what it spent when it ends (the contract is in the package's docstring)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from smsplatform.audit import audit_record
from smsplatform.models import Organisation

from ..errors import ReservationError
from ..models import CreditReservation, EntryKind
from .ledger import _append, _locked_account


def _locked(org: Organisation, reference: str, actor) -> tuple[CreditReservation | None, dict[str, Any]]:
    """Locks the account, then the reservation of ``reference`` (every writer in that order, so that two
    cannot deadlock); returns the reservation and what a ledger entry of ``reference`` is written with."""
    account = _locked_account(org)
    reservation = CreditReservation.objects.select_for_update().filter(org=org, reference=reference).first()
    return reservation, {"org": org, "reference": reference, "actor": actor, "account": account}


def credits_reserve(*, org: Organisation, amount: int, reference: str, actor=None) -> CreditReservation:
    """Holds ``amount`` credits for ``reference`` (a campaign at launch) so that two campaigns cannot both
    count on the same credits. Raises :class:`InsufficientCredits` (nothing written) when the balance does
    not cover it, :class:`ReservationError` when the reference was already settled."""
    if amount <= 0:
        raise ValueError("A reservation must be positive.")
    if not reference:
        raise ValueError("A reservation needs a reference.")
    with transaction.atomic():
        reservation, movement = _locked(org, reference, actor)
        if reservation is not None and reservation.closed_at is not None:
            raise ReservationError(f"{reference} is already settled.")
        _append(kind=EntryKind.RESERVATION, amount=-amount, reason="", **movement)
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
    return reservation


def credits_release(*, org: Organisation, amount: int, reference: str, actor=None) -> CreditReservation:
    """Gives back part of what ``reference`` holds (messages blocked, failed or cancelled): they will not
    be sent, so they must not stay out of the balance. Raises :class:`ReservationError` when ``amount`` is
    more than the reference still holds or the reference is unknown or settled; nothing is written then."""
    if amount <= 0:
        raise ValueError("A release must be positive.")
    with transaction.atomic():
        reservation, movement = _locked(org, reference, actor)
        if reservation is None or reservation.closed_at is not None:
            raise ReservationError(f"{reference} holds no open reservation.")
        if amount > reservation.outstanding:
            raise ReservationError(
                f"{reference} holds {reservation.outstanding} credits, cannot release {amount}."
            )
        _append(kind=EntryKind.RELEASE, amount=amount, reason="", **movement)
        CreditReservation.objects.filter(pk=reservation.pk).update(
            released=F("released") + amount, updated_at=timezone.now()
        )
        reservation.released += amount
    return reservation


def credits_settle(*, org: Organisation, reference: str, spent: int, actor=None) -> CreditReservation:
    """Ends a reservation when its campaign ends: ``spent`` (the total consumed, 0 for a campaign cancelled
    before sending) is kept, the rest goes back to the balance, and the row is closed so that nothing stays
    reserved. Idempotent: settling a closed reference with the same ``spent`` returns it unchanged;
    with another ``spent``, or ``spent`` above what is held, raises :class:`ReservationError`."""
    if spent < 0:
        raise ValueError("Spent credits cannot be negative.")
    with transaction.atomic():
        reservation, movement = _locked(org, reference, actor)
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
        if rest > 0:  # audited below, with the settlement
            entry = _append(
                kind=EntryKind.RELEASE, amount=rest, reason="settlement", audited=False, **movement
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
