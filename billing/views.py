"""Billing pages (owners and admins only) and the payment provider's webhook.

Views validate, call a service and render; the money and the credits are handled in ``services``.
"""

from __future__ import annotations

import logging

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import DetailView, TemplateView

from smsplatform.selectors import org_owner_email_verified
from smsplatform.tenancy import OrgObjectMixin, OrgPageMixin, get_org_object_or_404

from . import selectors, services
from .errors import EventNotReady, PaymentError, WebhookRejected
from .forms import BillingSettingsForm, BuyForm
from .models import Invoice, Purchase, PurchaseStatus
from .money import vat_rate
from .payments import StripeAdapter, fake_payments_allowed, payments_take_real_money
from .pdf import invoice_pdf

logger = logging.getLogger(__name__)


#: Where the buyer goes back after a payment (a campaign short of credits), kept in the session across
#: the payment provider's round trip.
NEXT_SESSION_KEY = "billing_next"


def _local_path(request, value: str | None) -> str:
    """``value`` when it is a path of this site (never another host: an open redirect), else ""."""
    value = (value or "").strip()
    if value.startswith("/") and url_has_allowed_host_and_scheme(value, allowed_hosts={request.get_host()}):
        return value
    return ""


def _shortfall(value: str | None) -> int:
    try:
        return max(int(value or 0), 0)
    except ValueError:
        return 0


class BillingView(OrgPageMixin, TemplateView):
    """Credits, packs, history. ``?need=N&next=/campaigns/7/``: a campaign is N credits short; the pack
    that covers it is preselected and the buyer comes back to the campaign after paying."""

    template_name = "billing/index.html"
    required_capability = "manage"

    def get(self, request, *args, **kwargs):
        following = _local_path(request, request.GET.get("next"))
        if following:
            request.session[NEXT_SESSION_KEY] = following
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        need = _shortfall(self.request.GET.get("need"))
        ctx["need"] = need
        ctx["recommended"] = selectors.pack_covering(need) if need else None
        ctx["next_url"] = self.request.session.get(NEXT_SESSION_KEY, "")
        prefs = services.billing_settings_get(org=self.org)
        ctx.setdefault("settings_form", BillingSettingsForm(instance=prefs))
        ctx["balance"] = selectors.credits_balance(self.org)
        ctx["email_unverified"] = payments_take_real_money() and not org_owner_email_verified(self.org)
        ctx["reserved"] = selectors.credits_reserved(self.org)
        ctx["packs"] = selectors.packs_on_sale()
        ctx["vat_rate"] = vat_rate()
        ctx["entries"] = Paginator(selectors.credit_entries(self.org), 25).get_page(
            self.request.GET.get("page")
        )
        ctx["purchases"] = selectors.org_purchases(self.org)[:20]
        ctx["invoices"] = selectors.org_invoices(self.org)[:50]
        ctx["prefs"] = prefs
        return ctx


class BillingSettingsView(OrgPageMixin, View):
    required_capability = "manage"

    def post(self, request):
        prefs = services.billing_settings_get(org=self.org)
        form = BillingSettingsForm(request.POST, instance=type(prefs).objects.get(pk=prefs.pk))
        if form.is_valid():
            try:
                services.billing_settings_update(
                    org=self.org, actor=request.user, **{f: form.cleaned_data[f] for f in form.Meta.fields}
                )
            except ValidationError as exc:
                form.add_error(None, exc.messages)
            else:
                messages.success(request, _("Billing settings saved."))
                return redirect("billing:index")
        view = BillingView()
        view.setup(request)
        view.org, view.membership = self.org, self.membership
        return view.render_to_response(view.get_context_data(settings_form=form), status=400)


class BuyView(OrgPageMixin, View):
    required_capability = "manage"

    def post(self, request):
        form = BuyForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("This pack is not on sale."))
            return redirect("billing:index")
        back = request.build_absolute_uri(reverse("billing:purchase_return")) + "?purchase=__PURCHASE__"
        try:
            _purchase, url = services.purchase_start(
                org=self.org,
                actor=request.user,
                pack=form.cleaned_data["pack"],
                success_url=back + "&session_id={CHECKOUT_SESSION_ID}",
                cancel_url=back + "&cancelled=1",
            )
        except ValidationError as exc:  # a rule of ours (pack withdrawn, address not verified): say which
            messages.error(request, " ".join(exc.messages))
            return redirect("billing:index")
        except PaymentError as exc:
            logger.warning("Checkout could not start for organisation %s: %s", self.org.pk, exc)
            messages.error(request, _("The payment could not be started. Please try again in a few minutes."))
            return redirect("billing:index")
        return redirect(url)


class PurchaseReturnView(OrgPageMixin, View):
    """Where the payment page sends the buyer back; the credits come from the webhook, not from here."""

    required_capability = "manage"

    def get(self, request):
        purchase = get_org_object_or_404(Purchase, self.org, pk=request.GET.get("purchase"))
        if request.GET.get("cancelled"):
            messages.info(request, _("Payment cancelled: nothing was charged."))
            return redirect("billing:index")
        return redirect("billing:purchase", pk=purchase.pk)


class PurchaseDetailView(OrgObjectMixin, DetailView):
    model = Purchase
    template_name = "billing/purchase.html"
    context_object_name = "purchase"
    required_capability = "manage"

    def get(self, request, *args, **kwargs):
        purchase = self.get_object()
        following = request.session.get(NEXT_SESSION_KEY)
        if purchase.status == PurchaseStatus.PAID and following:
            # Paid for a campaign that was short of credits: straight back to it, ready to launch.
            del request.session[NEXT_SESSION_KEY]
            messages.success(
                request,
                _("Payment confirmed: %(credits)s credits added. Your campaign is ready to launch.")
                % {"credits": purchase.credits},
            )
            return redirect(following)
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["invoices"] = selectors.org_invoices(self.org).filter(purchase=self.object)
        ctx["pending"] = self.object.status == PurchaseStatus.PENDING
        return ctx


class FakeCheckoutView(OrgPageMixin, View):
    """The development payment page: one button confirms the payment at once. Exists only while the
    ``fake`` adapter is configured, and only for purchases made through it."""

    required_capability = "manage"
    tenant_model = Purchase

    def _purchase(self, pk) -> Purchase:
        if not fake_payments_allowed():
            raise Http404
        return get_org_object_or_404(Purchase.objects.filter(provider="fake"), self.org, pk=pk)

    def get(self, request, pk):
        return render(request, "billing/fake_checkout.html", {"purchase": self._purchase(pk)})

    def post(self, request, pk):
        purchase = services.purchase_confirm(purchase=self._purchase(pk), actor=request.user)
        messages.success(
            request, _("Payment confirmed: %(credits)s credits added.") % {"credits": purchase.credits}
        )
        return redirect("billing:purchase", pk=purchase.pk)


class InvoicePdfView(OrgPageMixin, View):
    required_capability = "manage"
    tenant_model = Invoice

    def get(self, request, pk):
        invoice = get_org_object_or_404(Invoice, self.org, pk=pk)
        response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{invoice.number}.pdf"'
        return response


@method_decorator(csrf_exempt, name="dispatch")
class StripeWebhookView(View):
    """Stripe's events: authenticated by their signature only (no session, no CSRF token)."""

    def post(self, request):
        try:
            event = StripeAdapter().parse_webhook(
                payload=request.body, signature=request.headers.get("Stripe-Signature", "")
            )
        except WebhookRejected as exc:
            logger.warning("Stripe webhook rejected: %s", exc)
            return JsonResponse({"detail": "invalid signature or payload"}, status=400)
        try:
            outcome = services.payment_event_handle(
                provider="stripe", event_id=event.id, event_type=event.type, data=event.data
            )
        except EventNotReady as exc:
            # Not recorded: Stripe delivers non-2xx events again later, when the payment is known.
            logger.info("Stripe event %s deferred: %s", event.id, exc)
            return JsonResponse({"detail": "not ready, retry later"}, status=409)
        return JsonResponse({"outcome": outcome})
