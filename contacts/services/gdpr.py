"""GDPR requests of a person: access (art. 15) and erasure (art. 17)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from compliance.selectors import suppressed_numbers
from compliance.services import suppression_forget_numbers
from smsplatform.audit import audit_record
from smsplatform.models import Organisation

from ..models import Contact
from ..selectors import contact_personal_data


def contact_access_export(*, org: Organisation, actor: Any, contact: Contact) -> dict[str, Any]:
    """Everything the organisation holds about a person (GDPR art. 15), as a JSON-ready dict; audited
    because handing personal data out is itself a processing the organisation must be able to show."""
    data = contact_personal_data(org, contact)
    audit_record(org=org, actor=actor, action="contact.gdpr_access_export", target=contact, data={})
    return data


@transaction.atomic
def contact_erase(*, org: Organisation, actor: Any, contact: Contact) -> None:
    """Erases a person (GDPR art. 17): the contact, its tags, list memberships and consent proofs are
    deleted; a suppression stays (as a keyed hash only) so that the number is never re-subscribed, and
    the audit row keeps no personal data. Aggregate statistics (campaign counters) are not touched."""
    if contact.org_id != org.pk:
        raise ValueError("contact of another organisation")
    suppressed = bool(suppressed_numbers(org, [contact.phone]))
    if suppressed:
        suppression_forget_numbers(org=org, phones=[contact.phone], actor=actor)
    contact_id = contact.pk
    Contact.objects.filter(org=org, pk=contact_id).delete()
    audit_record(
        org=org,
        actor=actor,
        action="contact.gdpr_erased",
        data={"contact_id": contact_id, "suppression_kept": suppressed},
    )
