"""Reads of the contacts module; ``org`` first, querysets that callers can paginate, no per-row queries."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Any

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from compliance.models import phone_hash
from compliance.selectors import suppression_list
from smsplatform.models import Organisation

from .models import (
    ConsentProof,
    Contact,
    ContactList,
    ContactTag,
    ImportJob,
    ListMembership,
    Segment,
    Tag,
)

_PHONEISH = re.compile(r"^[\d\s+().-]{3,}$")


def with_tags(queryset: QuerySet[Contact]) -> QuerySet[Contact]:
    """Prefetches the tag names of a page of contacts in ONE extra query (``contact.tag_names``)."""
    return queryset.prefetch_related(
        Prefetch(
            "contact_tags",
            queryset=ContactTag.objects.select_related("tag").order_by("tag__name"),
            to_attr="tag_rows",
        )
    )


def tag_names(contact: Contact) -> list[str]:
    """Names of a contact's tags, from the prefetch of :func:`with_tags` when there was one."""
    rows = getattr(contact, "tag_rows", None)
    if rows is None:
        rows = (
            ContactTag.objects.filter(org_id=contact.org_id, contact=contact)
            .select_related("tag")
            .order_by("tag__name")
        )
    return [row.tag.name for row in rows]


def _phone_prefix(org: Organisation, text: str) -> str | None:
    """The E.164 prefix a partial number typed in the search box stands for ("06 12" -> "+33612")."""
    digits = re.sub(r"[^\d+]", "", text)
    if not digits or len(digits.lstrip("+")) < 2:
        return None
    if digits.startswith("+"):
        return digits
    if digits.startswith("00"):
        return "+" + digits[2:]
    import phonenumbers

    code = phonenumbers.country_code_for_region(org.country or "FR")
    if digits.startswith("0") and code:
        return f"+{code}{digits[1:]}"
    return f"+{code}{digits}" if code else None


def contacts_filtered(
    org: Organisation,
    *,
    search: str = "",
    tag: str = "",
    list_id: Any = None,
    opted_out: bool | None = None,
    queryset: QuerySet[Contact] | None = None,
) -> QuerySet[Contact]:
    """The contact list with its filters, newest first: ``search`` (name prefix or number prefix),
    ``tag`` (name), ``list_id``, ``opted_out``. Indexed for an organisation with a million contacts;
    callers paginate without counting everything."""
    qs = (queryset if queryset is not None else Contact.objects.all()).filter(org=org)
    search = (search or "").strip()
    if search:
        prefix = _phone_prefix(org, search) if _PHONEISH.match(search) else None
        if prefix:
            qs = qs.filter(phone__startswith=prefix)
        else:
            words = search.split()
            cond = Q()
            for word in words[:3]:
                cond &= (
                    Q(first_name__istartswith=word)
                    | Q(last_name__istartswith=word)
                    | Q(email__istartswith=word)
                )
            qs = qs.filter(cond)
    if tag:
        qs = qs.filter(
            Exists(
                ContactTag.objects.filter(
                    org=org, contact_id=OuterRef("pk"), tag__org=org, tag__name__iexact=tag
                )
            )
        )
    if list_id not in (None, ""):
        try:
            list_pk = int(list_id)
        except (TypeError, ValueError):
            return qs.none()
        qs = qs.filter(
            Exists(ListMembership.objects.filter(org=org, contact_list_id=list_pk, contact_id=OuterRef("pk")))
        )
    if opted_out is not None:
        qs = qs.filter(opted_out=opted_out)
    return qs.order_by("-id")


def contact_detail(org: Organisation, pk: Any) -> Contact | None:
    try:
        return with_tags(Contact.objects.filter(org=org, pk=int(pk))).first()
    except (TypeError, ValueError):
        return None


def contact_consent_history(org: Organisation, contact: Contact) -> QuerySet[ConsentProof]:
    return ConsentProof.objects.filter(org=org, contact=contact).order_by("-collected_at", "-id")


def contact_lists_of(org: Organisation, contact: Contact) -> QuerySet[ContactList]:
    return ContactList.objects.filter(org=org, memberships__contact=contact, memberships__org=org).order_by(
        "name"
    )


def contact_attribute_exists(org: Organisation, name: str) -> bool:
    """Whether some contact of the organisation has the custom attribute ``name``: a merge field may
    only use an attribute that exists (campaigns.merge_fields)."""
    return Contact.objects.filter(org=org, attributes__has_key=name).exists()


def org_tags(org: Organisation) -> QuerySet[Tag]:
    return Tag.objects.filter(org=org).order_by("name")


def org_lists(org: Organisation) -> QuerySet[ContactList]:
    return ContactList.objects.filter(org=org).order_by("name")


def org_lists_with_counts(org: Organisation) -> QuerySet[ContactList]:
    """Lists with their number of contacts (one grouped query; a list is small next to all contacts)."""
    return org_lists(org).annotate(contact_count=Count("memberships"))


def org_segments(org: Organisation) -> QuerySet[Segment]:
    return Segment.objects.filter(org=org).order_by("name")


def contacts_with_phones_count(org: Organisation, phones: list[str]) -> int:
    """How many of these E.164 numbers are already contacts of the organisation. On PostgreSQL the
    numbers go as one array parameter (``= ANY``): 100,000 of them take 0.2 s in one query, against
    0.7 s or more as ``IN`` lists. SQLite (``make run``) takes them in batches, under its parameter cap."""
    if not phones:
        return 0
    contacts = Contact.objects.filter(org=org)
    if connection.vendor == "postgresql":
        # extra() because Django has no ``= ANY(array)`` lookup; the organisation filter stays the ORM's.
        return contacts.extra(where=["phone = ANY(%s)"], params=[list(phones)]).count()
    return sum(contacts.filter(phone__in=phones[i : i + 500]).count() for i in range(0, len(phones), 500))


def contacts_count_capped(org: Organisation, cap: int = 100_000) -> tuple[int, bool]:
    """How many contacts an organisation has, counting at most ``cap`` rows (the dashboard must stay
    cheap with a million). Returns (count, whether there are more)."""
    n = Contact.objects.filter(org=org).values("id")[: cap + 1].count()
    return (min(n, cap), n > cap)


# --- segments and audiences -------------------------------------------------------------------------


def _years_ago(today: date, years: int) -> date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def segment_condition(org: Organisation, filters: dict[str, Any]) -> Q:
    """The WHERE clause of a segment's (cleaned) filters on Contact, usable alone or OR-ed with others."""
    cond = Q()
    if filters.get("tags"):
        names = filters["tags"]
        tag_q = Q()
        for name in names:
            tag_q |= Q(tag__name__iexact=name)
        cond &= Q(Exists(ContactTag.objects.filter(tag_q, org=org, contact_id=OuterRef("pk"))))
    if filters.get("lists"):
        cond &= Q(
            Exists(
                ListMembership.objects.filter(
                    org=org, contact_list_id__in=filters["lists"], contact_id=OuterRef("pk")
                )
            )
        )
    if filters.get("postal_code_prefix"):
        cond &= Q(postal_code__startswith=filters["postal_code_prefix"])
    if filters.get("city"):
        cond &= Q(city__iexact=filters["city"])
    if filters.get("gender"):
        cond &= Q(gender=filters["gender"])
    today = timezone.localdate()
    if filters.get("age_min") is not None:
        cond &= Q(birth_date__lte=_years_ago(today, int(filters["age_min"])))
    if filters.get("age_max") is not None:
        # Younger than age_max + 1 years: born after that date.
        cond &= Q(birth_date__gt=_years_ago(today, int(filters["age_max"]) + 1))
    for rule in filters.get("attributes") or []:
        key = rule["key"]
        if "__" in key or not key:
            continue
        # The text lookups (->> on PostgreSQL, json_extract on SQLite) match numbers stored as JSON too.
        lookup = "iexact" if rule["op"] == "equals" else "icontains"
        cond &= Q(**{f"attributes__{key}__{lookup}": rule["value"]})
    if filters.get("created_since"):
        since = date.fromisoformat(filters["created_since"])
        cond &= Q(created_at__date__gte=since)
    return cond


def segment_contacts(org: Organisation, filters: dict[str, Any]) -> QuerySet[Contact]:
    """The contacts matching a segment's filters (validate them first with
    ``services.segment_filters_clean``)."""
    return Contact.objects.filter(segment_condition(org, filters), org=org)


def segment_count(org: Organisation, filters: dict[str, Any]) -> int:
    """Live count shown while a segment is edited."""
    return segment_contacts(org, filters).count()


def audience_condition(org: Organisation, list_ids: Iterable[int] = (), segment_ids: Iterable[int] = ()) -> Q:
    """The condition on ``Contact`` of being in any of the lists or segments (ids of other organisations'
    lists or segments match nothing). Filter the organisation's contacts with it directly: one scan,
    where ``id__in`` a subquery of the same table scanned the contacts twice (one query to load the
    segments' filters)."""
    list_ids = [int(x) for x in list_ids]
    segment_ids = [int(x) for x in segment_ids]
    cond = Q(pk__in=[])
    if list_ids:
        cond |= Q(
            Exists(
                ListMembership.objects.filter(
                    org=org, contact_list_id__in=list_ids, contact_id=OuterRef("pk")
                )
            )
        )
    if segment_ids:
        for filters in Segment.objects.filter(org=org, id__in=segment_ids).values_list("filters", flat=True):
            cond |= segment_condition(org, filters or {})
    return cond


def audience_contacts(
    org: Organisation, list_ids: Iterable[int] = (), segment_ids: Iterable[int] = ()
) -> QuerySet[Contact]:
    """The organisation's contacts in any of the lists or segments, each once
    (:func:`audience_condition`)."""
    return Contact.objects.filter(audience_condition(org, list_ids, segment_ids), org=org)


def audience_contact_ids(
    org: Organisation,
    list_ids: Iterable[int] = (),
    segment_ids: Iterable[int] = (),
    *,
    exclude_opted_out: bool = False,
) -> QuerySet:
    """Ids of the contacts in any of the lists or segments (the union, each contact once), as a lazy
    ``values_list("id", flat=True)`` queryset ordered by id: iterate it in batches, or use it as a
    subquery (``contact_id__in=...``). Ids of other organisations' lists or segments are ignored.

    Opted-out contacts are included unless ``exclude_opted_out``: the campaign pipeline keeps them so that
    the compliance gate blocks them with a reason the report can show. The consent basis is not
    filtered either, for the same reason. One query when evaluated (plus one to load the segments).
    """
    qs = audience_contacts(org, list_ids, segment_ids)
    if exclude_opted_out:
        qs = qs.filter(opted_out=False)
    return qs.order_by("id").values_list("id", flat=True)


# --- imports ----------------------------------------------------------------------------------------


def org_import_jobs(org: Organisation) -> QuerySet[ImportJob]:
    return ImportJob.objects.filter(org=org).select_related("contact_list").order_by("-created_at", "-id")


# --- GDPR -------------------------------------------------------------------------------------------


def contact_personal_data(org: Organisation, contact: Contact) -> dict[str, Any]:
    """Everything held about a contact, JSON-ready: fields, tags, lists, consent proofs, opt-out."""
    suppression = suppression_list(org).filter(phone_hash=phone_hash(contact.phone)).first()
    return {
        "contact": {
            "id": contact.pk,
            "phone": contact.phone,
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "email": contact.email,
            "gender": contact.gender,
            "birth_date": contact.birth_date.isoformat() if contact.birth_date else None,
            "postal_code": contact.postal_code,
            "city": contact.city,
            "attributes": contact.attributes,
            "region": contact.region,
            "timezone": contact.timezone,
            "created_at": contact.created_at.isoformat(),
            "updated_at": contact.updated_at.isoformat(),
        },
        "tags": tag_names(contact),
        "lists": list(contact_lists_of(org, contact).values_list("name", flat=True)),
        "consent": {
            "basis": contact.consent_basis,
            "source": contact.consent_source,
            "collected_at": contact.consent_collected_at.isoformat()
            if contact.consent_collected_at
            else None,
        },
        "consent_proofs": [
            {
                "basis": p.basis,
                "source": p.source,
                "collected_at": p.collected_at.isoformat(),
                "wording_version": p.wording_version,
                "wording": p.wording,
                "ip_address": p.ip_address,
                "import_job": p.import_job_id,
                "note": p.note,
                "recorded_by": p.recorded_by_label,
            }
            for p in contact_consent_history(org, contact)
        ],
        "opt_out": (
            {
                "opted_out": True,
                "source": suppression.source,
                "created_at": suppression.created_at.isoformat(),
            }
            if suppression
            else {"opted_out": False}
        ),
        "exported_at": timezone.now().isoformat(),
        "controller": org.legal_name or org.name,
    }
