"""Compliance endpoints of the public API (docs/api.md): the number checker and the message preview."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import get_language
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from compliance.checker import check_number, message_preview
from compliance.models import SenderId
from compliance.sender_registry import SENDER_TAKEN, sender_request, sender_view
from smsplatform.api.exceptions import Conflict
from smsplatform.api.parsers import JSONParser
from smsplatform.tenancy import TenantAPIView, TenantViewSet

from .serializers import (
    CheckInputSerializer,
    CheckOutputSerializer,
    PreviewInputSerializer,
    PreviewOutputSerializer,
    SenderInputSerializer,
    SenderSerializer,
)


class ComplianceCheckView(TenantAPIView):
    """May the organisation send to this number at this instant? Read-only: any role may ask."""

    required_capability = "read"
    serializer_class = CheckInputSerializer

    @extend_schema(request=CheckInputSerializer, responses=CheckOutputSerializer)
    def post(self, request):
        params = CheckInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        try:
            result = check_number(
                org=self.org,
                phone=data["to"],
                at=data.get("at"),
                category=data["category"],
                postal_code=data["postal_code"],
            )
        except ValueError as exc:
            return Response({"to": [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)
        decision, language = result.decision, get_language()
        payload = {
            "decision": decision.outcome,
            "next_allowed_at": decision.next_allowed_at,
            "local_time": decision.local_time.isoformat(timespec="seconds"),
            "timezone": result.context.timezone,
            "region": result.context.region,
            "rule_pack": result.policy.code,
            "reasons": [{"code": r.code, "message": r.message(language)} for r in decision.reasons],
            "to": result.phone,
            "calendar": result.context.calendar,
        }
        return Response(CheckOutputSerializer(payload).data)


class MessagePreviewView(TenantAPIView):
    """Encoding, characters and segments of a message as it will be sent (opt-out mention included)."""

    required_capability = "read"
    serializer_class = PreviewInputSerializer

    @extend_schema(request=PreviewInputSerializer, responses=PreviewOutputSerializer)
    def post(self, request):
        params = PreviewInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        preview = message_preview(
            body=data["body"],
            stop_mention=self.org.stop_mention,
            sender_id=data["sender_id"],
            smart=data["smart_encoding"],
            category=data["category"],
        )
        info, sender = preview.info, preview.sender
        payload = {
            "body": preview.body,
            "encoding": info.encoding,
            "characters": info.characters,
            "segments": info.segments,
            "non_gsm_characters": info.non_gsm_characters,
            "stop_mention": preview.stop_mention,
            "stop_mention_appended": preview.stop_mention_appended,
            "units": info.units,
            "per_segment": info.per_segment,
            "segments_if_replaced": preview.unicode.segments_if_all_replaced,
            "culprits": [
                {
                    "char": c.char,
                    "codepoint": c.codepoint,
                    "count": c.count,
                    "replacement": c.replacement,
                    "segments_if_replaced": c.segments_if_replaced,
                }  # fmt: skip
                for c in preview.unicode.culprits
            ],
            "sender": None
            if sender is None
            else {
                "sender_id": sender.sender,
                "valid": sender.ok,
                "kind": sender.kind,
                "reasons": [
                    {"code": code, "message": msg}
                    for code, msg in zip(sender.reasons, sender.messages, strict=True)
                ],
            },
        }
        return Response(PreviewOutputSerializer(payload).data)


class SenderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """``/senders``: the organisation's sender IDs, and a request for a new one.
    Reading needs ``read``, asking ``write``; another organisation's sender is a 404."""

    queryset = SenderId.objects.all()
    serializer_class = SenderSerializer
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def safely_get_queryset(self, queryset):
        return queryset.order_by("-created_at", "-id")

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        rows = page if page is not None else self.get_queryset()
        data = SenderSerializer([sender_view(self.org, s) for s in rows], many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def retrieve(self, request, *args, **kwargs):
        return Response(SenderSerializer(sender_view(self.org, self.get_object())).data)

    @extend_schema(request=SenderInputSerializer, responses={201: SenderSerializer, 200: SenderSerializer})
    def create(self, request, *args, **kwargs):
        params = SenderInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        try:
            sender, created = sender_request(
                org=self.org, actor=request.user, name=data["name"], proof=data.get("proof")
            )
        except ValidationError as exc:
            if getattr(exc, "code", None) == SENDER_TAKEN:
                raise Conflict(detail=exc.messages[0], code=SENDER_TAKEN)
            raise
        return Response(
            SenderSerializer(sender_view(self.org, sender)).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
