from django import template

from contacts.selectors import contacts_count_capped

register = template.Library()


@register.simple_tag(takes_context=True)
def contacts_summary(context) -> dict:
    """The dashboard widget's figures: one bounded count (never a full COUNT(*) over a million rows)."""
    request = context.get("request")
    org = getattr(request, "org", None)
    if org is None:
        return {"count": 0, "more": False}
    count, more = contacts_count_capped(org)
    return {"count": count, "more": more}
