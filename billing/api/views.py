"""Credits, purchases and invoices over the API. Reads only: buying happens on the billing page."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.response import Response

from billing.models import CreditEntry, Invoice, Purchase
from billing.pdf import invoice_pdf
from billing.selectors import credits_balance, credits_reserved
from smsplatform.tenancy import TenantAPIView

from .serializers import CreditsSerializer, InvoiceSerializer, PurchaseSerializer

MAX_ENTRIES = 200


class CreditsView(TenantAPIView):
    """The balance, the credits held by running campaigns, and the latest ledger entries (newest first).
    Readable by every role: a marketer needs to know whether a campaign will fit."""

    queryset = CreditEntry.objects.all()
    serializer_class = CreditsSerializer
    required_capability = "read"

    @extend_schema(
        responses=CreditsSerializer,
        parameters=[
            OpenApiParameter(
                "limit",
                OpenApiTypes.INT,
                description=f"entries returned, 50 by default, {MAX_ENTRIES} at most",
            )
        ],
    )
    def get(self, request):
        try:
            limit = max(1, min(MAX_ENTRIES, int(request.query_params.get("limit", 50))))
        except (TypeError, ValueError):
            limit = 50
        entries = self.get_queryset().order_by("-created_at", "-id")[:limit]
        data = {
            "balance": credits_balance(self.org),
            "reserved": credits_reserved(self.org),
            "entries": entries,
        }
        return Response(CreditsSerializer(data).data)


class PurchaseListView(TenantAPIView, generics.ListAPIView):
    queryset = Purchase.objects.order_by("-created_at", "-id")
    serializer_class = PurchaseSerializer
    required_capability = "manage"


class PurchaseDetailView(TenantAPIView, generics.RetrieveAPIView):
    queryset = Purchase.objects.all()
    serializer_class = PurchaseSerializer
    required_capability = "manage"


class InvoiceListView(TenantAPIView, generics.ListAPIView):
    queryset = Invoice.objects.order_by("-issued_at", "-id")
    serializer_class = InvoiceSerializer
    required_capability = "manage"


class InvoiceDetailView(TenantAPIView, generics.RetrieveAPIView):
    queryset = Invoice.objects.select_related("corrects")
    serializer_class = InvoiceSerializer
    required_capability = "manage"


class InvoicePdfView(TenantAPIView):
    queryset = Invoice.objects.select_related("corrects")
    required_capability = "manage"

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY})
    def get(self, request, pk):
        invoice = self.get_object()
        response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{invoice.number}.pdf"'
        return response
