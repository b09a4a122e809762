"""Countries an organisation can be based in, with the default time zone and rule pack of each."""

from django.utils.translation import gettext_lazy as _

# (code, label, default time zone, default rule pack)
COUNTRIES = [
    ("FR", _("France"), "Europe/Paris", "FR_STRICT"),
    ("RE", _("Réunion"), "Indian/Reunion", "FR_STRICT"),
    ("GP", _("Guadeloupe"), "America/Guadeloupe", "FR_STRICT"),
    ("MQ", _("Martinique"), "America/Martinique", "FR_STRICT"),
    ("GF", _("French Guiana"), "America/Cayenne", "FR_STRICT"),
    ("YT", _("Mayotte"), "Indian/Mayotte", "FR_STRICT"),
    ("BE", _("Belgium"), "Europe/Brussels", "BE"),
    ("ES", _("Spain"), "Europe/Madrid", "ES"),
    ("DE", _("Germany"), "Europe/Berlin", "DE"),
    ("GB", _("United Kingdom"), "Europe/London", "UK"),
    ("US", _("United States"), "America/New_York", "US_TCPA"),
]

COUNTRY_CHOICES = [(code, label) for code, label, _tz, _pack in COUNTRIES]
_BY_CODE = {code: (tz, pack) for code, _label, tz, pack in COUNTRIES}


def default_timezone_for_country(code: str) -> str:
    return _BY_CODE.get(code.upper(), ("Europe/Paris", "FR_STRICT"))[0]


def default_rule_pack_for_country(code: str) -> str:
    return _BY_CODE.get(code.upper(), ("Europe/Paris", "FR_STRICT"))[1]
