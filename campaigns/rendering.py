"""What each recipient receives: merge fields, the STOP mention, smart encoding, segments and credits.

Pure functions (no query): the launch, the estimate and the composer's counter call them per recipient,
so cost is counted after rendering, per recipient (docs/compliance.md, "Encoding and segments").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from compliance.encoding import GSM7, UCS2, count_segments, is_gsm7, smart_encode, transliterate
from compliance.senders import ensure_stop_mention

# ``{first_name}``, ``{first_name|client}`` (fallback when empty), ``{city}``, ``{loyalty_points}``.
MERGE_FIELD_RE = re.compile(r"\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\|([^{}]*))?\}")
CONTACT_FIELDS = ("first_name", "last_name", "city", "postal_code", "email", "phone")
# What owners type in French; a custom attribute of the same name wins over the alias.
FIELD_ALIASES = {
    "prenom": "first_name",
    "nom": "last_name",
    "ville": "city",
    "code_postal": "postal_code",
    "cp": "postal_code",
    "mail": "email",
    "courriel": "email",
    "telephone": "phone",
    "tel": "phone",
    "portable": "phone",
}


def merge_fields(body: str) -> list[str]:
    """The field names a body uses, in order of first use (the composer lists them)."""
    return list(dict.fromkeys(m.group(1) for m in MERGE_FIELD_RE.finditer(body or "")))


def render(body: str, values: Mapping[str, Any], *, transliterate_values: bool = False) -> str:
    """Replaces each merge field by the recipient's value, or its fallback, or nothing.

    ``values`` holds the contact's fields and its custom attributes (fields win on a name clash); a
    French alias (``{prenom}``) reads its field. Saving refuses unknown fields (campaigns.merge_fields);
    one that still gets here renders empty rather than leaking ``{...}`` to a customer's phone. With
    ``transliterate_values`` (the campaign's choice), the values' letters outside GSM-7 are transliterated
    (Noël -> Noel); the author's own words, fallbacks included, are never changed.
    """
    if "{" not in body:
        return body

    def replace(match: re.Match) -> str:
        name = match.group(1)
        value = values.get(name)
        if value is None and name.lower() in FIELD_ALIASES:
            value = values.get(FIELD_ALIASES[name.lower()])
        text = "" if value is None else str(value).strip()
        if not text:
            return (match.group(2) or "").strip()
        return transliterate(text) if transliterate_values else text

    return MERGE_FIELD_RE.sub(replace, body)


def contact_values(row: Mapping[str, Any]) -> dict[str, Any]:
    """Merge values of a contact loaded with ``values()`` (attributes first, then the fixed fields)."""
    values: dict[str, Any] = {}
    attributes = row.get("attributes")
    if isinstance(attributes, dict):
        values.update(attributes)
    for name in CONTACT_FIELDS:
        if name in row:
            values[name] = row[name]
    return values


def prepare_body(body: str, *, marketing: bool, stop_mention: str) -> str:
    """The campaign's body before personalisation: the STOP mention appended when missing (marketing)."""
    body = (body or "").strip()
    if marketing:
        body = ensure_stop_mention(body, stop_mention)
    return body


@dataclass(frozen=True, slots=True)
class Rendered:
    body: str
    encoding: str
    segments: int


def render_for(
    template: str, values: Mapping[str, Any], *, smart: bool, transliterate_values: bool = False
) -> Rendered:
    """The text one recipient gets, its encoding and its segments (the hot path of a launch)."""
    text = render(template, values, transliterate_values=transliterate_values)
    if smart:
        text = smart_encode(text)
    return Rendered(text, GSM7 if is_gsm7(text) else UCS2, count_segments(text))
