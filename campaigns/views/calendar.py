"""The calendar: the feed of campaigns, the dry run before a move, the drag and drop reschedule."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.generic import TemplateView, View

from campaigns import selectors, services
from campaigns.forms import org_zone, parse_instant
from campaigns.models import Campaign
from smsplatform.errors import DomainError
from smsplatform.tenancy import OrgObjectMixin, OrgPageMixin

from ._common import EDITABLE_STATUSES, STATUS_BADGES, S, _language, format_local, json_refusal


class CalendarView(OrgPageMixin, TemplateView):
    template_name = "campaigns/ui/calendar.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["calendar_config"] = {
            "eventsUrl": reverse("campaigns:calendar_events"),
            "rescheduleUrl": reverse("campaigns:reschedule", kwargs={"pk": 0}),
            "previewUrl": reverse("campaigns:at_preview", kwargs={"pk": 0}),
            # British English: day first and Monday first, as the rest of the English pages.
            "locale": "en-gb" if _language() == "en" else _language(),
            "canWrite": self.membership.can("write"),
            "timeZone": self.org.timezone or "Europe/Paris",
            # FullCalendar's French locale writes its buttons in lower case ("aujourd'hui", "mois").
            "buttonText": {
                "today": _("Today"),
                "month": _("Month"),
                "week": _("Week"),
                "day": _("Day"),
                "list": _("List"),
            },
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
        for c in selectors.calendar_campaigns(self.org, start, end)[:1000]:
            when = c.scheduled_at if c.status in EDITABLE_STATUSES else (c.launched_at or c.scheduled_at)
            if when is None:
                continue
            local = when.astimezone(tz).replace(tzinfo=None)
            events.append(
                {
                    "id": str(c.pk),
                    "title": c.name,
                    "start": local.isoformat(timespec="minutes"),
                    "url": reverse("campaigns:detail", kwargs={"pk": c.pk}),
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
        except DomainError as exc:
            return json_refusal(exc, "reschedule")
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
