"""Which merge fields a body may use, their French aliases, and the refusal of the others.

An unknown field used to render as empty text ("Bonjour , ..."), which a shop owner only discovers on
the customers' phones. Now a body is checked when a campaign or a template is saved: each field must be
a contact field, a French alias of one (owners type ``{prenom}``), or a custom attribute that at least
one of the organisation's contacts has. The refusal names the closest known field.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from contacts.selectors import contact_attribute_exists
from smsplatform.models import Organisation

from .rendering import CONTACT_FIELDS, FIELD_ALIASES, merge_fields


@dataclass(frozen=True, slots=True)
class UnknownField:
    name: str
    suggestion: str | None


def unknown_fields(body: str, *, attribute_exists: Callable[[str], bool]) -> list[UnknownField]:
    """The fields of ``body`` that would render empty for every contact, each with its closest known
    name. ``attribute_exists(name)`` answers whether some contact of the organisation has that attribute
    (asked only for names that are neither fields nor aliases)."""
    unknown = []
    for name in merge_fields(body):
        if name in CONTACT_FIELDS or name.lower() in FIELD_ALIASES or attribute_exists(name):
            continue
        unknown.append(UnknownField(name, _suggestion(name)))
    return unknown


def _suggestion(name: str) -> str | None:
    lowered = name.lower()
    if lowered in CONTACT_FIELDS:
        return lowered
    candidates = [*CONTACT_FIELDS, *FIELD_ALIASES]
    close = difflib.get_close_matches(lowered, candidates, n=1, cutoff=0.6)
    if not close:
        return None
    return FIELD_ALIASES.get(close[0], close[0])


def known_fields_label() -> str:
    """The list a refusal offers: the fields and, in brackets, their French aliases."""
    aliases: dict[str, list[str]] = {}
    for alias, field in FIELD_ALIASES.items():
        aliases.setdefault(field, []).append(alias)
    return ", ".join(
        f"{{{field}}}"
        + (f" ({', '.join('{' + a + '}' for a in aliases[field])})" if field in aliases else "")
        for field in CONTACT_FIELDS
    )


def merge_fields_check(body: str, *, attribute_exists: Callable[[str], bool]) -> None:
    """Raises a ``ValidationError`` (code ``unknown_merge_field``) naming every unknown field of ``body``,
    with a suggestion where one is close, and the fields that may be used."""
    unknown = unknown_fields(body, attribute_exists=attribute_exists)
    if not unknown:
        return
    parts = []
    for field in unknown:
        if field.suggestion:
            parts.append(
                _("{%(name)s} is not a field (did you mean {%(suggestion)s}?)")
                % {"name": field.name, "suggestion": field.suggestion}
            )
        else:
            parts.append(_("{%(name)s} is not a field") % {"name": field.name})
    message = _(
        "%(problems)s. It would be sent as empty text. Fields you can use: %(known)s, or the name of a "
        "custom attribute of your contacts."
    ) % {"problems": "; ".join(parts), "known": known_fields_label()}
    raise ValidationError(message, code="unknown_merge_field")


def merge_field_errors(org: Organisation, body: str) -> dict[str, list[str]]:
    """``{"body": [message]}`` when ``body`` uses a field none of the organisation's contacts has: what
    the campaign and template services add to their field errors."""
    try:
        merge_fields_check(body, attribute_exists=lambda name: contact_attribute_exists(org, name))
    except ValidationError as exc:
        return {"body": exc.messages}
    return {}
