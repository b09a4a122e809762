"""Consent: the proofs kept for a regulator or an operator, and the contact's current consent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from smsplatform.audit import audit_record
from smsplatform.models import Organisation

from ..models import BASIS_STRENGTH, ConsentProof, Contact
from .cleaning import _actor_label, _actor_user, _consent_clean


def _proof_row(
    *,
    org: Organisation,
    contact_id: int,
    basis: str,
    source: str,
    actor: Any,
    collected_at: datetime | None = None,
    wording_version: str = "",
    wording: str = "",
    ip_address: str | None = None,
    import_job_id: int | None = None,
    note: str = "",
) -> ConsentProof:
    """An unsaved proof; the keyword arguments after ``actor`` are the optional details of a proof that
    :func:`consent_record` passes on as they come."""
    return ConsentProof(
        org=org,
        contact_id=contact_id,
        basis=basis,
        source=source,
        collected_at=collected_at or timezone.now(),
        wording_version=str(wording_version or "")[:32],
        wording=wording or "",
        ip_address=ip_address or None,
        import_job_id=import_job_id,
        note=(note or "")[:300],
        recorded_by=_actor_user(actor),
        recorded_by_label=_actor_label(actor),
    )


@transaction.atomic
def consent_record(
    *, org: Organisation, actor: Any, contact: Contact, basis: str, source: str, **details: Any
) -> ConsentProof:
    """Keeps a new piece of evidence of consent and makes it the contact's current consent.

    The proof is what the organisation shows a regulator (CNIL) or an operator: basis, source, time,
    wording, IP or import reference, and who recorded it. ``details`` are those of :func:`_proof_row`
    (``collected_at``, ``wording_version``, ``wording``, ``ip_address``, ``note``).
    """
    _consent_clean(basis, source)
    if not source:
        raise ValidationError({"consent_source": [_("Say where the consent was collected.")]})
    proof = _proof_row(org=org, contact_id=contact.pk, basis=basis, source=source, actor=actor, **details)
    proof.save()
    Contact.objects.filter(org=org, pk=contact.pk).update(
        consent_basis=basis,
        consent_source=source,
        consent_collected_at=proof.collected_at,
        updated_at=timezone.now(),
    )
    contact.consent_basis, contact.consent_source, contact.consent_collected_at = (
        basis,
        source,
        proof.collected_at,
    )
    audit_record(
        org=org,
        actor=actor,
        action="contact.consent_recorded",
        target=contact,
        data={"basis": basis, "source": source},
    )
    return proof


def stronger_basis(current: str, new: str) -> bool:
    """Whether ``new`` is at least as strong as ``current`` (imports never weaken a consent)."""
    return BASIS_STRENGTH.get(new, 0) >= BASIS_STRENGTH.get(current, 0)
