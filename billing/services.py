"""Every movement of credits goes through these services, under a lock of the organisation's account."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from smsplatform.models import Organisation
from smsplatform.services import audit_record

from .models import CreditAccount, CreditEntry, EntryKind


class InsufficientCredits(Exception):
    """Raised when a debit would take the balance below zero; nothing is written."""

    def __init__(self, needed: int, available: int):
        self.needed = needed
        self.available = available
        super().__init__(f"{needed} credits needed, {available} available.")


def _locked_account(org: Organisation) -> CreditAccount:
    # get_or_create first (it may race with another creator: the unique org_id settles it), then lock the
    # row so that concurrent writers of this organisation queue here and never both pass the check.
    CreditAccount.objects.get_or_create(org=org)
    return CreditAccount.objects.select_for_update().get(org=org)


def _append(*, org: Organisation, kind: str, amount: int, reference: str, actor, reason: str) -> CreditEntry:
    if amount == 0:
        raise ValueError("A credit movement cannot be zero.")
    with transaction.atomic():
        account = _locked_account(org)
        new_balance = account.balance + amount
        if new_balance < 0:
            raise InsufficientCredits(needed=-amount, available=account.balance)
        now = timezone.now()
        CreditAccount.objects.filter(pk=account.pk).update(balance=new_balance, updated_at=now)
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
