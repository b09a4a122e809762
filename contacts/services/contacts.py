"""Contacts typed in a page or sent by the API: creation, changes and deletion."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from compliance.selectors import suppressed_numbers
from smsplatform.audit import audit_record
from smsplatform.models import Organisation

from ..models import ConsentBasis, ConsentSource, Contact, ContactList, ContactTag, ListMembership
from .cleaning import EDITABLE_FIELDS, _consent_clean, _fields_clean, attributes_clean
from .consent import _proof_row
from .phones import phone_normalise, recipient_context_tuple
from .tags import _org_contact_ids, _tag_contacts, tags_ensure


def contact_create(
    *,
    org: Organisation,
    actor: Any,
    phone: str,
    tags: Iterable[str] = (),
    attributes: dict | None = None,
    consent_basis: str = ConsentBasis.UNKNOWN,
    consent_source: str = "",
    consent_note: str = "",
    list_ids: Iterable[int] = (),
    **fields: Any,
) -> Contact:
    """One contact typed in a page or sent by the API; ``fields`` are among ``EDITABLE_FIELDS``
    (``first_name``, ``email``, ``birth_date``...), the others left empty.

    The number is normalised with the organisation's country and must be a mobile; an existing number is
    refused (the caller edits it instead). A suppressed number is created opted out: re-creating a
    contact never re-subscribes it. A consent basis other than ``unknown`` is recorded as a proof.
    """
    if consent_basis != ConsentBasis.UNKNOWN and not consent_source:
        consent_source = ConsentSource.MANUAL
    values = _contact_values(
        org=org,
        phone=phone,
        fields=fields,
        attributes=attributes,
        consent_basis=consent_basis,
        consent_source=consent_source,
    )
    try:
        with transaction.atomic():
            contact = Contact.objects.create(org=org, **values)
            if consent_basis != ConsentBasis.UNKNOWN:
                _proof_row(
                    org=org,
                    contact_id=contact.pk,
                    basis=consent_basis,
                    source=consent_source,
                    actor=actor,
                    collected_at=values["created_at"],
                    note=consent_note,
                ).save()
            _contact_links_add(org=org, contact=contact, tags=tags, list_ids=list_ids)
            audit_record(
                org=org,
                actor=actor,
                action="contact.created",
                target=contact,
                data={"opted_out": contact.opted_out},
            )
    except IntegrityError:
        raise ValidationError({"phone": [_("A contact with this number already exists.")]})
    return contact


def _contact_values(
    *,
    org: Organisation,
    phone: str,
    fields: dict[str, Any],
    attributes: dict | None,
    consent_basis: str,
    consent_source: str,
) -> dict[str, Any]:
    """The cleaned columns of a new contact (raises ValidationError), with its recipient context and
    its opt-out state; the consent source is kept only with a known basis."""
    e164 = phone_normalise(org=org, raw=phone)
    cleaned = _fields_clean({**dict.fromkeys(EDITABLE_FIELDS, ""), **fields})
    attrs = attributes_clean(attributes)
    _consent_clean(consent_basis, consent_source)
    region, tz, calendar = recipient_context_tuple(e164, cleaned["postal_code"])
    now = timezone.now()
    known = consent_basis != ConsentBasis.UNKNOWN
    return {
        "phone": e164,
        "attributes": attrs,
        "consent_basis": consent_basis,
        "consent_source": consent_source if known else "",
        "consent_collected_at": now if known else None,
        "opted_out": bool(suppressed_numbers(org, [e164])),
        "region": region,
        "timezone": tz,
        "calendar": calendar,
        "created_at": now,
        "updated_at": now,
        **cleaned,
    }


def _contact_links_add(
    *, org: Organisation, contact: Contact, tags: Iterable[str], list_ids: Iterable[int]
) -> None:
    """Tags a new contact and puts it in the organisation's lists among ``list_ids``."""
    tag_ids = tags_ensure(org=org, names=list(tags))
    _tag_contacts(org=org, contact_ids=[contact.pk], tag_ids=tag_ids.values())
    if list_ids:
        lists = list(ContactList.objects.filter(org=org, id__in=list(list_ids)).values_list("id", flat=True))
        ListMembership.objects.bulk_create(
            [ListMembership(org=org, contact_list_id=lid, contact=contact) for lid in lists],
            ignore_conflicts=True,
        )


def contact_update(
    *,
    org: Organisation,
    actor: Any,
    contact: Contact,
    phone: str | None = None,
    tags: Iterable[str] | None = None,
    attributes: dict | None = None,
    consent_basis: str | None = None,
    consent_source: str | None = None,
    **fields: Any,
) -> Contact:
    """Changes a contact's data; only the fields passed change (PATCH semantics).

    A new number is normalised and its recipient context recomputed (as it is when the postal code
    changes, for Alsace-Moselle). ``tags`` replaces the contact's tags; a new consent basis is recorded as
    a proof. The opt-out state is never changed here: it follows the suppression list.
    """
    if contact.org_id != org.pk:
        raise ValueError("contact of another organisation")
    changed = _fields_clean(fields)
    if phone is not None:
        e164 = phone_normalise(org=org, raw=phone)
        if e164 != contact.phone:
            changed["phone"] = e164
    if attributes is not None:
        changed["attributes"] = attributes_clean(attributes)
    changed = {k: v for k, v in changed.items() if getattr(contact, k) != v}
    new_phone = changed.get("phone", contact.phone)
    if "phone" in changed or "postal_code" in changed:
        region, tz, calendar = recipient_context_tuple(
            new_phone, changed.get("postal_code", contact.postal_code)
        )
        changed.update(region=region, timezone=tz, calendar=calendar)
        if "phone" in changed:
            changed["opted_out"] = bool(suppressed_numbers(org, [new_phone]))
    now = timezone.now()
    record_consent = consent_basis is not None and consent_basis != contact.consent_basis
    if record_consent:
        consent_source = consent_source or ConsentSource.MANUAL
        _consent_clean(consent_basis, consent_source)
        changed.update(consent_basis=consent_basis, consent_source=consent_source, consent_collected_at=now)
    try:
        with transaction.atomic():
            if changed:
                changed["updated_at"] = now
                Contact.objects.filter(org=org, pk=contact.pk).update(**changed)
                for key, value in changed.items():
                    setattr(contact, key, value)
            if record_consent:
                _proof_row(
                    org=org,
                    contact_id=contact.pk,
                    basis=consent_basis,
                    source=consent_source,
                    actor=actor,
                    collected_at=now,
                ).save()
            if tags is not None:
                tag_ids = tags_ensure(org=org, names=list(tags))
                ContactTag.objects.filter(org=org, contact=contact).exclude(
                    tag_id__in=tag_ids.values()
                ).delete()
                _tag_contacts(org=org, contact_ids=[contact.pk], tag_ids=tag_ids.values())
            audit_record(
                org=org,
                actor=actor,
                action="contact.updated",
                target=contact,
                data={"fields": sorted(k for k in changed if k != "updated_at"), "tags": tags is not None},
            )
    except IntegrityError:
        raise ValidationError({"phone": [_("A contact with this number already exists.")]})
    return contact


@transaction.atomic
def contacts_delete(*, org: Organisation, actor: Any, contact_ids: Iterable) -> int:
    """Deletes contacts (bulk action, API). Their opt-outs stay in the suppression list, so re-importing
    or re-creating a number later does not re-subscribe it."""
    ids = _org_contact_ids(org, contact_ids)
    if not ids:
        return 0
    Contact.objects.filter(org=org, id__in=ids).delete()
    audit_record(org=org, actor=actor, action="contacts.deleted", data={"count": len(ids), "ids": ids[:1000]})
    return len(ids)


def contact_delete(*, org: Organisation, actor: Any, contact: Contact) -> None:
    """Deletes one contact (see :func:`contacts_delete`)."""
    contacts_delete(org=org, actor=actor, contact_ids=[contact.pk])
