"""Report pages (any member reads them, another organisation's campaign is a 404) and the public
redirect of short links."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext, pgettext_lazy
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from django.views.generic import DetailView, TemplateView

from campaigns.models import Campaign
from contacts.importing.csvsafe import iter_excel_csv
from smsplatform.models import role_can
from smsplatform.tenancy import OrgObjectMixin, OrgPageMixin

from . import selectors, services
from .links import default_utm
from .models import CampaignLinkOptions, TrackedLink

STATUS_CHOICES = [
    ("", gettext_lazy("All statuses")),
    ("queued", gettext_lazy("Queued")),
    ("deferred", gettext_lazy("Deferred")),
    ("sent", gettext_lazy("Sent, no receipt yet")),
    ("delivered", pgettext_lazy("message status", "Delivered")),
    ("failed", gettext_lazy("Failed")),
    ("blocked", gettext_lazy("Blocked")),
    ("cancelled", pgettext_lazy("message status", "Cancelled")),
]
CLICKED_CHOICES = [
    ("", gettext_lazy("Clicked or not")),
    ("yes", gettext_lazy("Clicked")),
    ("no", gettext_lazy("Not clicked")),
]


class RecipientFilterForm(forms.Form):
    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False, label=gettext_lazy("Status"))
    clicked = forms.ChoiceField(choices=CLICKED_CHOICES, required=False, label=gettext_lazy("Clicks"))
    before = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def filters(self) -> dict:
        if not self.is_valid():
            return {"status": "", "clicked": "", "before": None}
        return self.cleaned_data


class UtmForm(forms.Form):
    utm_source = forms.CharField(max_length=100, required=False, label="utm_source")
    utm_medium = forms.CharField(max_length=100, required=False, label="utm_medium")
    utm_campaign = forms.CharField(max_length=100, required=False, label="utm_campaign")


class ReportsIndexView(OrgPageMixin, TemplateView):
    """Every launched campaign side by side; the table sorts in the browser (static/js/reports.js)."""

    template_name = "analytics/index.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["rows"] = selectors.campaigns_comparison(self.org, selectors.reported_campaigns(self.org))
        return ctx


class CampaignReportView(OrgObjectMixin, DetailView):
    model = Campaign
    template_name = "analytics/campaign_report.html"
    context_object_name = "campaign"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        campaign, org = self.object, self.org
        report = selectors.campaign_report(org, campaign)
        form = RecipientFilterForm(self.request.GET or None)
        filters = form.filters()
        ctx.update(
            report=report,
            funnel=_funnel(report),
            blocked=selectors.reasons_in_words(report["blocked_reasons"]),
            deferred=selectors.reasons_in_words(
                report["deferred_reasons"],
                selectors.deferred_until_by_reason(org, campaign) if report["deferred_reasons"] else None,
            ),
            timeline=selectors.campaign_timeline(org, campaign),
            org_zone=org.timezone or "Europe/Paris",
            filter_form=form,
            filters=filters,
            recipients=selectors.campaign_recipients(
                org,
                campaign,
                status=filters.get("status") or "",
                clicked=filters.get("clicked") or "",
                before=filters.get("before"),
            ),
            links=list(TrackedLink.objects.filter(org=org, campaign=campaign).order_by("id")[:20]),
            utm_form=UtmForm(initial=_utm_initial(org, campaign)),
            can_write=role_can(self.membership.role, "write"),
        )
        return ctx


def _utm_initial(org, campaign) -> dict:
    utm = CampaignLinkOptions.objects.filter(org=org, campaign=campaign).values_list("utm", flat=True).first()
    return utm if utm is not None else default_utm(campaign.name)


def _funnel(report: dict) -> list[dict]:
    steps = [
        # Counts of messages: plural in French ("Envoyés"), unlike the status of one message.
        (pgettext("report funnel", "Targeted"), report["recipients"]),
        (pgettext("report funnel", "Sent"), report["status_counts"]["sent"]),
        (pgettext("report funnel", "Delivered"), report["status_counts"]["delivered"]),
        (pgettext("report funnel", "Clicked"), report["unique_clicks"]),
    ]
    top = steps[0][1] or 1
    return [{"label": label, "count": n, "percent": round(100 * n / top)} for label, n in steps]


class CampaignReportExportView(OrgObjectMixin, View):
    """The per-recipient outcomes as CSV for Excel (UTF-8 BOM, ``;``, formula-safe cells), streamed."""

    model = Campaign

    def get(self, request: HttpRequest, pk: int) -> StreamingHttpResponse:
        campaign = self.get_object()
        filters = RecipientFilterForm(request.GET or None).filters()
        rows = selectors.campaign_export_rows(
            self.org, campaign, status=filters.get("status") or "", clicked=filters.get("clicked") or ""
        )
        response = StreamingHttpResponse(iter_excel_csv(rows), content_type="text/csv; charset=utf-8")
        name = slugify(campaign.name)[:50] or "campaign"
        response["Content-Disposition"] = f'attachment; filename="report-{campaign.pk}-{name}.csv"'
        return response


class CampaignUtmView(OrgObjectMixin, View):
    """Sets the UTM parameters of a campaign's links (marketers and above)."""

    model = Campaign
    required_capability = "write"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        campaign = self.get_object()
        form = UtmForm(request.POST)
        if form.is_valid():
            services.campaign_utm_set(
                org=self.org, actor=request.user, campaign=campaign, utm=form.cleaned_data
            )
            messages.success(request, _("The UTM parameters of this campaign's links are saved."))
        return redirect("analytics:campaign", pk=campaign.pk)


# --- public ---------------------------------------------------------------------------------------


def _client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or ""


@never_cache
@require_safe
def short_link_redirect(request: HttpRequest, code: str) -> HttpResponse:
    """``/r/<code>``: counts a person's click and sends them on; bots and HEAD are sent on uncounted.

    Public and anonymous: the answer for an unknown or expired code is the same friendly page, and no
    answer says anything about the organisation, the campaign or the recipient.
    """
    outcome = services.click_record(
        code=code,
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
        ip=_client_ip(request),
        method=request.method,
    )
    if outcome is None:
        return render(request, "analytics/link_not_found.html", status=404)
    response = HttpResponseRedirect(outcome.url)
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response
