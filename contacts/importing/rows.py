"""Turning one mapped row of an import file into contact data, or the reason it is rejected.

Only the phone decides whether a row is imported: the number is the contact. Every other field is
best-effort, because rejecting a customer over a typo in an email would lose a reachable, consenting
contact: a bad email or birth date is dropped with a warning the report can show.

An empty cell gives "" (or None for the birth date): the import job must read that as "nothing to say",
never as "erase what we have".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.utils.translation import gettext_lazy as _

from .phones import PHONE_ERROR_MESSAGES, normalise_phone

# Aligned with the contact model; longer values are cut (with a warning) rather than failing a whole
# bulk insert at the database.
MAX_LENGTHS = {
    "first_name": 100,
    "last_name": 100,
    "email": 254,
    "postal_code": 16,
    "city": 100,
    "tag": 50,
    "attribute_name": 100,
    "attribute_value": 500,
}
MAX_TAGS = 50
OLDEST_BIRTH_DATE = date(1900, 1, 1)
# Excel's day 0; 1900-02-29 (serial 60) does not exist but Excel counts it, hence 30 Dec, not 31.
EXCEL_EPOCH = date(1899, 12, 30)
TAG_SEPARATORS = re.compile(r"[,;|]")

ROW_ERROR_MESSAGES: dict[str, Any] = {
    "missing_phone": _("The phone number is missing."),
    "invalid_phone": _("This is not a valid phone number."),
    "not_mobile": PHONE_ERROR_MESSAGES["not_mobile"],
    "phone_too_short": PHONE_ERROR_MESSAGES["too_short"],
    "phone_too_long": PHONE_ERROR_MESSAGES["too_long"],
    "invalid_country_code": PHONE_ERROR_MESSAGES["invalid_country_code"],
    "excel_damaged": PHONE_ERROR_MESSAGES["excel_damaged"],
}
ROW_WARNING_MESSAGES: dict[str, Any] = {
    "invalid_email": _("The email address is not valid: it was not imported."),
    "invalid_birth_date": _("The birth date is not a valid date: it was not imported."),
    "invalid_gender": _("The title or gender is not recognised: it was not imported."),
    "truncated": _("The value was too long and was shortened."),
}
_PHONE_TO_ROW_ERROR = {
    "empty": "missing_phone",
    "invalid": "invalid_phone",
    "not_mobile": "not_mobile",
    "too_short": "phone_too_short",
    "too_long": "phone_too_long",
    "invalid_country_code": "invalid_country_code",
    "excel_damaged": "excel_damaged",
}

_GENDERS = {
    **dict.fromkeys(("mme", "madame", "mlle", "mademoiselle", "melle", "f", "femme", "female", "woman", "w",
                     "mrs", "ms", "miss", "mm"), "F"),
    **dict.fromkeys(("m", "monsieur", "mr", "h", "homme", "male", "man", "sir", "mister"), "M"),
}  # fmt: skip
_EMAIL = re.compile(r"[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\".]{2,}")
_DMY = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})")
_YMD = re.compile(r"(\d{4})[/.\-](\d{1,2})[/.\-](\d{1,2})")
# Five digits only: 10000 is 1927-05-18, and a four-digit value is far more likely a bare year (1990).
_SERIAL = re.compile(r"(\d{5})(?:[.,]0+)?")
_WHITESPACE = re.compile(r"\s+")
_NEEDS_COLLAPSE = re.compile(r"\s\s|[^\S ]")  # two blanks in a row, or a tab, newline, no-break space
_DANGEROUS_AFTER_QUOTE = ("'=", "'+", "'-", "'@", "'\t", "'\r")


@dataclass(frozen=True, slots=True)
class RowWarning:
    """A field that was dropped or altered; the row itself is imported."""

    field: str
    code: str

    @property
    def message(self) -> str:
        return ROW_WARNING_MESSAGES[self.code]


@dataclass(slots=True)
class CleanRow:
    """Contact data from one row. Empty string (None for birth_date) means the cell said nothing."""

    phone_e164: str
    region: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    gender: str = ""
    birth_date: date | None = None
    postal_code: str = ""
    city: str = ""
    tags: list[str] = field(default_factory=list)
    attributes: dict[str, str] = field(default_factory=dict)
    warnings: list[RowWarning] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RowError:
    """Why a row cannot be imported. `reason` is a stable code (reports group by it)."""

    reason: str
    field: str = "phone"
    value: str = ""

    @property
    def message(self) -> str:
        return ROW_ERROR_MESSAGES[self.reason]


def clean_row(
    mapped: dict[str, str],
    default_region: str = "FR",
    *,
    keep_unmapped: dict[str, str] | None = None,
    today: date | None = None,
) -> CleanRow | RowError:
    """Cleans one row given as {contact field: raw cell}; returns a CleanRow or a RowError.

    `keep_unmapped` holds the columns the owner chose to keep as free attributes ({header: raw cell}).
    `today` bounds birth dates (a birth date in the future is a typo); tests pass it for determinism.
    """
    raw_phone = mapped.get("phone") or ""
    phone = normalise_phone(raw_phone, default_region)
    if phone.error is not None:
        return RowError(_PHONE_TO_ROW_ERROR.get(phone.error, "invalid_phone"), "phone", raw_phone.strip())

    warnings: list[RowWarning] = []
    row = CleanRow(phone_e164=phone.e164, region=phone.region)  # type: ignore[arg-type]
    get = mapped.get
    if value := get("first_name"):
        row.first_name = _text(value, "first_name", warnings)
    if value := get("last_name"):
        row.last_name = _text(value, "last_name", warnings)
    if value := get("email"):
        row.email = _email(value, warnings)
    if value := get("gender"):
        row.gender = _gender(value, warnings)
    if value := get("birth_date"):
        row.birth_date = _birth_date(value, today or date.today(), warnings)
    if value := get("postal_code"):
        row.postal_code = _postal_code(value, phone.region, default_region, warnings)
    if value := get("city"):
        row.city = _text(value, "city", warnings)
    if value := get("tags"):
        row.tags = split_tags(value)
    if keep_unmapped:
        row.attributes = _attributes(keep_unmapped, warnings)
    row.warnings = warnings
    return row


def clean_text(value: str) -> str:
    """NFC, whitespace collapsed, our own export's formula-neutralising apostrophe removed."""
    if value.isascii():
        if value.isalnum():
            return value  # "Paris", "75011": most cells, returned without any further work
    elif not unicodedata.is_normalized("NFC", value):
        value = unicodedata.normalize("NFC", value)
    value = value.strip()
    if value[:2] == '="' and value[-1:] == '"' and len(value) > 2:
        value = value[2:-1].strip()  # round trip of csvsafe.spreadsheet_cell: '="01000"' was "01000"
    elif value[:1] == "'" and value.startswith(_DANGEROUS_AFTER_QUOTE):
        value = value[1:]  # round trip of csvsafe.safe_cell: "'=Dupont" was exported from "=Dupont"
    if _NEEDS_COLLAPSE.search(value):
        value = _WHITESPACE.sub(" ", value).strip()
    return value


def _text(value: str, name: str, warnings: list[RowWarning]) -> str:
    return _limit(clean_text(value), name, warnings)


def _limit(value: str, name: str, warnings: list[RowWarning]) -> str:
    limit = MAX_LENGTHS[name]
    if len(value) > limit:
        warnings.append(RowWarning(name, "truncated"))
        return value[:limit].rstrip()
    return value


def _email(value: str, warnings: list[RowWarning]) -> str:
    value = clean_text(value).removeprefix("mailto:")
    if not value:
        return ""
    if len(value) > MAX_LENGTHS["email"] or not _EMAIL.fullmatch(value):
        warnings.append(RowWarning("email", "invalid_email"))
        return ""
    local, _at, domain = value.rpartition("@")
    # The domain is case-insensitive; the local part formally is not, so it is kept as written.
    return f"{local}@{domain.lower()}"


def parse_gender(value: str) -> str | None:
    """'F', 'M', '' (explicitly neither, e.g. 'M. et Mme') or None (not recognised)."""
    key = clean_text(value).casefold().strip(" .")
    if not key:
        return ""
    if key in _GENDERS:
        return _GENDERS[key]
    key = key.replace(".", "")
    if key in _GENDERS:
        return _GENDERS[key]
    if " et " in key or " and " in key or "&" in key:
        return ""  # a couple: neither
    return None


def _gender(value: str, warnings: list[RowWarning]) -> str:
    gender = parse_gender(value)
    if gender is None:
        warnings.append(RowWarning("gender", "invalid_gender"))
        return ""
    return gender


def parse_date(value: str) -> date | None:
    """Reads dd/mm/yyyy, dd-mm-yyyy, dd.mm.yy, yyyy-mm-dd (with a time, from XLSX) or an Excel serial.

    Day first, as in France; a date only readable month first (12/25/1990) is taken as such, since it is
    unambiguous. Two-digit years are never in the future.
    """
    text = value.strip()
    if not text:
        return None
    candidate = text.split("T")[0].split(" ")[0]
    try:
        if match := _YMD.fullmatch(candidate):
            y, m, d = (int(g) for g in match.groups())
            return date(y, m, d)
        if match := _DMY.fullmatch(candidate):
            d, m, y = (int(g) for g in match.groups())
            if len(match.group(3)) == 2:
                y += 2000 if 2000 + y <= date.today().year else 1900
            if m > 12 >= d:
                d, m = m, d
            return date(y, m, d)
        if match := _SERIAL.fullmatch(text):
            return EXCEL_EPOCH + timedelta(days=int(match.group(1)))
    except (ValueError, OverflowError):
        return None
    return None


def _birth_date(value: str, today: date, warnings: list[RowWarning]) -> date | None:
    parsed = parse_date(value)
    if parsed is None or not OLDEST_BIRTH_DATE <= parsed <= today:
        warnings.append(RowWarning("birth_date", "invalid_birth_date"))
        return None
    return parsed


def _postal_code(value: str, region: str, default_region: str, warnings: list[RowWarning]) -> str:
    code = clean_text(value).upper()
    if code.endswith(".0") and code[:-2].isdigit():
        code = code[:-2]  # an XLSX numeric cell read through a float
    # Excel drops the leading zero of 01000 (Ain) to 09999 (Ariège): restore it for French contacts. The
    # phone's region decides (a Belgian 1000 is Brussels); overseas codes are 97xxx and unaffected.
    if len(code) == 4 and code.isdigit() and (region == "FR" or (region is None and default_region == "FR")):
        code = "0" + code
    return _limit(code, "postal_code", warnings)


def split_tags(value: str) -> list[str]:
    """'VIP, fidèle;Noël|vip' -> ['VIP', 'fidèle', 'Noël']: order kept, duplicates (any case) dropped."""
    tags: list[str] = []
    seen: set[str] = set()
    for part in TAG_SEPARATORS.split(value):
        tag = clean_text(part)[: MAX_LENGTHS["tag"]].strip()
        key = tag.casefold()
        if tag and key not in seen:
            seen.add(key)
            tags.append(tag)
            if len(tags) >= MAX_TAGS:
                break
    return tags


def _attributes(columns: dict[str, str], warnings: list[RowWarning]) -> dict[str, str]:
    attributes: dict[str, str] = {}
    for name, raw in columns.items():
        value = clean_text(raw) if raw else ""
        if not value:
            continue  # an empty cell says nothing: it must not erase a stored attribute
        key = clean_text(name)[: MAX_LENGTHS["attribute_name"]]
        attributes[key] = _limit(value, "attribute_value", warnings)
    return attributes
