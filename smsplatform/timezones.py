"""The time zones an organisation picks from: France's first (mainland, then overseas), then the rest."""

from __future__ import annotations

import zoneinfo
from functools import lru_cache

from django.utils.translation import gettext_lazy as _

# Most shops are in one of these: named by place, the zone's own name beside it.
FRENCH_ZONES = (
    ("Europe/Paris", _("Mainland France")),
    ("America/Guadeloupe", _("Guadeloupe")),
    ("America/Martinique", _("Martinique")),
    ("America/Cayenne", _("French Guiana")),
    ("Indian/Reunion", _("Réunion")),
    ("Indian/Mayotte", _("Mayotte")),
    ("Pacific/Noumea", _("New Caledonia")),
    ("Pacific/Tahiti", _("French Polynesia (Tahiti)")),
    ("America/Miquelon", _("Saint Pierre and Miquelon")),
    ("Pacific/Wallis", _("Wallis and Futuna")),
    ("America/St_Barthelemy", _("Saint Barthélemy")),
    ("America/Marigot", _("Saint Martin")),
)
_FRENCH = {zone for zone, _label in FRENCH_ZONES}
# Legacy aliases and system files that zoneinfo lists but nobody picks.
_SKIPPED_PREFIXES = ("Etc/", "SystemV/", "US/", "Canada/", "Mexico/", "Brazil/", "Chile/", "posix", "right/")


@lru_cache(maxsize=1)
def other_zones() -> tuple[str, ...]:
    names = (
        z
        for z in zoneinfo.available_timezones()
        if "/" in z and z not in _FRENCH and not z.startswith(_SKIPPED_PREFIXES)
    )
    return ("UTC", *sorted(names))


def timezone_choices(current: str = "") -> list:
    """Grouped choices for a select: France first, then every other zone. ``current`` (a valid zone
    stored before this list existed, such as ``Etc/GMT-3``) is kept, so that saving the page does not
    change it."""
    french = [(zone, f"{label} ({zone})") for zone, label in FRENCH_ZONES]
    others = [(zone, zone) for zone in other_zones()]
    known = _FRENCH | set(other_zones())
    if current and current not in known and current in zoneinfo.available_timezones():
        others.insert(0, (current, current))
    return [(_("France"), french), (_("Other time zones"), others)]


def timezone_label(zone: str) -> str:
    """A zone as a shop owner reads it: "Mainland France (Europe/Paris)", else its name."""
    for name, label in FRENCH_ZONES:
        if name == zone:
            return f"{label} ({zone})"
    return zone
