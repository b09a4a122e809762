"""What each recipient was sent, with its status and reason."""

from __future__ import annotations

from django.http import Http404
from django.views.generic import TemplateView

from analytics.selectors import campaign_report as analytics_report
from campaigns.models import Campaign, MessageStatus
from campaigns.selectors import org_messages
from smsplatform.tenancy import OrgPageMixin


class MessagesView(OrgPageMixin, TemplateView):
    """What each recipient was sent, with its status and the gate's reason (``?campaign=``, ``?status=``)."""

    template_name = "campaigns/messages.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        params = self.request.GET
        campaign = None
        if params.get("campaign", "").isdigit():
            campaign = Campaign.objects.filter(org=self.org, pk=int(params["campaign"])).first()
            if campaign is None:
                raise Http404
        status = params.get("status") if params.get("status") in MessageStatus.values else ""
        qs = org_messages(self.org, campaign_id=campaign.pk if campaign else None, status=status or None)
        ctx.update(
            campaign=campaign,
            report=analytics_report(self.org, campaign) if campaign else None,
            status_filter=status,
            statuses=MessageStatus.choices,
            messages_page=list(qs.select_related("campaign")[:200]),
            language=(getattr(self.request, "LANGUAGE_CODE", "fr") or "fr")[:2],
        )
        return ctx
