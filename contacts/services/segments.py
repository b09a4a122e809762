"""Saved segments: filters evaluated when used, validated here so that ``selectors.segment_contacts`` can
always compile a saved one."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from smsplatform.audit import audit_record
from smsplatform.models import Organisation

from ..models import ContactList, Gender, Segment
from .cleaning import attribute_key_clean, tags_clean, unique_name_atomic

_ATTRIBUTE_KEY = re.compile(r"^[a-z0-9](?:[a-z0-9]|_(?!_)){0,39}$")

# A filter's cleaner takes the value sent and the filters cleaned before it, and returns the canonical
# value (None drops the filter) and an error message (None when the value is fine).
FilterCleaner = Callable[..., tuple[Any, str | None]]


def _tags_filter_clean(value: Any, *, org: Organisation, out: dict) -> tuple[Any, str | None]:
    return tags_clean(value) or None, None


def _lists_filter_clean(value: Any, *, org: Organisation, out: dict) -> tuple[Any, str | None]:
    if not value:
        return None, None
    error = None
    try:
        wanted = {int(x) for x in value}
    except (TypeError, ValueError):
        wanted, error = set(), _("Unknown list.")
    found = set(ContactList.objects.filter(org=org, id__in=wanted).values_list("id", flat=True))
    if wanted - found:
        error = _("Unknown list.")
    return sorted(found), error


def _text_filter_clean(value: Any, *, org: Organisation, out: dict) -> tuple[Any, str | None]:
    text = " ".join(str(value or "").split())
    return text[:100] or None, None


def _gender_filter_clean(value: Any, *, org: Organisation, out: dict) -> tuple[Any, str | None]:
    if not value:
        return None, None
    return value, None if value in Gender.values else _("Unknown gender.")


def _age_filter_clean(value: Any, *, org: Organisation, out: dict) -> tuple[Any, str | None]:
    if value in (None, ""):
        return None, None
    try:
        age = int(value)
        if not 0 <= age <= 130:
            raise ValueError
    except (TypeError, ValueError):
        return None, _("Enter an age between 0 and 130.")
    return age, None


def _age_max_filter_clean(value: Any, *, org: Organisation, out: dict) -> tuple[Any, str | None]:
    age, error = _age_filter_clean(value, org=org, out=out)
    if age is not None and "age_min" in out and out["age_min"] > age:
        error = _("The maximum age is below the minimum age.")
    return age, error


def _attributes_filter_clean(value: Any, *, org: Organisation, out: dict) -> tuple[Any, str | None]:
    rules, error = [], None
    for rule in value or []:
        if not isinstance(rule, dict):
            error = _("Invalid attribute filter.")
            continue
        key = attribute_key_clean(rule.get("key", ""))
        op = rule.get("op") or "equals"
        text = str(rule.get("value") or "")
        if not key or not _ATTRIBUTE_KEY.match(key) or op not in ("equals", "contains"):
            error = _("Invalid attribute filter.")
            continue
        rules.append({"key": key, "op": op, "value": text[:200]})
    return rules or None, error


def _created_since_filter_clean(value: Any, *, org: Organisation, out: dict) -> tuple[Any, str | None]:
    if not value:
        return None, None
    try:
        day = value if isinstance(value, date) else date.fromisoformat(str(value))
    except ValueError:
        return None, _("Enter a valid date.")
    return day.isoformat(), None


# In this order: the maximum age is checked against the minimum age cleaned before it.
_FILTER_CLEANERS: dict[str, FilterCleaner] = {
    "tags": _tags_filter_clean,
    "lists": _lists_filter_clean,
    "postal_code_prefix": _text_filter_clean,
    "city": _text_filter_clean,
    "gender": _gender_filter_clean,
    "age_min": _age_filter_clean,
    "age_max": _age_max_filter_clean,
    "attributes": _attributes_filter_clean,
    "created_since": _created_since_filter_clean,
}
SEGMENT_KEYS = set(_FILTER_CLEANERS)


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
    for key, clean in _FILTER_CLEANERS.items():
        value, error = clean(filters.get(key), org=org, out=out)
        if value is not None:
            out[key] = value
        if error:
            errors[key] = [error]
    if errors:
        raise ValidationError(errors)
    return out


def _segment_clean(*, org: Organisation, name: str, filters: dict | None) -> tuple[str, dict[str, Any]]:
    name = " ".join(str(name or "").split())[:100]
    if not name:
        raise ValidationError({"name": [_("Give the segment a name.")]})
    return name, segment_filters_clean(org=org, filters=filters)


def segment_create(*, org: Organisation, actor: Any, name: str, filters: dict | None) -> Segment:
    """A saved filter usable as a campaign audience."""
    name, clean = _segment_clean(org=org, name=name, filters=filters)
    with unique_name_atomic(_("A segment with this name already exists.")):
        segment = Segment.objects.create(org=org, name=name, filters=clean)
        audit_record(org=org, actor=actor, action="segment.created", target=segment, data={"name": name})
    return segment


def segment_update(
    *, org: Organisation, actor: Any, segment: Segment, name: str, filters: dict | None
) -> Segment:
    """Changes a segment's name or filters; campaigns already launched keep their frozen audience."""
    name, clean = _segment_clean(org=org, name=name, filters=filters)
    with unique_name_atomic(_("A segment with this name already exists.")):
        Segment.objects.filter(org=org, pk=segment.pk).update(
            name=name, filters=clean, updated_at=timezone.now()
        )
        audit_record(org=org, actor=actor, action="segment.updated", target=segment, data={"name": name})
    segment.name, segment.filters = name, clean
    return segment


@transaction.atomic
def segment_delete(*, org: Organisation, actor: Any, segment: Segment) -> None:
    """Deletes a saved segment (the contacts stay)."""
    audit_record(org=org, actor=actor, action="segment.deleted", target=segment, data={"name": segment.name})
    Segment.objects.filter(org=org, pk=segment.pk).delete()
