"""``{% analytics_dashboard %}``: the home page's results section, self-contained (it computes its own
figures through the selectors), and the ``percent`` filter of the report pages."""

from __future__ import annotations

from django import template
from django.template.defaultfilters import floatformat

from .. import selectors
from ..reasons import reason_label

register = template.Library()


@register.inclusion_tag("analytics/_dashboard_body.html", takes_context=True)
def analytics_dashboard(context) -> dict:
    org = context.get("current_org")
    if org is None:
        return {"summary": None}
    return {"summary": selectors.dashboard_summary(org), "request": context.get("request")}


@register.filter
def percent(value) -> str:
    """0.9731 -> "97,3 %" in French (localised decimal mark)."""
    try:
        return f"{floatformat(float(value) * 100, 1)} %"
    except (TypeError, ValueError):
        return ""


@register.filter
def reason_in_words(code: str) -> str:
    return reason_label(code)
