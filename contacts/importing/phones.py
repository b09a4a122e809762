"""Phone number normalisation for imports: whatever a till, a loyalty app or Excel wrote, to E.164.

A contact is only worth importing if it can receive an SMS, so a number must be valid and mobile
(MOBILE, or FIXED_LINE_OR_MOBILE in the NANP where numbering does not tell them apart). The region comes
from `phonenumbers.region_code_for_number`, which the compliance gate uses for time zones and holidays:
overseas departments written nationally (`0692...`) must therefore end up as RE, not as an invalid FR.

Speed matters (an import runs this a million times): results are cached per raw string, and the usual
case, a well-formed mobile of a single-region country such as France, is checked against the compiled
metadata patterns without going through `phonenumbers.parse` (about 10x faster). Tests pin that the fast
path agrees with the slow one.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import NamedTuple

import phonenumbers
from django.utils.translation import gettext_lazy as _
from phonenumbers import NumberParseException, PhoneNumberType, ValidationResult

PHONE_ERROR_MESSAGES = {
    "empty": _("The phone number is missing."),
    "invalid": _("This is not a valid phone number."),
    "not_mobile": _("This number cannot receive SMS (landline or special number)."),
    "too_short": _("The phone number is too short."),
    "too_long": _("The phone number is too long."),
    "invalid_country_code": _("The country code of this phone number does not exist."),
    "excel_damaged": _(
        "Excel rounded this number (scientific notation such as 3.36123E+11): its last digits are lost."
    ),
}

# Regions that share France's national format (trunk prefix 0, ten digits). A number written nationally
# in a file from a Réunion shop may be mainland, and the reverse: try the whole family before giving up.
FRENCH_NUMBERING = ("FR", "GP", "MQ", "GF", "RE", "YT", "PM", "BL", "MF")
# Values people type into a phone column to mean "none".
EMPTY_PLACEHOLDERS = frozenset({"-", "--", "?", "x", "0", "na", "n/a", "nc", "n.c.", "null", "none",
                                "aucun", "neant", "néant", "inconnu", "vide", "pas de numero",
                                "pas de numéro"})  # fmt: skip
CACHE_SIZE = 1 << 16

_SEPARATORS = str.maketrans("", "", " .-()/_\t\u00a0\u202f\u2009\u2010\u2011\u2012\u2013\u2014")
_EXCEL_FLOAT = re.compile(r"(\+?\d+)[.,]0+")
_EXCEL_SCIENTIFIC = re.compile(r"(\d)[.,](\d+)[eE]\+?(\d{1,2})")
_FORMULA_TEXT = re.compile(r'=\s*"(.*)"')  # ="0612345678", how some exports keep the leading zero
_LETTERS = re.compile(r"[^\W\d_]+\.?\s*:?")
_MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE})
_NANP_COUNTRY_CODE = 1
_PARSE_ERRORS = {
    NumberParseException.INVALID_COUNTRY_CODE: "invalid_country_code",
    NumberParseException.NOT_A_NUMBER: "invalid",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too_short",
    NumberParseException.TOO_SHORT_NSN: "too_short",
    NumberParseException.TOO_LONG: "too_long",
}
_POSSIBLE_ERRORS = {
    ValidationResult.TOO_SHORT: "too_short",
    ValidationResult.TOO_LONG: "too_long",
    ValidationResult.INVALID_COUNTRY_CODE: "invalid_country_code",
}


class PhoneResult(NamedTuple):
    """e164 and region are set when the number can receive SMS; otherwise error holds a code."""

    e164: str | None
    region: str | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def message(self) -> str:
        """The translatable explanation of `error` ('' when ok)."""
        return PHONE_ERROR_MESSAGES[self.error] if self.error else ""  # type: ignore[return-value]


def normalise_phone(raw: str, default_region: str = "FR") -> PhoneResult:
    """Returns the E.164 form and region of a mobile number, or the reason it cannot be used.

    `default_region` is the organisation's country: numbers written nationally are read in it. Repairs
    what Excel damages when the repair is unambiguous (`6.12345678E+08`, `612345678.0`, a dropped leading
    zero) and reads French overseas numbers written nationally as their own region (`0639...` is YT).
    """
    if raw is None:
        return _EMPTY
    return _normalise_cached(raw, default_region.upper())


_EMPTY = PhoneResult(None, None, "empty")


@lru_cache(maxsize=CACHE_SIZE)
def _normalise_cached(raw: str, region: str) -> PhoneResult:
    text = _unwrap(raw)
    if not text or text.casefold() in EMPTY_PLACEHOLDERS:
        return _EMPTY
    # Excel's damage is recognised before separators go: its '.' and ',' are decimal marks, not spacing.
    if "." in text or "," in text:
        squeezed = text.replace(" ", "")
        if match := _EXCEL_FLOAT.fullmatch(squeezed):
            text = match.group(1)
        elif match := _EXCEL_SCIENTIFIC.fullmatch(squeezed):
            repaired = _from_scientific(*match.groups())
            if repaired is None:
                return PhoneResult(None, None, "excel_damaged")
            text = repaired
    compact = text.translate(_SEPARATORS)
    if not (compact.isdigit() or (compact[:1] == "+" and compact[1:].isdigit())) and _LETTERS.search(text):
        # "06 12 34 56 78 (perso)", "Tél : 06...": words around a number are notes, not keypad letters.
        compact = _LETTERS.sub("", text).translate(_SEPARATORS)
        if not compact:
            return PhoneResult(None, None, "invalid")
    if not compact:
        return _EMPTY
    if region in FRENCH_NUMBERING and len(compact) == 9 and compact[0] in "67" and compact.isdigit():
        # A French mobile whose leading zero Excel dropped by treating the column as numbers.
        compact = "0" + compact

    fast = _fast_path(region)
    if fast is not None and (result := fast.check(compact)) is not None:
        return result
    return _slow_path(compact, region)


def _unwrap(raw: str) -> str:
    """Strips what spreadsheets wrap numbers in: spaces, ="...", a leading apostrophe, full-width digits."""
    text = raw.strip()
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).strip()
    if text.startswith("="):
        match = _FORMULA_TEXT.fullmatch(text)
        text = match.group(1).strip() if match else text[1:].strip()
    # Our own exports (csvsafe) and Excel's "store as text" prefix a quote.
    return text.lstrip("'’").strip()


def _from_scientific(first: str, fraction: str, exponent: str) -> str | None:
    """6.12345678E+08 -> '612345678'; None when Excel's rounding lost digits (3.36123E+11)."""
    exp = int(exponent)
    if exp < len(fraction):
        return None  # not even an integer: not a phone number Excel could have come from
    if exp > len(fraction):
        return None  # trailing digits were rounded away and cannot be recovered
    try:
        return str(int(Decimal(f"{first}.{fraction}E{exp}")))
    except InvalidOperation:
        return None


def _slow_path(compact: str, region: str) -> PhoneResult:
    number, error = _parse(compact, region)
    if number is not None and phonenumbers.is_valid_number(number):
        return _classify(number)

    candidates: list[tuple[str, str]] = []
    if region in FRENCH_NUMBERING and compact.startswith("0") and not compact.startswith("00"):
        # 0692... read in FR is an invalid +33692...; read in RE it is a Réunion mobile.
        nsn = compact[1:]
        candidates += [
            (compact, other) for other in FRENCH_NUMBERING if other != region and _plausible(nsn, other)
        ]
    if compact.isdigit() and not compact.startswith("0") and len(compact) >= 11:
        # An international number whose '+' was lost (Excel turns +32470... into the number 32470...).
        # Only tried when the national reading failed and the number is too long to be national.
        candidates.append(("+" + compact, region))
    for text, other_region in candidates:
        other, _error = _parse(text, other_region)
        if other is not None and phonenumbers.is_valid_number(other):
            return _classify(other)

    if number is None:
        return PhoneResult(None, None, error)
    reason = phonenumbers.is_possible_number_with_reason(number)
    return PhoneResult(None, None, _POSSIBLE_ERRORS.get(reason, "invalid"))


@lru_cache(maxsize=64)
def _general_desc(region: str) -> _Desc | None:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    return _desc(metadata.general_desc) if metadata is not None else None


def _plausible(nsn: str, region: str) -> bool:
    """Whether a national number fits the region's numbering at all: skips 8 of the 9 parses per number."""
    general = _general_desc(region)
    return general is None or general.matches(nsn)


def _parse(text: str, region: str) -> tuple[phonenumbers.PhoneNumber | None, str]:
    try:
        return phonenumbers.parse(text, region), ""
    except NumberParseException as exc:
        return None, _PARSE_ERRORS.get(exc.error_type, "invalid")


def _classify(number: phonenumbers.PhoneNumber) -> PhoneResult:
    kind = phonenumbers.number_type(number)
    if kind in _MOBILE_TYPES or (
        kind == PhoneNumberType.FIXED_LINE_OR_MOBILE and number.country_code == _NANP_COUNTRY_CODE
    ):
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        return PhoneResult(e164, phonenumbers.region_code_for_number(number), None)
    return PhoneResult(None, None, "not_mobile")


# --- fast path ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Desc:
    lengths: frozenset[int]
    pattern: re.Pattern[str]

    def matches(self, nsn: str) -> bool:
        return (not self.lengths or len(nsn) in self.lengths) and self.pattern.fullmatch(nsn) is not None


@dataclass(frozen=True)
class _FastPath:
    """The mobile check of `phonenumbers.number_type` for one region, on precompiled patterns.

    Mirrors `_number_type_helper`: a number is MOBILE when it matches the general description, none of
    the types checked before mobile (premium rate ... fixed line), and the mobile description. Only
    positive answers are given; anything else goes through `phonenumbers.parse`.
    """

    region: str
    plus_prefix: str
    idd_prefix: str | None
    national_prefix: str | None
    general: _Desc
    # Per number length, one alternation of every type checked before mobile: one regex call, not eight.
    excluded: dict[int, re.Pattern[str]]
    mobile: _Desc
    e164_prefix: str

    def check(self, compact: str) -> PhoneResult | None:
        if compact.startswith(self.plus_prefix):
            nsn = compact[len(self.plus_prefix) :]
        elif self.idd_prefix and compact.startswith(self.idd_prefix):
            nsn = compact[len(self.idd_prefix) :]
        elif self.national_prefix and compact.startswith(self.national_prefix):
            nsn = compact[len(self.national_prefix) :]
        else:
            return None
        if not nsn.isdigit() or not nsn.isascii() or nsn.startswith("0"):
            return None
        if not self.mobile.matches(nsn) or not self.general.matches(nsn):
            return None
        excluded = self.excluded.get(len(nsn))
        if excluded is not None and excluded.fullmatch(nsn):
            return None
        return PhoneResult(self.e164_prefix + nsn, self.region, None)


_TYPES_BEFORE_MOBILE = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan",
                        "voicemail", "fixed_line")  # fmt: skip


def _desc(d: phonenumbers.PhoneNumberDesc | None) -> _Desc | None:
    if d is None or not d.national_number_pattern:
        return None
    return _Desc(frozenset(d.possible_length or ()), re.compile(d.national_number_pattern))


@lru_cache(maxsize=64)
def _fast_path(region: str) -> _FastPath | None:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is None or metadata.country_code is None:
        return None
    country_code = metadata.country_code
    # Shared calling codes (+1, +44, +262, +590) need region_code_for_number's leading-digit logic.
    if len(phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code, ())) != 1:
        return None
    if metadata.same_mobile_and_fixed_line_pattern or metadata.national_prefix_transform_rule:
        return None
    national_prefix = metadata.national_prefix
    if metadata.national_prefix_for_parsing not in (None, national_prefix):
        national_prefix = None  # the region strips more than its trunk prefix (carrier codes): no shortcut
    idd = (
        "00" if metadata.international_prefix and re.fullmatch(metadata.international_prefix, "00") else None
    )

    general, mobile = _desc(metadata.general_desc), _desc(metadata.mobile)
    if general is None or mobile is None:
        return None
    excluded_descs = [d for name in _TYPES_BEFORE_MOBILE if (d := _desc(getattr(metadata, name, None)))]
    excluded: dict[int, re.Pattern[str]] = {}
    for length in mobile.lengths or general.lengths:
        patterns = [d.pattern.pattern for d in excluded_descs if not d.lengths or length in d.lengths]
        if patterns:
            excluded[length] = re.compile("|".join(f"(?:{p})" for p in patterns))
    if not mobile.lengths and not general.lengths:
        return None  # lengths unknown: the per-length table above would be empty, so no shortcut
    return _FastPath(
        region=region,
        plus_prefix=f"+{country_code}",
        idd_prefix=f"{idd}{country_code}" if idd else None,
        national_prefix=national_prefix or None,
        general=general,
        excluded=excluded,
        mobile=mobile,
        e164_prefix=f"+{country_code}",
    )


def normalise_phone_uncached(raw: str, default_region: str = "FR") -> PhoneResult:
    """`normalise_phone` without the cache (for benchmarks and tests of the fast path)."""
    return _normalise_cached.__wrapped__(raw, default_region.upper())


def slow_path_only(compact: str, default_region: str = "FR") -> PhoneResult:
    """The reference answer for a compact number, always through `phonenumbers.parse` (tests compare)."""
    return _slow_path(compact, default_region.upper())
