"""Writes on contacts, tags, lists, segments, consent proofs, opt-outs, GDPR requests and the public
opt-in form. Import jobs live in :mod:`contacts.jobs`.

Every function is keyword-only, takes the organisation and the actor, runs in a transaction and writes
an audit row. Bulk first: the single-contact functions are thin wrappers or share the same helpers, and
nothing runs one query per contact.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.services import InsufficientCredits
from campaigns.services import sms_send_transactional
from compliance.context import recipient_context
from compliance.selectors import is_suppressed, suppressed_numbers
from compliance.services import suppression_add, suppression_forget_numbers, suppression_lift
from smsplatform.audit import audit_record
from smsplatform.models import Membership, Organisation, Role, User

from .importing.phones import PHONE_ERROR_MESSAGES, normalise_phone
from .models import (
    BASIS_STRENGTH,
    ConsentBasis,
    ConsentProof,
    ConsentSource,
    ConsentWording,
    Contact,
    ContactList,
    ContactTag,
    Gender,
    ListMembership,
    OptInForm,
    PendingOptIn,
    Segment,
    Tag,
)
from .selectors import contact_personal_data

logger = logging.getLogger(__name__)

EDITABLE_FIELDS = ("first_name", "last_name", "email", "gender", "birth_date", "postal_code", "city")
TAG_MAX_LENGTH = 50
_ATTRIBUTE_KEY = re.compile(r"^[a-z0-9](?:[a-z0-9]|_(?!_)){0,39}$")


# --- phone numbers and recipient context ------------------------------------------------------------


def phone_error_message(code: str) -> str:
    """A translated sentence for a phone error code of the parsing engine."""
    return str(PHONE_ERROR_MESSAGES.get(code or "invalid") or _("This is not a valid mobile phone number."))


def phone_normalise(*, org: Organisation, raw: str) -> str:
    """The E.164 form of a number typed by a person or sent by the API, with the organisation's country
    as default region; raises ValidationError ``{"phone": [...]}`` when it is not a mobile number."""
    result = normalise_phone(str(raw or ""), org.country or "FR")
    if not result.e164:
        raise ValidationError({"phone": [phone_error_message(getattr(result, "error", "") or "invalid")]})
    return result.e164


class ContextCache:
    """Recipient contexts for a batch: the context depends on the number's prefix and, in France, on
    the first two digits of the postal code; computing it once per key keeps an import fast."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], tuple[str, str, str]] = {}

    def get(self, phone: str, postal_code: str = "") -> tuple[str, str, str]:
        # The context depends on the postal code in mainland France only, on the area code in NANP,
        # on 639/692 in +262; elsewhere the country code and first digits are enough.
        if phone.startswith("+33"):
            key = ("+33", (postal_code or "").strip()[:2])
        elif phone.startswith("+1"):
            key = (phone[:5], "")
        else:
            key = (phone[:7], "")
        value = self._cache.get(key)
        if value is None:
            value = recipient_context_tuple(phone, key[1])
            if len(self._cache) < 100_000:
                self._cache[key] = value
        return value


def recipient_context_tuple(phone: str, postal_code: str = "") -> tuple[str, str, str]:
    """(region, timezone, calendar) of a number; empty strings when the number has no region."""
    try:
        ctx = recipient_context(phone, postal_code or "")
    except ValueError:
        return ("", "", "")
    return (ctx.region[:4], ctx.timezone[:100], ctx.calendar[:32])


# --- field cleaning ---------------------------------------------------------------------------------


def tags_clean(tags: Iterable[str] | str | None) -> list[str]:
    """Tag names, trimmed, without duplicates (case-insensitive), in their first spelling."""
    if tags is None:
        return []
    if isinstance(tags, str):
        tags = re.split(r"[,;|]", tags)
    seen: dict[str, str] = {}
    for tag in tags:
        name = " ".join(str(tag or "").split())[:TAG_MAX_LENGTH]
        if name and name.casefold() not in seen:
            seen[name.casefold()] = name
    return list(seen.values())


def attribute_key_clean(key: str) -> str:
    """A free attribute's key: lower-case letters, digits and single underscores (a JSON key that is
    safe in a database lookup); ``Code fidélité`` becomes ``code_fidelite``."""
    import unicodedata

    text = unicodedata.normalize("NFKD", str(key or "")).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"[^a-z0-9]+", "_", text).strip("_")
    text = re.sub(r"_+", "_", text)[:40].strip("_")
    return text


def attributes_clean(attributes: dict | None) -> dict[str, Any]:
    if attributes is None:
        return {}
    if not isinstance(attributes, dict):
        raise ValidationError({"attributes": [_("Attributes must be an object of names and values.")]})
    cleaned: dict[str, Any] = {}
    for key, value in attributes.items():
        clean_key = attribute_key_clean(key)
        if not clean_key:
            raise ValidationError({"attributes": [_("An attribute needs a name.")]})
        if isinstance(value, (dict, list)):
            raise ValidationError({"attributes": [_("Attribute values must be text, numbers or booleans.")]})
        cleaned[clean_key] = value
    return cleaned


def _fields_clean(fields: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if name not in EDITABLE_FIELDS:
            raise ValueError(f"Not a contact field: {name}")
        if name == "birth_date":
            if value in (None, ""):
                out[name] = None
            elif isinstance(value, date):
                if value > timezone.localdate() or value.year < 1900:
                    errors[name] = [_("Enter a plausible birth date.")]
                out[name] = value
            else:
                errors[name] = [_("Enter a valid date.")]
            continue
        value = "" if value is None else str(value).strip()
        if name == "email" and value:
            try:
                validate_email(value)
            except ValidationError:
                errors[name] = [_("Enter a valid email address.")]
            value = value.lower()
        if name == "gender" and value and value not in Gender.values:
            errors[name] = [_("Unknown gender.")]
        max_length = Contact._meta.get_field(name).max_length
        out[name] = value[:max_length]
    if errors:
        raise ValidationError(errors)
    return out


def _consent_clean(basis: str, source: str) -> None:
    errors = {}
    if basis not in ConsentBasis.values:
        errors["consent_basis"] = [_("Unknown consent basis.")]
    if source and source not in ConsentSource.values:
        errors["consent_source"] = [_("Unknown consent source.")]
    if errors:
        raise ValidationError(errors)


def _actor_label(actor: Any) -> str:
    return str(actor)[:200] if actor is not None else "system"


def _actor_user(actor: Any):
    return actor if isinstance(actor, User) else None


# --- tags -------------------------------------------------------------------------------------------


def tags_ensure(*, org: Organisation, names: Sequence[str]) -> dict[str, int]:
    """Ids of the tags named ``names`` (case-insensitive), creating the missing ones; two queries at
    most whatever the number of names, and safe against a concurrent creation."""
    names = tags_clean(names)
    if not names:
        return {}
    wanted = {n.casefold(): n for n in names}
    existing = {t.name.casefold(): t.pk for t in Tag.objects.filter(org=org).only("id", "name")}
    missing = [Tag(org=org, name=n) for key, n in wanted.items() if key not in existing]
    if missing:
        Tag.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {t.name.casefold(): t.pk for t in Tag.objects.filter(org=org).only("id", "name")}
    return {wanted[key]: existing[key] for key in wanted if key in existing}


def _tag_contacts(*, org: Organisation, contact_ids: Sequence[int], tag_ids: Iterable[int]) -> int:
    rows = [ContactTag(org=org, contact_id=c, tag_id=t) for c in contact_ids for t in tag_ids]
    if not rows:
        return 0
    ContactTag.objects.bulk_create(rows, ignore_conflicts=True, batch_size=2000)
    return len(rows)


def _org_contact_ids(org: Organisation, contact_ids: Iterable) -> list[int]:
    """The ids among ``contact_ids`` that are this organisation's contacts (one query)."""
    ids = set()
    for value in contact_ids:
        try:
            ids.add(int(value))
        except (TypeError, ValueError):
            raise ValidationError({"contact_ids": [_("Contact ids must be numbers.")]})
    if not ids:
        return []
    return list(Contact.objects.filter(org=org, id__in=ids).values_list("id", flat=True))


@transaction.atomic
def contacts_tag(*, org: Organisation, actor: Any, contact_ids: Iterable, tags: Iterable[str]) -> int:
    """Adds tags to many contacts at once (bulk action, API); existing tags stay. Returns the number of
    contacts concerned."""
    ids = _org_contact_ids(org, contact_ids)
    tag_ids = tags_ensure(org=org, names=list(tags))
    if not ids or not tag_ids:
        return 0
    _tag_contacts(org=org, contact_ids=ids, tag_ids=tag_ids.values())
    Contact.objects.filter(org=org, id__in=ids).update(updated_at=timezone.now())
    audit_record(
        org=org, actor=actor, action="contacts.tagged", data={"count": len(ids), "tags": list(tag_ids)}
    )
    return len(ids)


@transaction.atomic
def contacts_untag(*, org: Organisation, actor: Any, contact_ids: Iterable, tags: Iterable[str]) -> int:
    """Removes tags from many contacts at once."""
    ids = _org_contact_ids(org, contact_ids)
    names = [n.casefold() for n in tags_clean(list(tags))]
    tag_ids = [t.pk for t in Tag.objects.filter(org=org) if t.name.casefold() in names]
    deleted, _unused = ContactTag.objects.filter(org=org, contact_id__in=ids, tag_id__in=tag_ids).delete()
    audit_record(
        org=org, actor=actor, action="contacts.untagged", data={"count": len(ids), "removed": deleted}
    )
    return deleted


# --- contacts ---------------------------------------------------------------------------------------


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


def contact_create(
    *,
    org: Organisation,
    actor: Any,
    phone: str,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    gender: str = "",
    birth_date: date | None = None,
    postal_code: str = "",
    city: str = "",
    tags: Iterable[str] = (),
    attributes: dict | None = None,
    consent_basis: str = ConsentBasis.UNKNOWN,
    consent_source: str = "",
    consent_note: str = "",
    list_ids: Iterable[int] = (),
) -> Contact:
    """One contact typed in a page or sent by the API.

    The number is normalised with the organisation's country and must be a mobile; an existing number is
    refused (the caller edits it instead). A suppressed number is created opted out: re-creating a
    contact never re-subscribes it. A consent basis other than ``unknown`` is recorded as a proof.
    """
    e164 = phone_normalise(org=org, raw=phone)
    fields = _fields_clean(
        {
            "first_name": first_name,
            "last_name": last_name,
            "email": email,
            "gender": gender,
            "birth_date": birth_date,
            "postal_code": postal_code,
            "city": city,
        }
    )
    attrs = attributes_clean(attributes)
    if consent_basis != ConsentBasis.UNKNOWN and not consent_source:
        consent_source = ConsentSource.MANUAL
    _consent_clean(consent_basis, consent_source)
    region, tz, calendar = recipient_context_tuple(e164, fields["postal_code"])
    now = timezone.now()
    try:
        with transaction.atomic():
            contact = Contact.objects.create(
                org=org,
                phone=e164,
                attributes=attrs,
                consent_basis=consent_basis,
                consent_source=consent_source if consent_basis != ConsentBasis.UNKNOWN else "",
                consent_collected_at=now if consent_basis != ConsentBasis.UNKNOWN else None,
                opted_out=bool(suppressed_numbers(org, [e164])),
                region=region,
                timezone=tz,
                calendar=calendar,
                created_at=now,
                updated_at=now,
                **fields,
            )
            if consent_basis != ConsentBasis.UNKNOWN:
                _proof_row(
                    org=org,
                    contact_id=contact.pk,
                    basis=consent_basis,
                    source=consent_source,
                    actor=actor,
                    collected_at=now,
                    note=consent_note,
                ).save()
            tag_ids = tags_ensure(org=org, names=list(tags))
            _tag_contacts(org=org, contact_ids=[contact.pk], tag_ids=tag_ids.values())
            if list_ids:
                lists = list(
                    ContactList.objects.filter(org=org, id__in=list(list_ids)).values_list("id", flat=True)
                )
                ListMembership.objects.bulk_create(
                    [ListMembership(org=org, contact_list_id=lid, contact=contact) for lid in lists],
                    ignore_conflicts=True,
                )
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


# --- consent ----------------------------------------------------------------------------------------


@transaction.atomic
def consent_record(
    *,
    org: Organisation,
    actor: Any,
    contact: Contact,
    basis: str,
    source: str,
    collected_at: datetime | None = None,
    wording_version: str = "",
    wording: str = "",
    ip_address: str | None = None,
    note: str = "",
) -> ConsentProof:
    """Keeps a new piece of evidence of consent and makes it the contact's current consent.

    The proof is what the organisation shows a regulator (CNIL) or an operator: basis, source, time,
    wording, IP or import reference, and who recorded it.
    """
    _consent_clean(basis, source)
    if not source:
        raise ValidationError({"consent_source": [_("Say where the consent was collected.")]})
    proof = _proof_row(
        org=org,
        contact_id=contact.pk,
        basis=basis,
        source=source,
        actor=actor,
        collected_at=collected_at,
        wording_version=wording_version,
        wording=wording,
        ip_address=ip_address,
        note=note,
    )
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


# --- lists ------------------------------------------------------------------------------------------


def _list_name_clean(name: str) -> str:
    name = " ".join(str(name or "").split())
    if not name:
        raise ValidationError({"name": [_("Give the list a name.")]})
    return name[:100]


def contact_list_create(*, org: Organisation, actor: Any, name: str, description: str = "") -> ContactList:
    """A new static list; names are unique per organisation."""
    name = _list_name_clean(name)
    try:
        with transaction.atomic():
            contact_list = ContactList.objects.create(
                org=org, name=name, description=(description or "")[:300]
            )
            audit_record(
                org=org, actor=actor, action="contact_list.created", target=contact_list, data={"name": name}
            )
    except IntegrityError:
        raise ValidationError({"name": [_("A list with this name already exists.")]})
    return contact_list


def contact_list_get_or_create(*, org: Organisation, actor: Any, name: str) -> ContactList:
    """The list with this name, created when missing (imports with ``list_name``)."""
    name = _list_name_clean(name)
    existing = ContactList.objects.filter(org=org, name=name).first()
    if existing is not None:
        return existing
    try:
        return contact_list_create(org=org, actor=actor, name=name)
    except ValidationError:
        return ContactList.objects.get(org=org, name=name)


def contact_list_update(
    *, org: Organisation, actor: Any, contact_list: ContactList, name: str, description: str = ""
) -> ContactList:
    """Renames a list or changes its description."""
    name = _list_name_clean(name)
    try:
        with transaction.atomic():
            ContactList.objects.filter(org=org, pk=contact_list.pk).update(
                name=name, description=(description or "")[:300]
            )
            audit_record(
                org=org, actor=actor, action="contact_list.updated", target=contact_list, data={"name": name}
            )
    except IntegrityError:
        raise ValidationError({"name": [_("A list with this name already exists.")]})
    contact_list.name, contact_list.description = name, description or ""
    return contact_list


@transaction.atomic
def contact_list_delete(*, org: Organisation, actor: Any, contact_list: ContactList) -> None:
    """Deletes a list; its contacts stay."""
    audit_record(
        org=org,
        actor=actor,
        action="contact_list.deleted",
        target=contact_list,
        data={"name": contact_list.name},
    )
    ContactList.objects.filter(org=org, pk=contact_list.pk).delete()


@transaction.atomic
def contacts_add_to_list(
    *, org: Organisation, actor: Any, contact_list: ContactList, contact_ids: Iterable
) -> int:
    """Adds contacts to a static list (bulk action, API); contacts already in it are left alone.
    Ids of other organisations are ignored. Returns the number of contacts now in the list among those
    given."""
    if contact_list.org_id != org.pk:
        raise ValueError("list of another organisation")
    ids = _org_contact_ids(org, contact_ids)
    ListMembership.objects.bulk_create(
        [ListMembership(org=org, contact_list=contact_list, contact_id=cid) for cid in ids],
        ignore_conflicts=True,
        batch_size=2000,
    )
    audit_record(
        org=org,
        actor=actor,
        action="contact_list.contacts_added",
        target=contact_list,
        data={"count": len(ids)},
    )
    return len(ids)


@transaction.atomic
def contacts_remove_from_list(
    *, org: Organisation, actor: Any, contact_list: ContactList, contact_ids: Iterable
) -> int:
    """Removes contacts from a static list; the contacts themselves stay."""
    ids = _org_contact_ids(org, contact_ids)
    deleted, _unused = ListMembership.objects.filter(
        org=org, contact_list=contact_list, contact_id__in=ids
    ).delete()
    audit_record(
        org=org,
        actor=actor,
        action="contact_list.contacts_removed",
        target=contact_list,
        data={"count": deleted},
    )
    return deleted


# --- segments ---------------------------------------------------------------------------------------

SEGMENT_KEYS = {
    "tags", "lists", "postal_code_prefix", "city", "gender", "age_min", "age_max", "attributes",
    "created_since",
}  # fmt: skip


def segment_filters_clean(*, org: Organisation, filters: dict | None) -> dict[str, Any]:
    """Validates a segment's filters and returns them in canonical form (empty values dropped), so that a
    saved segment can always be compiled by ``selectors.segment_contacts``."""
    filters = dict(filters or {})
    unknown = set(filters) - SEGMENT_KEYS
    if unknown:
        raise ValidationError(
            {"filters": [_("Unknown filter: %(name)s.") % {"name": ", ".join(sorted(unknown))}]}
        )
    out: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    tags = tags_clean(filters.get("tags"))
    if tags:
        out["tags"] = tags
    lists = filters.get("lists") or []
    if lists:
        try:
            wanted = {int(x) for x in lists}
        except (TypeError, ValueError):
            wanted = set()
            errors["lists"] = [_("Unknown list.")]
        found = set(ContactList.objects.filter(org=org, id__in=wanted).values_list("id", flat=True))
        if wanted - found:
            errors["lists"] = [_("Unknown list.")]
        out["lists"] = sorted(found)
    for key in ("postal_code_prefix", "city"):
        value = " ".join(str(filters.get(key) or "").split())
        if value:
            out[key] = value[:100]
    gender = filters.get("gender") or ""
    if gender:
        if gender not in Gender.values:
            errors["gender"] = [_("Unknown gender.")]
        out["gender"] = gender
    for key in ("age_min", "age_max"):
        value = filters.get(key)
        if value not in (None, ""):
            try:
                age = int(value)
                if not 0 <= age <= 130:
                    raise ValueError
                out[key] = age
            except (TypeError, ValueError):
                errors[key] = [_("Enter an age between 0 and 130.")]
    if "age_min" in out and "age_max" in out and out["age_min"] > out["age_max"]:
        errors["age_max"] = [_("The maximum age is below the minimum age.")]
    rules = []
    for rule in filters.get("attributes") or []:
        if not isinstance(rule, dict):
            errors["attributes"] = [_("Invalid attribute filter.")]
            continue
        key = attribute_key_clean(rule.get("key", ""))
        op = rule.get("op") or "equals"
        value = str(rule.get("value") or "")
        if not key or not _ATTRIBUTE_KEY.match(key) or op not in ("equals", "contains"):
            errors["attributes"] = [_("Invalid attribute filter.")]
            continue
        rules.append({"key": key, "op": op, "value": value[:200]})
    if rules:
        out["attributes"] = rules
    since = filters.get("created_since")
    if since:
        try:
            out["created_since"] = (
                since if isinstance(since, date) else date.fromisoformat(str(since))
            ).isoformat()
        except ValueError:
            errors["created_since"] = [_("Enter a valid date.")]
    if errors:
        raise ValidationError(errors)
    return out


def segment_create(*, org: Organisation, actor: Any, name: str, filters: dict | None) -> Segment:
    """A saved filter usable as a campaign audience."""
    name = " ".join(str(name or "").split())[:100]
    if not name:
        raise ValidationError({"name": [_("Give the segment a name.")]})
    clean = segment_filters_clean(org=org, filters=filters)
    try:
        with transaction.atomic():
            segment = Segment.objects.create(org=org, name=name, filters=clean)
            audit_record(org=org, actor=actor, action="segment.created", target=segment, data={"name": name})
    except IntegrityError:
        raise ValidationError({"name": [_("A segment with this name already exists.")]})
    return segment


def segment_update(
    *, org: Organisation, actor: Any, segment: Segment, name: str, filters: dict | None
) -> Segment:
    """Changes a segment's name or filters; campaigns already launched keep their frozen audience."""
    name = " ".join(str(name or "").split())[:100]
    if not name:
        raise ValidationError({"name": [_("Give the segment a name.")]})
    clean = segment_filters_clean(org=org, filters=filters)
    try:
        with transaction.atomic():
            Segment.objects.filter(org=org, pk=segment.pk).update(
                name=name, filters=clean, updated_at=timezone.now()
            )
            audit_record(org=org, actor=actor, action="segment.updated", target=segment, data={"name": name})
    except IntegrityError:
        raise ValidationError({"name": [_("A segment with this name already exists.")]})
    segment.name, segment.filters = name, clean
    return segment


@transaction.atomic
def segment_delete(*, org: Organisation, actor: Any, segment: Segment) -> None:
    """Deletes a saved segment (the contacts stay)."""
    audit_record(org=org, actor=actor, action="segment.deleted", target=segment, data={"name": segment.name})
    Segment.objects.filter(org=org, pk=segment.pk).delete()


# --- opt-outs ---------------------------------------------------------------------------------------


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


# --- GDPR -------------------------------------------------------------------------------------------


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


# --- public opt-in form -----------------------------------------------------------------------------

OPTIN_CODE_LIFETIME = timedelta(minutes=15)
OPTIN_MAX_ATTEMPTS = 5
# Regions that a shop of this country reaches under its own rules and numbering: France's overseas
# departments and collectivities have their own country codes (+262, +590...) but are France.
OPTIN_COUNTRY_REGIONS = {"FR": ("FR", "RE", "GP", "MQ", "GF", "YT", "PM", "BL", "MF")}


def default_optin_wording(org: Organisation) -> str:
    return _(
        "I agree to receive SMS offers from %(brand)s. "
        "I can unsubscribe at any time for free by replying STOP."
    ) % {"brand": org.display_brand}


def optin_default_countries(org: Organisation) -> list[str]:
    """The countries a new form accepts: the organisation's own (with its overseas regions)."""
    country = (org.country or "FR").upper()
    return list(OPTIN_COUNTRY_REGIONS.get(country, (country,)))


def optin_countries_clean(raw: str | Iterable[str] | None) -> list[str]:
    """ISO codes typed by the owner ("FR, BE" or a list), upper-cased, deduplicated, each one a region
    phone numbers are known for; raises ValidationError ``{"countries": [...]}`` naming the unknown ones."""
    import phonenumbers

    items = re.split(r"[\s,;]+", raw) if isinstance(raw, str) else list(raw or [])
    codes: list[str] = []
    unknown: list[str] = []
    for item in items:
        code = str(item or "").strip().upper()
        if not code or code in codes:
            continue
        (codes if code in phonenumbers.SUPPORTED_REGIONS else unknown).append(code)
    if unknown:
        raise ValidationError(
            {
                "countries": [
                    _("Unknown country codes: %(codes)s. Use two-letter ISO codes such as FR, BE, CH.")
                    % {"codes": ", ".join(unknown)}
                ]
            }
        )
    return codes


def optin_form_get(*, org: Organisation) -> OptInForm:
    """The organisation's opt-in form, created off, with a default wording (version 1) and the
    organisation's countries the first time."""
    form = OptInForm.objects.filter(org=org).first()
    if form is not None:
        return form
    with transaction.atomic():
        wording = default_optin_wording(org)
        form, created = OptInForm.objects.get_or_create(
            org=org,
            defaults={"wording": wording, "version": 1, "countries": optin_default_countries(org)},
        )
        if created:
            ConsentWording.objects.get_or_create(org=org, version=1, defaults={"text": wording})
    return form


@transaction.atomic
def optin_form_update(
    *,
    org: Organisation,
    actor: Any,
    title: str,
    wording: str,
    contact_list: ContactList | None,
    countries: str | Iterable[str] | None = None,
    enabled: bool | None = None,
) -> OptInForm:
    """Changes the opt-in form. A new wording gets a new version, and every version is kept: each proof
    names the exact text the person agreed to. ``countries`` left empty means the organisation's own;
    ``enabled`` None leaves the form on or off as it is (:func:`optin_form_set_enabled` switches it)."""
    wording = (wording or "").strip()
    if not wording:
        raise ValidationError({"wording": [_("The consent wording is required.")]})
    form = OptInForm.objects.select_for_update().get(pk=optin_form_get(org=org).pk)
    if countries is not None:
        form.countries = optin_countries_clean(countries) or optin_default_countries(org)
    if wording != form.wording:
        form.version += 1
        ConsentWording.objects.create(org=org, version=form.version, text=wording)
    form.wording, form.title = wording, (title or "")[:120]
    if enabled is not None:
        form.enabled = enabled
    form.contact_list = contact_list if contact_list is None or contact_list.org_id == org.pk else None
    form.updated_at = timezone.now()
    form.save(
        update_fields=["wording", "version", "enabled", "title", "contact_list", "countries", "updated_at"]
    )
    audit_record(
        org=org,
        actor=actor,
        action="optin_form.updated",
        target=form,
        data={"version": form.version, "enabled": form.enabled, "countries": form.countries},
    )
    return form


@transaction.atomic
def optin_form_set_enabled(*, org: Organisation, actor: Any, enabled: bool) -> OptInForm:
    """Puts the public form online or takes it down (the owner's one-click switch)."""
    form = OptInForm.objects.select_for_update().get(pk=optin_form_get(org=org).pk)
    if form.enabled != enabled:
        form.enabled = enabled
        form.updated_at = timezone.now()
        form.save(update_fields=["enabled", "updated_at"])
        audit_record(
            org=org,
            actor=actor,
            action="optin_form.enabled" if enabled else "optin_form.disabled",
            target=form,
        )
    return form


@transaction.atomic
def optin_form_daily_cap_set(*, org: Organisation, actor: Any, daily_cap: int) -> OptInForm:
    """The number of codes the form may send a day: the platform operator's decision, not the shop's."""
    if daily_cap is None or int(daily_cap) < 0:
        raise ValidationError({"daily_cap": [_("The daily cap must be zero or more.")]})
    form = OptInForm.objects.select_for_update().get(pk=optin_form_get(org=org).pk)
    before = form.daily_cap
    if before != int(daily_cap):
        form.daily_cap = int(daily_cap)
        form.save(update_fields=["daily_cap"])
        audit_record(
            org=org,
            actor=actor,
            action="optin_form.daily_cap_changed",
            target=form,
            data={"from": before, "to": form.daily_cap},
        )
    return form


def _code_hash(token: str, code: str) -> str:
    from django.conf import settings

    key = hashlib.sha256(b"smsplatform.contacts.optin:" + settings.SECRET_KEY.encode()).digest()
    return hmac.new(key, f"{token}:{code}".encode(), hashlib.sha256).hexdigest()


def _optin_country_check(*, form: OptInForm, org: Organisation, phone: str) -> None:
    import phonenumbers

    accepted = form.countries or optin_default_countries(org)
    region = phonenumbers.region_code_for_number(phonenumbers.parse(phone))
    if region not in accepted:
        raise ValidationError(
            {
                "phone": [
                    _("This form accepts mobile numbers from %(countries)s only.")
                    % {"countries": ", ".join(accepted)}
                ]
            }
        )


def optin_request(*, org: Organisation, phone: str, first_name: str, ip_address: str | None) -> PendingOptIn:
    """First step of the double opt-in: keeps the request and sends a 6-digit code by SMS (transactional,
    through the gateway layer). Only a keyed hash of the code is stored.

    Each code is an SMS the shop pays for, asked by a stranger: the form must be on, the number of a
    country the form accepts, and neither the number (``OPTIN_CODES_PER_NUMBER_PER_DAY``) nor the form
    (its ``daily_cap``) may have had its codes of the last 24 hours. Reaching the cap alerts the owners
    and the platform operator, once a day."""
    from django.conf import settings

    form = optin_form_get(org=org)
    if not form.enabled:
        raise ValidationError(_("This sign-up form is closed."))
    e164 = phone_normalise(org=org, raw=phone)
    _optin_country_check(form=form, org=org, phone=e164)
    if is_suppressed(org, e164):
        # A number that said STOP receives nothing from us, not even a code: a stranger could type it in.
        # Its owner lifts the opt-out by replying START to one of the shop's messages.
        raise ValidationError(
            {
                "phone": [
                    _(
                        "This number asked us to stop sending SMS. "
                        "Reply START to one of our messages to subscribe again."
                    )
                ]
            }
        )
    per_number = int(settings.OPTIN_CODES_PER_NUMBER_PER_DAY)
    pending = None
    with transaction.atomic():
        # The form's row is the lock: two requests at once cannot both take the last code of a count.
        form = OptInForm.objects.select_for_update().get(pk=form.pk)
        recent = PendingOptIn.objects.filter(org=org, created_at__gte=timezone.now() - timedelta(days=1))
        if recent.filter(phone=e164).count() >= per_number:
            raise ValidationError(
                {
                    "phone": [
                        _(
                            "This number has already received %(count)s codes today. Use the last code "
                            "you received, or try again tomorrow."
                        )
                        % {"count": per_number}
                    ]
                }
            )
        if recent.count() < form.daily_cap:
            token = secrets.token_urlsafe(24)
            code = f"{secrets.randbelow(1_000_000):06d}"
            pending = PendingOptIn.objects.create(
                org=org,
                token=token,
                phone=e164,
                first_name=" ".join(str(first_name or "").split())[:100],
                code_hash=_code_hash(token, code),
                wording_version=form.version,
                ip_address=ip_address or None,
                expires_at=timezone.now() + OPTIN_CODE_LIFETIME,
            )
            _optin_code_send(org=org, phone=e164, code=code, pending=pending)
    if pending is None:
        _optin_cap_alert(org=org, form=form)
        raise ValidationError(_("This shop has received too many sign-ups today. Please try again tomorrow."))
    return pending


def _optin_cap_alert(*, org: Organisation, form: OptInForm) -> None:
    """Tells the owners and the platform operator that the form reached its daily cap: the first time of
    the day only (a pumping attack would otherwise flood their mailboxes too)."""
    from django.conf import settings
    from django.core.mail import send_mail
    from django.urls import reverse

    today = timezone.localdate()
    with transaction.atomic():
        first_today = (
            OptInForm.objects.filter(pk=form.pk).exclude(cap_alerted_on=today).update(cap_alerted_on=today)
        )
        if not first_today:
            return
        audit_record(
            org=org,
            actor=None,
            action="optin_form.daily_cap_reached",
            target=form,
            data={"daily_cap": form.daily_cap},
        )
    owners = Membership.objects.filter(org=org, role=Role.OWNER).values_list("user__email", flat=True)
    operators = [a if isinstance(a, str) else a[1] for a in settings.ADMINS] or list(
        User.objects.filter(is_superuser=True, is_active=True).values_list("email", flat=True)
    )
    recipients = sorted({e for e in [*owners, *operators] if e})
    if not recipients:
        return
    url = settings.SITE_URL.rstrip("/") + reverse("contacts:optin_settings")
    try:
        send_mail(
            subject=_("%(org)s: the opt-in form reached its daily limit") % {"org": org.name},
            message=_(
                "The public opt-in form of %(org)s has sent %(cap)s confirmation codes in the last 24 "
                "hours, its daily limit: new sign-ups are refused until the count goes down.\n\n"
                "If you did not expect so many sign-ups, someone may be sending SMS at your expense: "
                "turn the form off on %(url)s. The platform operator can change the limit.\n"
            )
            % {"org": org.name, "cap": form.daily_cap, "url": url},
            from_email=None,
            recipient_list=recipients,
        )
    except Exception:  # the refusal stands; a mail failure must not turn it into an error page
        logger.exception("Opt-in cap alert for organisation %s could not be sent", org.pk)


def _optin_code_send(*, org: Organisation, phone: str, code: str, pending: PendingOptIn) -> None:
    """Sends the double opt-in code as a transactional SMS through the gateway layer. It is charged like
    any SMS of the shop (hence the limits of :func:`optin_request`); a shop without credits gets a clear
    refusal instead of a silent drop."""
    body = _("Your %(brand)s confirmation code: %(code)s") % {"brand": org.display_brand, "code": code}
    try:
        sms_send_transactional(
            org=org, to=phone, body=body, reason="optin_code", idempotency_key=f"optin:{pending.token}"
        )
    except InsufficientCredits:
        raise ValidationError(
            {"phone": [_("This shop cannot send confirmation codes right now. Please try again later.")]}
        )


def optin_confirm(*, org: Organisation, token: str, code: str, ip_address: str | None) -> Contact:
    """Second step: a correct code proves the person holds the number, so the contact is created or
    updated with an ``opt_in`` proof (IP, time, wording version and text). A previous opt-out is lifted:
    this is the new, proven opt-in that docs/compliance.md, "Opt-out (STOP)", requires."""
    with transaction.atomic():
        pending = PendingOptIn.objects.select_for_update().filter(org=org, token=token).first()
        if pending is None or pending.confirmed_at or pending.expires_at < timezone.now():
            raise ValidationError(
                {"code": [_("This confirmation has expired. Please fill in the form again.")]}
            )
        if pending.attempts >= OPTIN_MAX_ATTEMPTS:
            raise ValidationError({"code": [_("Too many attempts. Please fill in the form again.")]})
        if not hmac.compare_digest(pending.code_hash, _code_hash(token, str(code or "").strip())):
            PendingOptIn.objects.filter(pk=pending.pk).update(attempts=pending.attempts + 1)
            wrong = True
        else:
            wrong = False
            PendingOptIn.objects.filter(pk=pending.pk).update(confirmed_at=timezone.now())
    if wrong:
        raise ValidationError({"code": [_("This code is not correct.")]})
    form = optin_form_get(org=org)
    wording = (
        ConsentWording.objects.filter(org=org, version=pending.wording_version)
        .values_list("text", flat=True)
        .first()
    )
    with transaction.atomic():
        contact = Contact.objects.filter(org=org, phone=pending.phone).first()
        if contact is None:
            contact = contact_create(org=org, actor=None, phone=pending.phone, first_name=pending.first_name)
        elif pending.first_name and not contact.first_name:
            contact_update(org=org, actor=None, contact=contact, first_name=pending.first_name)
        consent_record(
            org=org,
            actor=None,
            contact=contact,
            basis=ConsentBasis.OPT_IN,
            source=ConsentSource.WEB_FORM,
            wording_version=str(pending.wording_version),
            wording=wording or "",
            ip_address=ip_address or pending.ip_address,
            note=_("Double opt-in confirmed by SMS code"),
        )
        if contact.opted_out or suppressed_numbers(org, [contact.phone]):
            suppression_lift(
                org=org,
                phone_e164=contact.phone,
                source="web_form",
                actor=None,
                proof=f"web form double opt-in, wording v{pending.wording_version}, ip {ip_address or ''}",
            )
            Contact.objects.filter(org=org, pk=contact.pk).update(opted_out=False)
            contact.opted_out = False
        if form.contact_list_id:
            ListMembership.objects.bulk_create(
                [ListMembership(org=org, contact_list_id=form.contact_list_id, contact=contact)],
                ignore_conflicts=True,
            )
    return contact
