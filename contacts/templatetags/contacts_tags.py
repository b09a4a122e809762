from django import template
from django.utils.translation import gettext_lazy as _

from contacts.selectors import contacts_count_capped

register = template.Library()

# The text encodings the import detects (contacts.importing.reader), as a shop owner knows them.
FILE_ENCODING_NAMES = {
    "utf-8": _("Standard (UTF-8)"),
    "utf-8-sig": _("Standard (UTF-8, from Excel)"),
    "utf-16": _("Unicode text (Excel)"),
    "cp1252": _("Windows (Excel)"),
}


@register.filter
def file_encoding_name(encoding: str) -> str:
    return str(FILE_ENCODING_NAMES.get((encoding or "").lower(), encoding or ""))


@register.simple_tag(takes_context=True)
def contacts_summary(context) -> dict:
    """The dashboard widget's figures: one bounded count (never a full COUNT(*) over a million rows)."""
    request = context.get("request")
    org = getattr(request, "org", None)
    if org is None:
        return {"count": 0, "more": False}
    count, more = contacts_count_capped(org)
    return {"count": count, "more": more}
