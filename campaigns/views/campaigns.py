"""The campaign pages (step 3): list, create, edit, detail, estimate, and the action buttons."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.generic import TemplateView, View

from billing.selectors import credits_balance
from billing.services import InsufficientCredits
from campaigns import selectors, services
from campaigns.composer import compose, sample_text
from campaigns.errors import InvalidTransition
from campaigns.forms import CampaignForm, sender_choices
from campaigns.models import Campaign, MessageStatus
from campaigns.rendering import contact_values
from campaigns.templatetags.campaigns_tags import buy_credits_url
from smsplatform.errors import DomainError
from smsplatform.tenancy import OrgObjectMixin, OrgPageMixin

from ._common import EDITABLE_STATUSES, STATUS_BADGES, S, blocked_rows, format_local, refusal_message
from .composer import ComposerContextMixin

DETAIL_TEMPLATE = "campaigns/ui/detail.html"


class CampaignListView(OrgPageMixin, TemplateView):
    template_name = "campaigns/ui/list.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        campaigns = selectors.campaigns_for_list(self.org)
        for c in campaigns:
            c.badge = STATUS_BADGES.get(c.status, "")
        ctx["campaigns"] = campaigns
        lists, segments = selectors.audience_choices(self.org)
        ctx["has_audience"] = bool(lists or segments)
        return ctx


class _CampaignFormMixin(ComposerContextMixin):
    template_name = "campaigns/ui/form.html"

    def make_form(self, data=None, initial=None):
        lists, segments = selectors.audience_choices(self.org)
        return CampaignForm(data, org=self.org, lists=lists, segments=segments, initial=initial)

    def saved(self, request, form, campaign, message: str):
        """Where a saved campaign goes: its page, or the billing page when the author asked to buy the
        credits it lacks (the draft is saved first, and the payment brings the author back to it)."""
        if request.POST.get("then") != "buy":
            messages.success(request, message)
            return redirect("campaigns:detail", pk=campaign.pk)
        data = form.cleaned_data
        counter = self.counter_for(
            body=campaign.body,
            category=campaign.category,
            smart=campaign.smart_encoding,
            transliterate_values=campaign.transliterate_merge_values,
            sender_id="",
            list_ids=data.get("list_ids") or [],
            segment_ids=data.get("segment_ids") or [],
        )
        messages.success(request, _("Draft saved. Buy the credits it needs, then launch it."))
        return redirect(buy_credits_url(campaign, max((counter.credits or 0) - credits_balance(self.org), 0)))

    def apply_errors(self, form, exc: ValidationError) -> None:
        mapping = {"list_ids": "list_ids", "segment_ids": "segment_ids"}
        if hasattr(exc, "error_dict"):
            for key, errors in exc.message_dict.items():
                field = mapping.get(key, key)
                form.add_error(field if field in form.fields else None, errors)
        else:
            form.add_error(None, exc.messages)


class CampaignCreateView(_CampaignFormMixin, OrgPageMixin, TemplateView):
    def get(self, request):
        initial = {"sender_id": (sender_choices(self.org) or [""])[0]}
        template_id = request.GET.get("template")
        if template_id:
            template = (
                selectors.org_templates(self.org).filter(pk=template_id).first()
                if (template_id.isdigit())
                else None
            )
            if template is not None:
                initial["body"] = template.body
        wanted = {value for value in request.GET.getlist("list") if value.isdigit()}
        if wanted:
            # ?list=<id> (repeatable), e.g. from the end of an import: only this organisation's lists;
            # another's id is dropped, never shown nor counted.
            own_lists = selectors.audience_choices(self.org)[0]
            initial["list_ids"] = [str(pk) for pk, _name, _count in own_lists if str(pk) in wanted]
        return self.render_to_response(self.composer_context(self.make_form(initial=initial)))

    def post(self, request):
        form = self.make_form(request.POST)
        if form.is_valid():
            try:
                campaign = services.campaign_create(org=self.org, actor=request.user, **form.service_fields())
            except ValidationError as exc:
                self.apply_errors(form, exc)
            else:
                return self.saved(
                    request, form, campaign, _("Campaign saved. Check the estimate, then launch it.")
                )
        return self.render_to_response(self.composer_context(form), status=400)


class CampaignEditView(_CampaignFormMixin, OrgObjectMixin, TemplateView):
    model = Campaign

    def _editable(self, campaign) -> bool:
        if campaign.status in EDITABLE_STATUSES:
            return True
        messages.error(
            self.request,
            _("This campaign is %(status)s: what is sending or sent cannot be edited.")
            % {"status": campaign.get_status_display().lower()},
        )
        return False

    def get(self, request, pk):
        campaign = self.get_object()
        if not self._editable(campaign):
            return redirect("campaigns:detail", pk=campaign.pk)
        form = self.make_form(initial=CampaignForm.initial_for(campaign, self.org))
        return self.render_to_response(self.composer_context(form, campaign))

    def post(self, request, pk):
        campaign = self.get_object()
        if not self._editable(campaign):
            return redirect("campaigns:detail", pk=campaign.pk)
        form = self.make_form(request.POST)
        if form.is_valid():
            try:
                services.campaign_update(
                    org=self.org, actor=request.user, campaign=campaign, **form.service_fields()
                )
            except ValidationError as exc:
                self.apply_errors(form, exc)
            except DomainError as exc:
                form.add_error(None, refusal_message(exc, "edit"))
            else:
                return self.saved(request, form, campaign, _("Campaign saved."))
        return self.render_to_response(self.composer_context(form, campaign), status=400)


def _sample_for(org, campaign) -> dict | None:
    """The message as the first recipient of the audience will read it (a name with an accent first)."""
    found = selectors.audience_sample(org, campaign.list_ids or [], campaign.segment_ids or [], limit=1)
    row = found and selectors.audience_contact(org, campaign.list_ids, campaign.segment_ids, found[0].pk)
    if not row:
        return None
    text = sample_text(
        campaign.body,
        contact_values(row),
        stop_mention=org.stop_mention,
        category=campaign.category,
        smart=campaign.smart_encoding,
        transliterate_values=campaign.transliterate_merge_values,
    )
    return {
        "name": " ".join(filter(None, [row["first_name"], row["last_name"]])) or row["phone"],
        "text": text,
    }


def campaign_detail_context(org, campaign, **extra) -> dict:
    """What the detail page shows of a campaign; ``extra`` adds a refusal to explain (an action's error,
    credits short)."""
    campaign.badge = STATUS_BADGES.get(campaign.status, "")
    counter = compose(
        body=campaign.body,
        stop_mention=org.stop_mention,
        category=campaign.category,
        smart=campaign.smart_encoding,
    )
    sample = None
    if counter.fields_used and campaign.status in EDITABLE_STATUSES:
        sample = _sample_for(org, campaign)
    list_names = dict((pk, name) for pk, name, _count in selectors.audience_choices(org)[0])
    segment_names = dict(selectors.audience_choices(org)[1])
    ctx = {
        "campaign": campaign,
        "counter": counter,
        "sample": sample,
        "lists": [list_names.get(i, f"#{i}") for i in campaign.list_ids or []],
        "segments": [segment_names.get(i, f"#{i}") for i in campaign.segment_ids or []],
        "editable": campaign.status in EDITABLE_STATUSES,
        "can_launch": campaign.status in EDITABLE_STATUSES,
        "can_pause": campaign.status == S.SENDING,
        "can_resume": campaign.status == S.PAUSED,
        "can_cancel": campaign.status in (S.DRAFT, S.SCHEDULED, S.SENDING, S.PAUSED),
        "can_delete": campaign.status in EDITABLE_STATUSES,
        "scheduled_in_future": bool(campaign.scheduled_at and campaign.scheduled_at > timezone.now()),
        "org_zone": org.timezone or "Europe/Paris",
    }
    if campaign.status not in EDITABLE_STATUSES:
        labels = dict(MessageStatus.choices)
        counts = selectors.campaign_status_counts(campaign)
        # Only the statuses that occur, in the order of the pipeline, with their translated label.
        ctx["status_counts"] = [(status, labels[status], n) for status, n in counts.items() if n]
        ctx["recent_messages"] = list(selectors.org_messages(org, campaign_id=campaign.pk)[:50])
    ctx.update(extra)
    return ctx


class CampaignDetailView(OrgObjectMixin, TemplateView):
    model = Campaign
    template_name = DETAIL_TEMPLATE

    def get(self, request, pk):
        return self.render_to_response(campaign_detail_context(self.org, self.get_object()))


class CampaignEstimateView(OrgObjectMixin, View):
    """The estimate of a draft or scheduled campaign (loaded by htmx after the page: it reads the whole
    audience)."""

    model = Campaign

    def get(self, request, pk):
        campaign = self.get_object()
        estimate = services.campaign_estimate(org=self.org, campaign=campaign)
        return render(
            request,
            "campaigns/ui/_estimate.html",
            {
                "campaign": campaign,
                "estimate": estimate,
                "blocked": blocked_rows(estimate.get("blocked") or {}),
                "blocked_total": sum((estimate.get("blocked") or {}).values()),
                "until": format_local(estimate.get("deferred_until"), self.org),
                "at": format_local(estimate.get("at"), self.org),
                "short": max(estimate["credits"] - estimate["balance"], 0),
            },
        )


class CampaignActionView(OrgObjectMixin, View):
    """Launch, pause, resume, cancel or delete, from the buttons of the detail page."""

    model = Campaign
    action = ""

    def post(self, request, pk):
        campaign = self.get_object()
        call = {
            "launch": services.campaign_launch,
            "pause": services.campaign_pause,
            "resume": services.campaign_resume,
            "cancel": services.campaign_cancel,
            "delete": services.campaign_delete,
        }[self.action]
        try:
            result = call(org=self.org, actor=request.user, campaign=campaign)
        except DomainError as exc:
            return self.refused(campaign, exc)
        except ValidationError as exc:
            ctx = campaign_detail_context(self.org, campaign, action_error=" ".join(exc.messages))
            return render(request, DETAIL_TEMPLATE, ctx, status=400)
        messages.success(request, self.done_message(result))
        if self.action == "delete":
            return redirect("campaigns:list")
        return redirect("campaigns:detail", pk=campaign.pk)

    def refused(self, campaign, exc):
        """The detail page again, explaining the refusal, with the error's own status."""
        if isinstance(exc, InsufficientCredits):
            short = {"needed": exc.needed, "available": exc.available, "short": exc.needed - exc.available}
            ctx = campaign_detail_context(self.org, campaign, insufficient=short)
            return render(self.request, DETAIL_TEMPLATE, ctx, status=exc.http_status)
        if isinstance(exc, InvalidTransition):
            campaign.refresh_from_db()
        ctx = campaign_detail_context(self.org, campaign, action_error=refusal_message(exc, self.action))
        return render(self.request, DETAIL_TEMPLATE, ctx, status=exc.http_status)

    def done_message(self, result) -> str:
        if self.action == "delete":
            return _("Campaign deleted.")
        if self.action == "launch":
            if result.status == S.SCHEDULED:
                return _("Campaign scheduled for %(when)s. Credits are reserved when it starts.") % {
                    "when": format_local(result.scheduled_at, self.org)
                }
            return _("Sending started to %(n)s recipients; %(credits)s credits reserved.") % {
                "n": result.recipients,
                "credits": result.credits_reserved,
            }
        if self.action == "pause":
            return _("Campaign paused: no further message leaves until you resume it.")
        if self.action == "resume":
            return _("Campaign resumed.")
        return _("Campaign cancelled. The credits of unsent messages are given back.")
