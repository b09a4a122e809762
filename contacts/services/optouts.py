"""Opt-outs: the compliance suppression list is the truth, the contacts' ``opted_out`` flag follows it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from compliance.selectors import suppressed_numbers
from compliance.services import suppression_add, suppression_lift
from smsplatform.models import Organisation

from ..models import Contact
from .phones import phone_normalise


def contacts_sync_opted_out(*, org: Organisation, phones: Iterable[str]) -> int:
    """Aligns the ``opted_out`` flag of the contacts with these numbers on the suppression list (two
    queries). Call it after changing suppressions outside this module (inbound STOP, gateway events)."""
    phones = [p for p in set(phones) if p]
    if not phones:
        return 0
    suppressed = suppressed_numbers(org, phones)
    changed = Contact.objects.filter(org=org, phone__in=suppressed, opted_out=False).update(
        opted_out=True, updated_at=timezone.now()
    )
    rest = [p for p in phones if p not in suppressed]
    changed += Contact.objects.filter(org=org, phone__in=rest, opted_out=True).update(
        opted_out=False, updated_at=timezone.now()
    )
    return changed


@transaction.atomic
def optout_add(*, org: Organisation, actor: Any, phone: str, source: str = "manual", proof: str = "") -> Any:
    """Opts a number out at once (page, API): the compliance suppression list is written first, then the
    contact's flag. The number need not be a contact: the suppression protects it if it is imported
    later."""
    e164 = phone_normalise(org=org, raw=phone)
    suppression = suppression_add(org=org, phone_e164=e164, source=source, actor=actor, proof=proof)
    Contact.objects.filter(org=org, phone=e164).update(opted_out=True, updated_at=timezone.now())
    return suppression


@transaction.atomic
def optout_lift(*, org: Organisation, actor: Any, phone: str, source: str, proof: str) -> bool:
    """Lifts an opt-out after a new, proven opt-in (docs/compliance.md, "Opt-out (STOP)"). Returns
    whether one existed."""
    e164 = phone_normalise(org=org, raw=phone)
    lifted = suppression_lift(org=org, phone_e164=e164, source=source, actor=actor, proof=proof)
    Contact.objects.filter(org=org, phone=e164).update(opted_out=False, updated_at=timezone.now())
    return lifted
