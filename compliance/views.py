"""The "Sending rules" page: the organisation's pack in plain words, the coming public holidays of the
regions it has contacts in, and a checker (number + date and time -> decision and explanation)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView

from smsplatform.tenancy import OrgPageMixin

from .checker import check_number, org_policy
from .context import holiday_dates, holiday_names
from .forms import CheckerForm
from .gate import place_names
from .packs import ALLOWED, BLOCKED, format_interval
from .selectors import contact_calendars

WEEKDAY_NAMES = [
    _("Monday"),
    _("Tuesday"),
    _("Wednesday"),
    _("Thursday"),
    _("Friday"),
    _("Saturday"),
    _("Sunday"),
]
DAY_POLICY_LABELS = {
    BLOCKED: _("no sending"),
    ALLOWED: _("sending allowed"),
    "discouraged": _("allowed but discouraged"),
}


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
    template_name = "compliance/sending_rules.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        language = (get_language() or "fr")[:2]
        policy = org_policy(self.org)
        rules = policy.base
        org_tz = ZoneInfo(self.org.timezone or "Europe/Paris")
        today = timezone.now().astimezone(org_tz).date()
        context["policy"] = policy
        context["days"] = [
            {"name": WEEKDAY_NAMES[i], "windows": [format_interval(w) for w in day]}
            for i, day in enumerate(rules.effective_windows)
        ]
        context["sunday_policy"] = DAY_POLICY_LABELS[rules.sunday]
        context["holiday_policy"] = DAY_POLICY_LABELS[rules.holidays]
        context["rules"] = rules
        context["overrides"] = [
            {
                "calendar": cal,
                "windows": sorted({format_interval(w) for day in r.effective_windows for w in day}),
            }
            for cal, r in policy.by_calendar.items()
        ]
        context["regions"] = [
            {
                "region": region,
                "calendar": calendar,
                "place": place_names(region)[1 if language == "en" else 0],
                "holidays": upcoming_holidays(calendar, today, language=language),
            }
            for region, calendar in contact_calendars(self.org)
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
