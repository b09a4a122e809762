"""The shop owner's campaign pages: the composer (step 2), the campaign pages and the calendar (step 3).

Views validate a form, call a service of :mod:`campaigns.services`, and render. Errors of the domain
become statuses the pages show in words: 402 (not enough credits, with the way to buy more), 409 (the
campaign is not in a state that allows the action), 400 (invalid input).
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from billing.selectors import credits_balance
from billing.services import InsufficientCredits
from campaigns import own_number, services
from campaigns import selectors as campaign_selectors
from campaigns.errors import CampaignError, EmptyAudience, InvalidTransition
from campaigns.models import Campaign, CampaignStatus, Category, MessageStatus, Template
from campaigns.rendering import CONTACT_FIELDS
from compliance.encoding import count_segments
from compliance.gate import FREQUENCY_CAP, NO_CONSENT, NO_WINDOW, SUPPRESSED
from smsplatform.tenancy import OrgObjectMixin, OrgPageMixin

from . import selectors
from .composer import compose, replace_all, replace_char
from .forms import (
    CampaignForm,
    ComposerForm,
    TemplateForm,
    TestSendForm,
    org_zone,
    parse_instant,
    sender_choices,
    sender_reasons,
)

S = CampaignStatus
EDITABLE_STATUSES = (S.DRAFT, S.SCHEDULED)
ACTIVE_STATUSES = (S.SENDING, S.PAUSED)

STATUS_BADGES = {
    S.DRAFT: "status-draft",
    S.SCHEDULED: "status-scheduled",
    S.SENDING: "status-sending",
    S.PAUSED: "status-paused",
    S.COMPLETED: "status-completed",
    S.CANCELLED: "status-cancelled",
    S.FAILED: "status-failed",
}

BLOCK_REASONS = {
    SUPPRESSED: gettext_lazy("opted out (STOP)"),
    NO_CONSENT: gettext_lazy("no consent on record"),
    FREQUENCY_CAP: gettext_lazy("frequency cap reached"),
    NO_WINDOW: gettext_lazy("no allowed sending time"),
}

ACTION_VERBS = {
    "launch": gettext_lazy("launched"),
    "pause": gettext_lazy("paused"),
    "resume": gettext_lazy("resumed"),
    "cancel": gettext_lazy("cancelled"),
    "delete": gettext_lazy("deleted"),
    "edit": gettext_lazy("edited"),
    "reschedule": gettext_lazy("rescheduled"),
}

MERGE_BUTTONS = [
    ("first_name", gettext_lazy("First name"), gettext_lazy("customer")),
    ("last_name", gettext_lazy("Last name"), ""),
    ("city", gettext_lazy("City"), ""),
]


def _language() -> str:
    return (get_language() or "fr")[:2]


def transition_message(exc: InvalidTransition, action: str) -> str:
    status = dict(S.choices).get(exc.current, exc.current)
    return _("This campaign is %(status)s: it cannot be %(verb)s.") % {
        "status": str(status).lower(),
        "verb": ACTION_VERBS.get(action, action),
    }


def blocked_rows(blocked: dict[str, int]) -> list[tuple[str, str, int]]:
    return [
        (code, str(BLOCK_REASONS.get(code, code)), n)
        for code, n in sorted(blocked.items(), key=lambda kv: -kv[1])
    ]


def format_local(dt, org) -> str:
    if dt is None:
        return ""
    local = dt.astimezone(org_zone(org))
    return date_format(local, "l j F Y") + " " + local.strftime("%H:%M")


# --- composer -----------------------------------------------------------------------------------------


class _ComposerContextMixin:
    """What the composer needs around the form: merge fields, senders, templates, the audience."""

    def composer_context(self, form, campaign=None) -> dict:
        org = self.org
        counter = self.counter_for(
            body=form["body"].value() or "",
            category=form["category"].value() or Category.MARKETING,
            smart=bool(form["smart_encoding"].value()),
            sender_id=form["sender_id"].value() or "",
            list_ids=form["list_ids"].value() or [],
            segment_ids=form["segment_ids"].value() or [],
        )
        templates = list(campaign_selectors.org_templates(org).values("id", "name", "body")[:200])
        attributes = [key for key in selectors.merge_attribute_keys(org) if key not in CONTACT_FIELDS]
        return {
            "form": form,
            "campaign": campaign,
            "counter": counter,
            "stop_mention": org.stop_mention,
            "merge_buttons": MERGE_BUTTONS,
            "attribute_keys": attributes,
            "sender_options": sender_choices(org),
            "templates": templates,
            "templates_json": [{"id": t["id"], "name": t["name"], "body": t["body"]} for t in templates],
            "org_zone": org.timezone or "Europe/Paris",
            "balance": credits_balance(org),
        }

    def counter_for(self, *, body, category, smart, sender_id, list_ids, segment_ids):
        cost = selectors.audience_cost(self.org, list_ids, segment_ids) if (list_ids or segment_ids) else None
        counter = compose(
            body=body,
            stop_mention=self.org.stop_mention,
            category=category,
            smart=smart,
            sender_id=sender_id,
            cost=cost,
        )
        counter.sender_messages = sender_reasons(counter.sender) if counter.sender else []
        return counter


class ComposerCounterView(_ComposerContextMixin, OrgPageMixin, View):
    """The live counter (htmx, on input, debounced): characters, encoding, segments, credits, culprits."""

    required_capability = "read"

    def post(self, request):
        lists, segments = selectors.audience_choices(self.org)
        form = ComposerForm(request.POST, org=self.org, lists=lists, segments=segments)
        form.is_valid()  # every field is optional; invalid ids are simply ignored
        data = form.cleaned_data
        counter = self.counter_for(
            body=request.POST.get("body", ""),
            category=data.get("category") or Category.MARKETING,
            smart=bool(data.get("smart_encoding")),
            sender_id=(data.get("sender_id") or "").strip(),
            list_ids=data.get("list_ids") or [],
            segment_ids=data.get("segment_ids") or [],
        )
        return render(
            request, "campaigns/ui/_counter.html", {"counter": counter, "balance": credits_balance(self.org)}
        )


class ComposerFixView(OrgPageMixin, View):
    """The one-click fix: the body with one character (or every UCS-2 culprit) replaced.

    JSON ``{body, before, after}`` (segments); the composer's script puts ``body`` back in the text area
    and the counter refreshes. Nothing is stored: the author still saves the campaign.
    """

    required_capability = "read"

    def post(self, request):
        body = request.POST.get("body", "")
        char = request.POST.get("char", "")
        if request.POST.get("all"):
            fixed = replace_all(body)
        else:
            if len(char) != 1:
                return JsonResponse({"detail": _("Choose one character to replace.")}, status=400)
            fixed = replace_char(body, char)
        return JsonResponse({"body": fixed, "before": count_segments(body), "after": count_segments(fixed)})


class ComposerWindowView(OrgPageMixin, View):
    """What the gate would do with the chosen audience at the chosen date and time (htmx, read only)."""

    required_capability = "read"

    def post(self, request):
        lists, segments = selectors.audience_choices(self.org)
        form = CampaignForm(request.POST, org=self.org, lists=lists, segments=segments)
        form.is_valid()
        data = form.cleaned_data
        preview = None
        at = data.get("scheduled_at")
        if data.get("when") == "later" and at is not None:
            preview = selectors.window_preview(
                self.org,
                list_ids=data.get("list_ids") or [],
                segment_ids=data.get("segment_ids") or [],
                at=at,
                category=data.get("category") or Category.MARKETING,
                language=_language(),
            )
        return render(
            request,
            "campaigns/ui/_window_preview.html",
            {
                "preview": preview,
                "until": format_local(preview.deferred_until, self.org) if preview else "",
                "blocked": blocked_rows(preview.blocked) if preview else [],
            },
        )


def _refusal(request, template: str, context: dict, exc: Exception, short_of_credits: str):
    """The partial again, saying what went wrong: 400 for bad input, 402 with a link to buy credits."""
    if isinstance(exc, InsufficientCredits):
        context.update(error=short_of_credits, buy=True)
        return render(request, template, context, status=402)
    context["error"] = " ".join(exc.messages)
    return render(request, template, context, status=400)


class TestSendView(OrgPageMixin, View):
    """A test of the message to the user's own verified mobile, rendered with the fallbacks, STOP mention
    included (a transactional send: it leaves at once, costs its segments)."""

    def post(self, request):
        form = TestSendForm(request.POST)
        form.is_valid()  # every field is optional; an invalid one is simply left out
        data = form.cleaned_data
        context: dict = {"sent": None, "error": ""}
        try:
            message = own_number.send_test_to_own_number(
                org=self.org,
                user=request.user,
                body=data.get("body") or "",
                category=data.get("category"),
                smart_encoding=bool(data.get("smart_encoding")),
            )
        except (ValidationError, InsufficientCredits) as exc:
            short = _("Not enough credits for a test.")
            return _refusal(request, "campaigns/ui/_test_send.html", context, exc, short)
        context["sent"] = message
        context["to"] = message.to
        return render(request, "campaigns/ui/_test_send.html", context)


class OwnNumberCodeView(OrgPageMixin, View):
    """Step 1 of verifying the user's test number: a code sent to it by SMS."""

    def post(self, request):
        context: dict = {"stage": "phone", "error": "", "phone": request.POST.get("phone", "")}
        try:
            context["pending"] = own_number.own_number_code_send(
                org=self.org, user=request.user, phone=context["phone"]
            )
        except (ValidationError, InsufficientCredits) as exc:
            short = _("Not enough credits to send the code.")
            return _refusal(request, "campaigns/ui/_test_box.html", context, exc, short)
        context["stage"] = "code"
        return render(request, "campaigns/ui/_test_box.html", context)


class OwnNumberConfirmView(OrgPageMixin, View):
    """Step 2: the code typed back; the number then receives the tests."""

    def post(self, request):
        context: dict = {"stage": "code", "error": "", "pending": request.user.test_phone_pending}
        try:
            own_number.own_number_confirm(org=self.org, user=request.user, code=request.POST.get("code", ""))
        except ValidationError as exc:
            context["error"] = " ".join(exc.messages)
            return render(request, "campaigns/ui/_test_box.html", context, status=400)
        context.update(stage="verified", verified_now=True)
        return render(request, "campaigns/ui/_test_box.html", context)


# --- campaigns ----------------------------------------------------------------------------------------


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


class _CampaignFormMixin(_ComposerContextMixin):
    template_name = "campaigns/ui/form.html"

    def make_form(self, data=None, initial=None):
        lists, segments = selectors.audience_choices(self.org)
        return CampaignForm(data, org=self.org, lists=lists, segments=segments, initial=initial)

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
                campaign_selectors.org_templates(self.org).filter(pk=template_id).first()
                if (template_id.isdigit())
                else None
            )
            if template is not None:
                initial["body"] = template.body
        return self.render_to_response(self.composer_context(self.make_form(initial=initial)))

    def post(self, request):
        form = self.make_form(request.POST)
        if form.is_valid():
            try:
                campaign = services.campaign_create(org=self.org, actor=request.user, **form.service_fields())
            except ValidationError as exc:
                self.apply_errors(form, exc)
            else:
                messages.success(request, _("Campaign saved. Check the estimate, then launch it."))
                return redirect("campaigns_ui:detail", pk=campaign.pk)
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
            return redirect("campaigns_ui:detail", pk=campaign.pk)
        form = self.make_form(initial=CampaignForm.initial_for(campaign, self.org))
        return self.render_to_response(self.composer_context(form, campaign))

    def post(self, request, pk):
        campaign = self.get_object()
        if not self._editable(campaign):
            return redirect("campaigns_ui:detail", pk=campaign.pk)
        form = self.make_form(request.POST)
        if form.is_valid():
            try:
                services.campaign_update(
                    org=self.org, actor=request.user, campaign=campaign, **form.service_fields()
                )
            except ValidationError as exc:
                self.apply_errors(form, exc)
            except InvalidTransition as exc:
                form.add_error(None, transition_message(exc, "edit"))
            else:
                messages.success(request, _("Campaign saved."))
                return redirect("campaigns_ui:detail", pk=campaign.pk)
        return self.render_to_response(self.composer_context(form, campaign), status=400)


class CampaignDetailView(OrgObjectMixin, TemplateView):
    model = Campaign
    template_name = "campaigns/ui/detail.html"

    def get(self, request, pk):
        return self.render_to_response(self.detail_context(self.get_object()))

    def detail_context(self, campaign, **extra) -> dict:
        campaign.badge = STATUS_BADGES.get(campaign.status, "")
        counter = compose(
            body=campaign.body,
            stop_mention=self.org.stop_mention,
            category=campaign.category,
            smart=campaign.smart_encoding,
        )
        list_names = dict((pk, name) for pk, name, _count in selectors.audience_choices(self.org)[0])
        segment_names = dict(selectors.audience_choices(self.org)[1])
        ctx = {
            "campaign": campaign,
            "counter": counter,
            "lists": [list_names.get(i, f"#{i}") for i in campaign.list_ids or []],
            "segments": [segment_names.get(i, f"#{i}") for i in campaign.segment_ids or []],
            "editable": campaign.status in EDITABLE_STATUSES,
            "can_launch": campaign.status in EDITABLE_STATUSES,
            "can_pause": campaign.status == S.SENDING,
            "can_resume": campaign.status == S.PAUSED,
            "can_cancel": campaign.status in (S.DRAFT, S.SCHEDULED, S.SENDING, S.PAUSED),
            "can_delete": campaign.status in EDITABLE_STATUSES,
            "scheduled_in_future": bool(campaign.scheduled_at and campaign.scheduled_at > timezone.now()),
            "org_zone": self.org.timezone or "Europe/Paris",
        }
        if campaign.status not in EDITABLE_STATUSES:
            labels = dict(MessageStatus.choices)
            counts = campaign_selectors.campaign_status_counts(campaign)
            # Only the statuses that occur, in the order of the pipeline, with their translated label.
            ctx["status_counts"] = [(status, labels[status], n) for status, n in counts.items() if n]
            ctx["recent_messages"] = list(
                campaign_selectors.org_messages(self.org, campaign_id=campaign.pk)[:50]
            )
        ctx.update(extra)
        return ctx


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
        detail = CampaignDetailView()
        detail.setup(request, pk=pk)
        detail.org, detail.membership = self.org, self.membership
        try:
            result = call(org=self.org, actor=request.user, campaign=campaign)
        except InsufficientCredits as exc:
            ctx = detail.detail_context(
                campaign,
                insufficient={
                    "needed": exc.needed,
                    "available": exc.available,
                    "short": exc.needed - exc.available,
                },
            )
            return render(request, detail.template_name, ctx, status=402)
        except InvalidTransition as exc:
            campaign.refresh_from_db()
            ctx = detail.detail_context(campaign, action_error=transition_message(exc, self.action))
            return render(request, detail.template_name, ctx, status=409)
        except (EmptyAudience, CampaignError) as exc:
            ctx = detail.detail_context(campaign, action_error=exc.detail)
            return render(request, detail.template_name, ctx, status=400)
        except ValidationError as exc:
            ctx = detail.detail_context(campaign, action_error=" ".join(exc.messages))
            return render(request, detail.template_name, ctx, status=400)
        if self.action == "delete":
            messages.success(request, _("Campaign deleted."))
            return redirect("campaigns_ui:list")
        if self.action == "launch":
            if result.status == S.SCHEDULED:
                messages.success(
                    request,
                    _("Campaign scheduled for %(when)s. Credits are reserved when it starts.")
                    % {"when": format_local(result.scheduled_at, self.org)},
                )
            else:
                messages.success(
                    request,
                    _("Sending started to %(n)s recipients; %(credits)s credits reserved.")
                    % {"n": result.recipients, "credits": result.credits_reserved},
                )
        elif self.action == "pause":
            messages.success(request, _("Campaign paused: no further message leaves until you resume it."))
        elif self.action == "resume":
            messages.success(request, _("Campaign resumed."))
        elif self.action == "cancel":
            messages.success(request, _("Campaign cancelled. The credits of unsent messages are given back."))
        return redirect("campaigns_ui:detail", pk=campaign.pk)


# --- calendar -----------------------------------------------------------------------------------------


class CalendarView(OrgPageMixin, TemplateView):
    template_name = "campaigns/ui/calendar.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["calendar_config"] = {
            "eventsUrl": reverse("campaigns_ui:calendar_events"),
            "rescheduleUrl": reverse("campaigns_ui:reschedule", kwargs={"pk": 0}),
            "previewUrl": reverse("campaigns_ui:at_preview", kwargs={"pk": 0}),
            "locale": _language(),
            "canWrite": self.membership.can("write"),
            "timeZone": self.org.timezone or "Europe/Paris",
            "text": {
                "confirm": _("Move “%(name)s” to %(when)s?"),
                "deferred": _(
                    "%(deferred)s of %(recipients)s recipients would be deferred (quiet hours) "
                    "until %(until)s."
                ),
                "blocked": _("%(blocked)s would be blocked (no consent, opted out or frequency cap)."),
                "allInWindow": _("Every recipient is inside the sending window at that time."),
                "failed": _("The campaign could not be moved."),
                "moved": _("Campaign moved."),
            },
        }
        return ctx


class CalendarEventsView(OrgPageMixin, View):
    """The calendar's feed: the organisation's campaigns between ``start`` and ``end``.

    Times are the organisation's wall times without offset: the calendar displays them as they are, so
    the owner sees the time of the shop, whatever the time zone of the browser.
    """

    def get(self, request):
        tz = org_zone(self.org)
        now = timezone.now()
        start = parse_instant(request.GET.get("start", ""), self.org) or now - timedelta(days=45)
        end = parse_instant(request.GET.get("end", ""), self.org) or now + timedelta(days=45)
        # The calendar asks in its own "UTC" wall time: a day of margin covers any offset.
        start, end = start - timedelta(days=1), end + timedelta(days=1)
        if end - start > timedelta(days=400):
            end = start + timedelta(days=400)
        events = []
        for c in campaign_selectors.calendar_campaigns(self.org, start, end)[:1000]:
            when = c.scheduled_at if c.status in EDITABLE_STATUSES else (c.launched_at or c.scheduled_at)
            if when is None:
                continue
            local = when.astimezone(tz).replace(tzinfo=None)
            events.append(
                {
                    "id": str(c.pk),
                    "title": c.name,
                    "start": local.isoformat(timespec="minutes"),
                    "url": reverse("campaigns_ui:detail", kwargs={"pk": c.pk}),
                    "editable": c.status == S.SCHEDULED,
                    "classNames": ["cal-event", STATUS_BADGES.get(c.status, "")],
                    "extendedProps": {
                        "status": c.status,
                        "statusLabel": str(c.get_status_display()),
                        "recipients": c.recipients,
                    },
                }
            )
        return JsonResponse(events, safe=False)


class CampaignAtPreviewView(OrgObjectMixin, View):
    """Dry run of the gate for this campaign's audience at ``?at=`` (the calendar asks before a move)."""

    model = Campaign

    def get(self, request, pk):
        campaign = self.get_object()
        at = parse_instant(request.GET.get("at", ""), self.org)
        if at is None:
            return JsonResponse({"detail": _("Give a date and time."), "code": "invalid_at"}, status=400)
        estimate = services.campaign_estimate(org=self.org, campaign=campaign, at=at)
        until = estimate.get("deferred_until")
        blocked = estimate.get("blocked") or {}
        return JsonResponse(
            {
                "at": at.isoformat(),
                "at_display": format_local(at, self.org),
                "recipients": estimate["recipients"],
                "credits": estimate["credits"],
                "deferred": estimate["deferred"],
                "deferred_until": until.isoformat() if until else None,
                "deferred_until_display": format_local(until, self.org),
                "blocked": blocked,
                "blocked_total": sum(blocked.values()),
                "allowed": estimate["recipients"] - estimate["deferred"] - sum(blocked.values()),
            }
        )


class CampaignRescheduleView(OrgObjectMixin, View):
    """Drag and drop on the calendar: a scheduled campaign gets a new date (JSON in, JSON out)."""

    model = Campaign

    def post(self, request, pk):
        campaign = self.get_object()
        at = parse_instant(request.POST.get("at", ""), self.org)
        if at is None:
            return JsonResponse({"detail": _("Give a date and time."), "code": "invalid_at"}, status=400)
        if campaign.status != S.SCHEDULED:
            status = str(campaign.get_status_display()).lower()
            return JsonResponse(
                {
                    "detail": _("Only a scheduled campaign can be moved; this one is %(status)s.")
                    % {"status": status},
                    "code": f"invalid_state_{campaign.status}",
                },
                status=409,
            )
        if at <= timezone.now():
            return JsonResponse(
                {"detail": _("Choose a date and time in the future."), "code": "past"}, status=400
            )
        try:
            campaign = services.campaign_update(
                org=self.org, actor=request.user, campaign=campaign, scheduled_at=at
            )
        except InvalidTransition as exc:
            return JsonResponse(
                {"detail": transition_message(exc, "reschedule"), "code": exc.code}, status=409
            )
        except ValidationError as exc:
            return JsonResponse({"detail": " ".join(exc.messages), "code": "invalid"}, status=400)
        return JsonResponse(
            {
                "id": campaign.pk,
                "scheduled_at": campaign.scheduled_at.isoformat(),
                "scheduled_display": format_local(campaign.scheduled_at, self.org),
                "detail": _("Campaign moved to %(when)s.")
                % {"when": format_local(campaign.scheduled_at, self.org)},
            }
        )


# --- templates ----------------------------------------------------------------------------------------


class TemplatesView(OrgPageMixin, TemplateView):
    """Saved messages: the list, and the save from the composer (htmx) or from this page."""

    template_name = "campaigns/ui/templates.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["templates"] = campaign_selectors.org_templates(self.org)[:500]
        ctx.setdefault("form", TemplateForm())
        return ctx

    def post(self, request):
        form = TemplateForm(request.POST)
        htmx = bool(request.headers.get("HX-Request"))
        if form.is_valid():
            try:
                template = services.template_create(
                    org=self.org,
                    actor=request.user,
                    name=form.cleaned_data["name"],
                    body=form.cleaned_data["body"],
                )
            except ValidationError as exc:
                for key, errors in exc.message_dict.items():
                    form.add_error(key if key in form.fields else None, errors)
            else:
                if htmx:
                    return render(request, "campaigns/ui/_template_saved.html", {"template": template})
                messages.success(request, _("Template saved."))
                return redirect("campaigns_ui:templates")
        if htmx:
            return render(request, "campaigns/ui/_template_saved.html", {"form": form}, status=400)
        return self.render_to_response(self.get_context_data(form=form), status=400)


class TemplateDeleteView(OrgObjectMixin, View):
    model = Template

    def post(self, request, pk):
        template = self.get_object()
        services.template_delete(org=self.org, actor=request.user, template=template)
        messages.success(request, _("Template deleted."))
        return redirect("campaigns_ui:templates")
