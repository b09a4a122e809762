"""Region, time zone(s) and holiday calendar of a number (docs/compliance.md, "Recipient context").

Computed once per contact (the contacts module stores ``region``, ``timezone`` and ``calendar``) and
passed to the gate, which never parses numbers itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
import phonenumbers
from phonenumbers import timezone as pn_timezone

# Region -> (IANA zone, holiday calendar key). Calendar keys are "<country>[-<subdiv>[+<subdiv>...]]":
# the union of the country's holidays for each listed subdivision. Numeric DOM codes because holidays
# 0.109 does not accept the alias GF.
_FR_REGIONS: dict[str, tuple[str, str]] = {
    "FR": ("Europe/Paris", "FR"),
    "GP": ("America/Guadeloupe", "FR-971+BL+MF"),
    "BL": ("America/Guadeloupe", "FR-971+BL+MF"),
    "MF": ("America/Guadeloupe", "FR-971+BL+MF"),
    "MQ": ("America/Martinique", "FR-972"),
    "GF": ("America/Cayenne", "FR-973"),
    "RE": ("Indian/Reunion", "FR-974"),
    "YT": ("Indian/Mayotte", "FR-976"),
    "PM": ("America/Miquelon", "FR-PM"),
}

# TCPA: these states' own laws narrow the window to 08:00-20:00 (and cap 3 per 24 h per subject).
FLORIDA_AREA_CODES = frozenset(
    {"239", "305", "321", "324", "352", "386", "407", "448", "561", "645", "656", "689", "727", "728",
     "754", "772", "786", "813", "850", "863", "904", "941", "954"}
)  # fmt: skip
OKLAHOMA_AREA_CODES = frozenset({"405", "539", "572", "580", "918"})

# A multi-zone context stores its zones joined with this separator in ``timezone``.
ZONE_SEPARATOR = ","


@dataclass(frozen=True, slots=True)
class RecipientContext:
    """Where a recipient is, for the gate: ``region`` (phonenumbers code), ``timezone`` (an IANA name,
    or for a number that may be in several zones the two extreme zones joined by a comma: the window
    must hold in both), ``calendar`` (holiday calendar key)."""

    region: str
    timezone: str
    calendar: str

    @property
    def zones(self) -> tuple[str, ...]:
        return _split_zones(self.timezone)

    @property
    def primary_zone(self) -> str:
        return self.zones[0]


@lru_cache(maxsize=512)
def _split_zones(value: str) -> tuple[str, ...]:
    return tuple(z for z in value.split(ZONE_SEPARATOR) if z)


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _offset_key(name: str) -> float:
    # Mean of winter and summer offsets: orders zones east to west whatever the season.
    tz = zone(name)
    jan = datetime(2026, 1, 15, 12, tzinfo=tz).utcoffset().total_seconds()
    jul = datetime(2026, 7, 15, 12, tzinfo=tz).utcoffset().total_seconds()
    return (jan + jul) / 2


def _strictest_zones(names: tuple[str, ...]) -> str:
    """The zones that bound a window over all of ``names``: the easternmost and the westernmost.

    A window must hold in every zone of the number; the extremes are enough to enforce it (a slot
    allowed at both ends of the spread is allowed in between for a same-day window).
    """
    valid = sorted({n for n in names if n and n != "Etc/Unknown"})
    if not valid:
        return ""
    if len(valid) == 1:
        return valid[0]
    ordered = sorted(valid, key=lambda n: (_offset_key(n), n))
    west, east = ordered[0], ordered[-1]
    if _offset_key(west) == _offset_key(east):
        return valid[0]
    return ZONE_SEPARATOR.join((east, west))


def _region_of(number: phonenumbers.PhoneNumber) -> str:
    national = str(number.national_number)
    if number.country_code == 262:
        # +262 is shared: Mayotte numbers are 0639 (mobile) and 0269 (fixed), the rest is Reunion.
        return "YT" if national.startswith(("639", "269")) else "RE"
    region = phonenumbers.region_code_for_number(number)
    if region:
        return region
    return phonenumbers.region_code_for_country_code(number.country_code) or ""


def recipient_context(phone_e164: str, postal_code: str = "") -> RecipientContext:
    """Region, zone and calendar of a number, refined by the contact's postal code (Alsace-Moselle).

    Raises ValueError for a string that is not a phone number.
    """
    try:
        number = phonenumbers.parse(phone_e164, None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"{phone_e164!r} is not an international phone number: {exc}") from exc
    region = _region_of(number)
    if not region or region == "001":
        raise ValueError(f"{phone_e164!r} has no region.")

    if region in _FR_REGIONS:
        tz, calendar = _FR_REGIONS[region]
        if region == "FR":
            postal = (postal_code or "").strip().replace(" ", "")
            if postal.startswith("57"):
                calendar = "FR-57"
            elif postal.startswith(("67", "68")):
                calendar = "FR-6AE"
        return RecipientContext(region, tz, calendar)

    zones = tuple(pn_timezone.time_zones_for_number(number))
    if region == "US":
        area = str(number.national_number)[:3]
        calendar = "US-FL" if area in FLORIDA_AREA_CODES else "US-OK" if area in OKLAHOMA_AREA_CODES else "US"
        tz = _strictest_zones(tuple(z for z in zones if z.startswith(("America/", "Pacific/Honolulu")))) or (
            _strictest_zones(zones)
        )
        return RecipientContext(region, tz or "America/New_York", calendar)

    tz = _strictest_zones(zones) or _first_zone_of_region(region)
    return RecipientContext(region, tz, region)


@lru_cache(maxsize=256)
def _first_zone_of_region(region: str) -> str:
    example = phonenumbers.example_number(region)
    if example is not None:
        zones = [z for z in pn_timezone.time_zones_for_number(example) if z != "Etc/Unknown"]
        if zones:
            return zones[0]
    return "UTC"


# --- holiday calendars --------------------------------------------------------------------------


def _parse_calendar(key: str) -> tuple[str, tuple[str | None, ...]]:
    country, _, subdivs = key.partition("-")
    return country, tuple(subdivs.split("+")) if subdivs else (None,)


@lru_cache(maxsize=1024)
def holiday_dates(calendar_key: str, year: int) -> frozenset[date]:
    """Public holiday dates of a calendar for a year (dates only: names depend on the language).

    ``FR-971+BL+MF`` is the union of the listed subdivisions of FR. An unknown country has no holidays
    (rather than failing the whole batch).
    """
    country, subdivs = _parse_calendar(calendar_key)
    dates: set[date] = set()
    for subdiv in subdivs:
        try:
            calendar = holidays.country_holidays(country, subdiv=subdiv, years=year)
        except (NotImplementedError, KeyError):
            try:
                calendar = holidays.country_holidays(country, years=year)
            except (NotImplementedError, KeyError):
                return frozenset()
        dates.update(d for d in calendar if d.year == year)
    return frozenset(dates)


def holiday_names(calendar_key: str, year: int, language: str = "fr") -> dict[date, str]:
    """Display names of a calendar's holidays (for pages only; the gate compares dates)."""
    country, subdivs = _parse_calendar(calendar_key)
    names: dict[date, str] = {}
    for subdiv in subdivs:
        try:
            calendar = holidays.country_holidays(country, subdiv=subdiv, years=year, language=language)
        except (NotImplementedError, KeyError):
            try:
                calendar = holidays.country_holidays(country, years=year, language=language)
            except (NotImplementedError, KeyError):
                return {}
        for d, name in calendar.items():
            names.setdefault(d, name)
    return names


def is_holiday(calendar_key: str, day: date) -> bool:
    return day in holiday_dates(calendar_key, day.year)
