"""The ledger: every movement of credits appends one signed entry and moves the balance row in the same
transaction, under the lock of the organisation's account (see the package's docstring)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from smsplatform.audit import audit_record
from smsplatform.models import Organisation

from ..errors import InsufficientCredits
from ..models import CreditAccount, CreditEntry, EntryKind
from .low_balance import _low_balance_check


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
    audited: bool = True,
) -> CreditEntry:
    """One entry and the new balance; ``account`` is the row already locked by the caller, if any.
    ``audited`` records the movement as ``credits.<kind>``; off for a caller that audits it its own way."""
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
        if audited:
            audit_record(
                org=org,
                actor=actor,
                action=f"credits.{kind}",
                target=entry,
                data={"amount": amount, "reference": reference},
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
    return _append(org=org, kind=kind, amount=amount, reference=reference, actor=actor, reason=reason)


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
    return _append(org=org, kind=kind, amount=-amount, reference=reference, actor=actor, reason=reason)


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
