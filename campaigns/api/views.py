"""Campaigns and messages API (docs/api.md). Views validate, call one service, render; tenancy comes from
the base classes (another organisation's campaign is a 404), and a service's refusal renders itself
(:class:`smsplatform.errors.DomainError`, through ``smsplatform.api.exceptions``: 402, 409, 400)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.response import Response

from smsplatform.tenancy import TenantModelViewSet, TenantViewSet

from .. import services
from ..models import Campaign, Message, MessageStatus
from .serializers import (
    CampaignInputSerializer,
    CampaignSerializer,
    EstimateInputSerializer,
    EstimateSerializer,
    MessageSerializer,
)


class CampaignViewSet(TenantModelViewSet):
    """``/campaigns``: list, create, read, edit and delete (draft or scheduled only), and the actions."""

    queryset = Campaign.objects.all()
    serializer_class = CampaignSerializer

    def safely_get_queryset(self, queryset):
        return queryset.order_by("-created_at", "-id")

    def initial(self, request, *args, **kwargs):
        # An estimate is a POST that writes nothing: any role that may read may ask for it.
        self.required_capability = "read" if self.action == "estimate" else None
        super().initial(request, *args, **kwargs)

    @extend_schema(request=CampaignInputSerializer, responses={201: CampaignSerializer})
    def create(self, request, *args, **kwargs):
        data = CampaignInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        campaign = services.campaign_create(org=self.org, actor=request.user, **data.validated_data)
        return Response(CampaignSerializer(campaign).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=CampaignInputSerializer, responses=CampaignSerializer)
    def partial_update(self, request, *args, **kwargs):
        campaign = self.get_object()
        data = CampaignInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        fields = {k: v for k, v in data.validated_data.items() if k in request.data}
        campaign = services.campaign_update(org=self.org, actor=request.user, campaign=campaign, **fields)
        return Response(CampaignSerializer(campaign).data)

    def update(self, request, *args, **kwargs):
        return self.partial_update(request, *args, **kwargs)

    def destroy(self, request, *args, **kwargs):
        campaign = self.get_object()
        services.campaign_delete(org=self.org, actor=request.user, campaign=campaign)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=EstimateInputSerializer, responses=EstimateSerializer)
    @action(detail=True, methods=["post"])
    def estimate(self, request, pk=None):
        campaign = self.get_object()
        data = EstimateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.campaign_estimate(org=self.org, campaign=campaign, at=data.validated_data["at"])
        return Response(EstimateSerializer(result).data)

    def _transition(self, request, service):
        campaign = self.get_object()
        campaign = service(org=self.org, actor=request.user, campaign=campaign)
        return Response(CampaignSerializer(campaign).data)

    @extend_schema(request=None, responses=CampaignSerializer)
    @action(detail=True, methods=["post"])
    def launch(self, request, pk=None):
        return self._transition(request, services.campaign_launch)

    @extend_schema(request=None, responses=CampaignSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        return self._transition(request, services.campaign_pause)

    @extend_schema(request=None, responses=CampaignSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        return self._transition(request, services.campaign_resume)

    @extend_schema(request=None, responses=CampaignSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._transition(request, services.campaign_cancel)


class MessageViewSet(mixins.ListModelMixin, TenantViewSet):
    """``/messages?campaign=&status=``: what each recipient was sent, with its status and reason."""

    queryset = Message.objects.all()
    serializer_class = MessageSerializer

    def safely_get_queryset(self, queryset):
        params = self.request.query_params
        campaign = params.get("campaign")
        if campaign:
            if not campaign.isdigit():
                return queryset.none()
            queryset = queryset.filter(campaign_id=int(campaign))
        if params.get("status"):
            if params["status"] not in MessageStatus.values:
                raise DRFValidationError({"status": [f"One of: {', '.join(MessageStatus.values)}."]})
            queryset = queryset.filter(status=params["status"])
        return queryset.order_by("-id")

    @extend_schema(
        parameters=[
            OpenApiParameter("campaign", str, description="a campaign id"),
            OpenApiParameter("status", str, enum=MessageStatus.values),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)
