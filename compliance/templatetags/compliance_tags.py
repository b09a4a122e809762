"""Template filters that name the codes of the rules (compliance.display) on any page."""

from django import template

from compliance.context import ZONE_SEPARATOR
from compliance.display import calendar_name, pack_name, region_name
from smsplatform.timezones import timezone_label

register = template.Library()

register.filter("pack_name", pack_name)
register.filter("region_name", region_name)
register.filter("calendar_name", calendar_name)


@register.filter
def zone_name(value) -> str:
    """A time zone, or the zones of a number that spans several ("America/New_York,…"), in words."""
    return ", ".join(timezone_label(z) for z in str(value or "").split(ZONE_SEPARATOR) if z)
