"""Operator tools: credits given or taken back with a reason, prices and packs, purchases, invoices.

Every change goes through ``billing.services`` so that it is audited and keeps the ledger consistent;
ledger entries, reservations, events and invoices are read-only here.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from . import services
from .errors import InsufficientCredits, PaymentError, PurchaseError
from .forms import CreditAdjustForm
from .models import (
    BillingSettings,
    CreditAccount,
    CreditEntry,
    CreditPack,
    CreditReservation,
    Invoice,
    PaymentEvent,
    Purchase,
    RegionPrice,
)
from .money import format_eur, unit_price_eur
from .pdf import invoice_pdf
from .selectors import credits_ledger_sum


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CreditAccount)
class CreditAccountAdmin(ReadOnlyAdmin):
    list_display = ["org", "balance", "ledger_sum", "updated_at", "adjust_link"]
    list_select_related = ["org"]
    search_fields = ["org__name", "org__legal_name", "org__slug"]

    @admin.display(description="Sum of entries")
    def ledger_sum(self, obj):
        return credits_ledger_sum(obj.org)

    @admin.display(description="")
    def adjust_link(self, obj):
        url = reverse("admin:billing_creditaccount_adjust", args=[obj.pk])
        return format_html('<a href="{}">Give or take credits</a>', url)

    def get_urls(self):
        return [
            path(
                "<int:pk>/adjust/",
                self.admin_site.admin_view(self.adjust_view),
                name="billing_creditaccount_adjust",
            ),
            *super().get_urls(),
        ]

    def adjust_view(self, request, pk):
        if not (request.user.is_superuser or request.user.has_perm("billing.add_creditentry")):
            raise PermissionDenied
        account = get_object_or_404(CreditAccount.objects.select_related("org"), pk=pk)
        form = CreditAdjustForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.credits_adjust(
                    org=account.org,
                    actor=request.user,
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                )
            except InsufficientCredits as exc:
                form.add_error("amount", str(exc))
            except ValidationError as exc:
                form.add_error(None, exc.messages)
            else:
                self.message_user(
                    request, f"{form.cleaned_data['amount']:+d} credits for {account.org}.", messages.SUCCESS
                )
                return redirect("admin:billing_creditaccount_changelist")
        context = {
            **self.admin_site.each_context(request),
            "title": f"Credits of {account.org}",
            "account": account,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "billing/admin_adjust.html", context)


@admin.register(CreditEntry)
class CreditEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "org", "kind", "amount", "balance_after", "reference", "reason", "actor"]
    list_filter = ["kind"]
    list_select_related = ["org", "actor"]
    search_fields = ["org__name", "reference", "reason"]


@admin.register(CreditReservation)
class CreditReservationAdmin(ReadOnlyAdmin):
    list_display = ["reference", "org", "reserved", "released", "spent", "created_at", "closed_at"]
    list_select_related = ["org"]
    search_fields = ["reference", "org__name"]


@admin.register(RegionPrice)
class RegionPriceAdmin(admin.ModelAdmin):
    list_display = ["region", "credits_per_segment", "updated_at"]
    list_editable = ["credits_per_segment"]
    search_fields = ["region"]
    fields = ["region", "credits_per_segment"]

    def save_model(self, request, obj, form, change):
        saved = services.region_price_set(
            actor=request.user, region=obj.region, credits_per_segment=obj.credits_per_segment
        )
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        services.region_price_delete(actor=request.user, region=obj.region)

    def delete_queryset(self, request, queryset):
        for region in list(queryset.values_list("region", flat=True)):
            services.region_price_delete(actor=request.user, region=region)


@admin.register(CreditPack)
class CreditPackAdmin(admin.ModelAdmin):
    list_display = ["credits", "price_ht", "unit_price", "active", "updated_at"]
    fields = ["credits", "price_ht_cents", "active"]

    @admin.display(description="Price excl. VAT")
    def price_ht(self, obj):
        return format_eur(obj.price_ht_cents)

    @admin.display(description="Per credit")
    def unit_price(self, obj):
        return unit_price_eur(obj.price_ht_cents, obj.credits)

    def save_model(self, request, obj, form, change):
        existing = CreditPack.objects.get(pk=obj.pk) if change else None
        saved = services.credit_pack_save(
            actor=request.user,
            credits=obj.credits,
            price_ht_cents=obj.price_ht_cents,
            active=obj.active,
            pack=existing,
        )
        obj.pk = saved.pk

    def has_delete_permission(self, request, obj=None):
        return False  # purchases point at packs: take a pack off sale instead


@admin.register(Purchase)
class PurchaseAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "org",
        "credits",
        "ttc",
        "status",
        "provider",
        "created_at",
        "paid_at",
        "refunded_at",
    ]
    list_filter = ["status", "provider"]
    list_select_related = ["org"]
    search_fields = ["org__name", "provider_session_id", "provider_payment_id"]
    actions = ["refund"]

    @admin.display(description="Incl. VAT")
    def ttc(self, obj):
        return format_eur(obj.amount_ttc_cents)

    def has_refund_permission(self, request):
        return request.user.is_superuser or request.user.has_perm("billing.change_purchase")

    @admin.action(description="Refund (money back, credits taken back, credit note)", permissions=["refund"])
    def refund(self, request, queryset):
        for purchase in queryset.select_related("org"):
            try:
                services.purchase_refund(
                    org=purchase.org, actor=request.user, purchase=purchase, reason="refunded by the operator"
                )
            except (PurchaseError, InsufficientCredits, PaymentError) as exc:
                self.message_user(request, f"{purchase.reference}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{purchase.reference} refunded.", messages.SUCCESS)


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = ["number", "kind", "org", "issued_at", "ht", "ttc", "pdf"]
    list_filter = ["kind"]
    list_select_related = ["org"]
    search_fields = ["number", "org__name"]

    @admin.display(description="Excl. VAT")
    def ht(self, obj):
        return format_eur(obj.amount_ht_cents)

    @admin.display(description="Incl. VAT")
    def ttc(self, obj):
        return format_eur(obj.amount_ttc_cents)

    @admin.display(description="PDF")
    def pdf(self, obj):
        return format_html('<a href="{}">PDF</a>', reverse("admin:billing_invoice_pdf", args=[obj.pk]))

    def get_urls(self):
        return [
            path("<int:pk>/pdf/", self.admin_site.admin_view(self.pdf_view), name="billing_invoice_pdf"),
            *super().get_urls(),
        ]

    def pdf_view(self, request, pk):
        invoice = get_object_or_404(Invoice, pk=pk)
        response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{invoice.number}.pdf"'
        return response


@admin.register(PaymentEvent)
class PaymentEventAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "provider", "event_id", "event_type", "purchase", "outcome"]
    list_filter = ["provider", "event_type", "outcome"]
    search_fields = ["event_id"]


@admin.register(BillingSettings)
class BillingSettingsAdmin(ReadOnlyAdmin):
    list_display = ["org", "low_balance_threshold", "alert_sent_at", "billing_email"]
    list_select_related = ["org"]
