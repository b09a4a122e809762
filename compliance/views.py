"""The "Sending rules" page: the organisation's pack in plain words, the coming public holidays of the
regions it has contacts in, and a checker (number + date and time -> decision and explanation)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView

from smsplatform.models import role_can
from smsplatform.tenancy import SAFE_METHODS, OrgObjectMixin, OrgPageMixin

from .checker import check_number, org_policy
from .context import holiday_dates, holiday_names
from .display import calendar_name
from .forms import CheckerForm, SenderProofForm, SenderRequestForm, SendingRulesForm
from .models import SenderId, SenderStatus
from .packs import rules_summary
from .selectors import contact_calendars
from .sender_registry import (
    default_sender_name,
    org_senders,
    sender_proof_attach,
    sender_request,
    sender_view,
)
from .services import sending_rules_update


def upcoming_holidays(
    calendar: str, today: date, count: int = 5, language: str = "fr"
) -> list[tuple[date, str]]:
    dates = sorted(
        d for year in (today.year, today.year + 1) for d in holiday_dates(calendar, year) if d >= today
    )
    names: dict[date, str] = {}
    for year in {d.year for d in dates[:count]}:
        names.update(holiday_names(calendar, year, language))
    return [(d, names.get(d, "")) for d in dates[:count]]


class SendingRulesView(OrgPageMixin, TemplateView):
    """Everyone in the organisation reads the rules and uses the checker (GET); owners and admins change
    the pack and the organisation's own, stricter rules (POST)."""

    template_name = "compliance/sending_rules.html"

    @property
    def required_capability(self) -> str:
        return "read" if self.request.method in SAFE_METHODS else "manage"

    def post(self, request, *args, **kwargs):
        form = SendingRulesForm(request.POST, org=self.org)
        if form.is_valid():
            try:
                sending_rules_update(
                    org=self.org,
                    actor=request.user,
                    rule_pack=form.cleaned_data["rule_pack"],
                    restrictions=form.restrictions,
                )
            except ValidationError as exc:
                form.add_policy_errors(exc)
            else:
                messages.success(request, _("Your sending rules are saved."))
                return redirect(reverse("compliance:sending_rules") + "#summary-title")
        return self.render_to_response(self.get_context_data(settings_form=form))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_manage"] = role_can(self.membership.role, "manage")
        if context["can_manage"] and "settings_form" not in context:
            context["settings_form"] = SendingRulesForm(org=self.org)
        language = (get_language() or "fr")[:2]
        policy = org_policy(self.org)
        org_tz = ZoneInfo(self.org.timezone or "Europe/Paris")
        today = timezone.now().astimezone(org_tz).date()
        context["policy"] = policy
        context["pack_name"] = policy.pack.name
        # Each rule said once, in one list: the windows, closed days, holidays, caps and closing dates.
        context["summary"] = rules_summary(policy)
        context["regions"] = [
            {
                "calendar": calendar,
                "name": calendar_name(calendar),
                "holidays": upcoming_holidays(calendar, today, language=language),
            }
            for calendar in dict.fromkeys(calendar for _region, calendar in contact_calendars(self.org))
        ]
        form = CheckerForm(self.request.GET or None, initial={"date": today})
        context["form"] = form
        if form.is_bound and form.is_valid():
            data = form.cleaned_data
            at = datetime.combine(data["date"], data["time"]).replace(tzinfo=org_tz)
            try:
                context["result"] = check_number(
                    org=self.org, phone=data["phone"], at=at, category=data["category"],
                    postal_code=data["postal_code"],
                )  # fmt: skip
                context["result_messages"] = [r.message(language) for r in context["result"].decision.reasons]
            except ValueError:
                form.add_error("phone", _("This is not a valid phone number."))
        return context


# --- sender IDs --------------------------------------------------------------------------------------


def _apply_sender_error(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for key, errors in exc.message_dict.items():
            form.add_error(key if key in form.fields else None, errors)
    else:
        form.add_error("name" if "name" in form.fields else None, exc.messages)


class SendersView(OrgPageMixin, TemplateView):
    """The organisation's sender IDs and their status; a form to request one, with its proof. Everyone
    reads; owners, admins and marketers request (the operator approves on a real gateway)."""

    template_name = "compliance/senders.html"

    def post(self, request, *args, **kwargs):
        form = SenderRequestForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                sender, created = sender_request(
                    org=self.org,
                    actor=request.user,
                    name=form.cleaned_data["name"],
                    proof=form.cleaned_data.get("proof"),
                )
            except ValidationError as exc:
                _apply_sender_error(form, exc)
            else:
                view = sender_view(self.org, sender)
                if view.status == SenderStatus.APPROVED:
                    messages.success(
                        request, _("“%(name)s” is yours: you can send with it.") % {"name": sender.name}
                    )
                elif created or view.status == SenderStatus.PENDING:
                    messages.success(
                        request,
                        _("“%(name)s” is requested: the operator approves it after checking your proof.")
                        % {"name": sender.name},
                    )
                return redirect("compliance:senders")
        return self.render_to_response(self.get_context_data(form=form), status=400)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", SenderRequestForm())
        context["can_write"] = role_can(self.membership.role, "write")
        context["senders"] = [sender_view(self.org, s) for s in org_senders(self.org)]
        context["default_sender"] = default_sender_name(self.org)
        context["on_sandbox"] = self.org.on_sandbox
        context.setdefault("proof_form", SenderProofForm())
        return context


class SenderProofView(OrgObjectMixin, TemplateView):
    """Uploads (or replaces) the proof of one of the organisation's sender IDs."""

    model = SenderId
    template_name = "compliance/senders.html"

    def get(self, request, pk):
        self.get_object()  # another organisation's sender: 404
        return redirect("compliance:senders")

    def post(self, request, pk):
        sender = self.get_object()
        form = SenderProofForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                sender_proof_attach(
                    org=self.org, actor=request.user, sender=sender, proof=form.cleaned_data["proof"]
                )
            except ValidationError as exc:
                _apply_sender_error(form, exc)
            else:
                messages.success(request, _("The proof of “%(name)s” is saved.") % {"name": sender.name})
                return redirect("compliance:senders")
        page = SendersView()
        page.setup(request)
        page.org, page.membership = self.org, self.membership
        context = page.get_context_data(proof_form=form, proof_sender=sender.pk)
        return self.render_to_response(context, status=400)
