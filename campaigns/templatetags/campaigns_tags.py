"""Template tags of the campaigns app: the dashboard widget loads its own data (two small queries), since
the dashboard view knows nothing about campaigns."""

from __future__ import annotations

from urllib.parse import urlencode

from django import template
from django.urls import reverse

from ..selectors import recent_campaigns, upcoming_campaigns

register = template.Library()


@register.simple_tag(takes_context=True)
def campaigns_summary(context) -> dict:
    org = context.get("current_org")
    if org is None:
        return {"upcoming": [], "recent": []}
    return {"upcoming": upcoming_campaigns(org), "recent": recent_campaigns(org)}


@register.simple_tag
def buy_credits_url(campaign, need=0) -> str:
    """The billing page for a campaign ``need`` credits short: the covering pack preselected, and the
    buyer brought back to the campaign once paid."""
    query = {"need": max(int(need or 0), 0)}
    if campaign is not None and getattr(campaign, "pk", None):
        query["next"] = reverse("campaigns:detail", args=[campaign.pk])
    return f"{reverse('billing:index')}?{urlencode(query)}"
