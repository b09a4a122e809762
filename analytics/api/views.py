"""``GET /api/v1/campaigns/{id}/report`` (docs/api.md): any role may read it; another organisation's campaign
is a 404 (the tenancy base class filters the queryset)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from campaigns.models import Campaign
from smsplatform.tenancy import TenantAPIView

from ..selectors import campaign_report
from .serializers import CampaignReportSerializer


class CampaignReportView(TenantAPIView):
    queryset = Campaign.objects.all()
    serializer_class = CampaignReportSerializer
    required_capability = "read"

    def safely_get_queryset(self, queryset):
        return queryset.only("id", "org_id", "launched_at", "created_at")

    @extend_schema(responses=CampaignReportSerializer, operation_id="campaigns_report_retrieve")
    def get(self, request, pk: str):
        campaign = self.get_object()
        return Response(CampaignReportSerializer(campaign_report(self.org, campaign)).data)
