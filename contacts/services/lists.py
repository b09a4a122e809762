"""Static lists of contacts: the lists themselves and who is in them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from smsplatform.audit import audit_record
from smsplatform.models import Organisation

from ..models import ContactList, ListMembership
from .cleaning import unique_name_atomic
from .tags import _org_contact_ids


def _list_name_clean(name: str) -> str:
    name = " ".join(str(name or "").split())
    if not name:
        raise ValidationError({"name": [_("Give the list a name.")]})
    return name[:100]


def contact_list_create(*, org: Organisation, actor: Any, name: str, description: str = "") -> ContactList:
    """A new static list; names are unique per organisation."""
    name = _list_name_clean(name)
    with unique_name_atomic(_("A list with this name already exists.")):
        contact_list = ContactList.objects.create(org=org, name=name, description=(description or "")[:300])
        audit_record(
            org=org, actor=actor, action="contact_list.created", target=contact_list, data={"name": name}
        )
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
    with unique_name_atomic(_("A list with this name already exists.")):
        ContactList.objects.filter(org=org, pk=contact_list.pk).update(
            name=name, description=(description or "")[:300]
        )
        audit_record(
            org=org, actor=actor, action="contact_list.updated", target=contact_list, data={"name": name}
        )
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
