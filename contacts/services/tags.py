"""Tags on contacts, one at a time or in bulk."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from smsplatform.audit import audit_record
from smsplatform.models import Organisation

from ..models import Contact, ContactTag, Tag
from .cleaning import tags_clean


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
