"""The names a shop owner reads for the codes of the rules: rule packs, regions and holiday calendars.

Pages, forms and explanations take their names from here, so that none shows "FR_STRICT" or "FR-57".
Pure (no database, no import of the packs, which use it for their messages): the codes come from
``rule_packs.yaml`` and ``context.py``.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

PACK_NAMES = {
    "FR_STRICT": _("France — strict operators' rules"),
    "FR_AF2M_2024": _("France — af2m charter 2024"),
    "FR_AF2M_2026": _("France — af2m Business Messaging charter 2026"),
    "US_TCPA": _("United States — TCPA"),
    "BE": _("Belgium — recommended practice"),
    "ES": _("Spain — consumer law, careful reading"),
    "DE": _("Germany — good practice hours"),
    "UK": _("United Kingdom — good practice hours"),
}

# Regions as phonenumbers names them (a contact's ``region``), French overseas departments included.
REGION_NAMES = {
    "FR": _("Mainland France"),
    "GP": _("Guadeloupe"),
    "BL": _("Saint Barthélemy"),
    "MF": _("Saint Martin"),
    "MQ": _("Martinique"),
    "GF": _("French Guiana"),
    "RE": _("Réunion"),
    "YT": _("Mayotte"),
    "PM": _("Saint Pierre and Miquelon"),
    "NC": _("New Caledonia"),
    "PF": _("French Polynesia"),
    "WF": _("Wallis and Futuna"),
    "MC": _("Monaco"),
    "BE": _("Belgium"),
    "LU": _("Luxembourg"),
    "CH": _("Switzerland"),
    "ES": _("Spain"),
    "DE": _("Germany"),
    "IT": _("Italy"),
    "PT": _("Portugal"),
    "NL": _("Netherlands"),
    "GB": _("United Kingdom"),
    "IE": _("Ireland"),
    "US": _("United States"),
    "CA": _("Canada"),
}

# Holiday calendar keys (context.py): "<country>[-<subdivision>[+<subdivision>...]]".
CALENDAR_NAMES = {
    "FR": _("Mainland France"),
    "FR-57": _("Alsace-Moselle (Moselle)"),
    "FR-6AE": _("Alsace-Moselle (Bas-Rhin and Haut-Rhin)"),
    "FR-971+BL+MF": _("Guadeloupe, Saint Barthélemy and Saint Martin"),
    "FR-972": _("Martinique"),
    "FR-973": _("French Guiana"),
    "FR-974": _("Réunion"),
    "FR-976": _("Mayotte"),
    "FR-PM": _("Saint Pierre and Miquelon"),
    "US-FL": _("Florida"),
    "US-OK": _("Oklahoma"),
}


def pack_name(code: str | None, label: str = "") -> str:
    """A rule pack in words; a pack added to the YAML without a name here shows its ``label``."""
    if code in PACK_NAMES:
        return str(PACK_NAMES[code])
    return label or str(code or "")


def region_name(code: str | None) -> str:
    """A region (phonenumbers code) in words; an unlisted one keeps its code."""
    code = (code or "").upper()
    return str(REGION_NAMES[code]) if code in REGION_NAMES else code


def calendar_name(key: str | None) -> str:
    """A holiday calendar in words: "Alsace-Moselle (Moselle)" for FR-57, the country for "BE"."""
    key = key or ""
    if key in CALENDAR_NAMES:
        return str(CALENDAR_NAMES[key])
    country, _sep, subdivision = key.partition("-")
    if not subdivision:
        return region_name(country)
    return f"{region_name(country)} ({subdivision})"
