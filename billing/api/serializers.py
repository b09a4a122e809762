from rest_framework import serializers

from billing.models import CreditEntry, Invoice, Purchase


class CreditEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = CreditEntry
        fields = ["amount", "kind", "reference", "created_at"]


class CreditsSerializer(serializers.Serializer):
    balance = serializers.IntegerField()
    reserved = serializers.IntegerField()
    entries = CreditEntrySerializer(many=True)


class PurchaseSerializer(serializers.ModelSerializer):
    class Meta:
        model = Purchase
        fields = [
            "id",
            "credits",
            "amount_ht_cents",
            "vat_rate",
            "vat_cents",
            "amount_ttc_cents",
            "currency",
            "status",
            "created_at",
            "paid_at",
            "refunded_at",
        ]


class InvoiceSerializer(serializers.ModelSerializer):
    purchase = serializers.IntegerField(source="purchase_id")
    pdf_url = serializers.SerializerMethodField()

    class Meta:
        model = Invoice
        fields = [
            "id",
            "number",
            "kind",
            "issued_at",
            "purchase",
            "description",
            "quantity",
            "amount_ht_cents",
            "vat_rate",
            "vat_cents",
            "amount_ttc_cents",
            "currency",
            "buyer",
            "pdf_url",
        ]

    def get_pdf_url(self, obj) -> str:
        from django.urls import reverse

        request = self.context.get("request")
        url = reverse("billing-api-invoice-pdf", args=[obj.pk])
        return request.build_absolute_uri(url) if request else url
