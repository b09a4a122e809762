"""Template tags of the campaigns app: the dashboard widget loads its own data (two small queries), since
the dashboard view knows nothing about campaigns."""

from __future__ import annotations

from django import template

from ..selectors import recent_campaigns, upcoming_campaigns

register = template.Library()


@register.simple_tag(takes_context=True)
def campaigns_summary(context) -> dict:
    org = context.get("current_org")
    if org is None:
        return {"upcoming": [], "recent": []}
    return {"upcoming": upcoming_campaigns(org), "recent": recent_campaigns(org)}
