"""What the campaign pages share: status badges, words for refusals, local times."""

from __future__ import annotations

from django.http import JsonResponse
from django.utils.formats import date_format
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from campaigns.errors import InvalidTransition
from campaigns.forms import org_zone
from campaigns.models import CampaignStatus
from compliance.gate import FREQUENCY_CAP, NO_CONSENT, NO_WINDOW, SUPPRESSED
from smsplatform.errors import DomainError

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


def _language() -> str:
    return (get_language() or "fr")[:2]


def transition_message(exc: InvalidTransition, action: str) -> str:
    status = dict(S.choices).get(exc.current, exc.current)
    return _("This campaign is %(status)s: it cannot be %(verb)s.") % {
        "status": str(status).lower(),
        "verb": ACTION_VERBS.get(action, action),
    }


def refusal_message(exc: DomainError, action: str) -> str:
    """What a page says of a refused action: a transition in the page's words, else the error's detail."""
    if isinstance(exc, InvalidTransition):
        return transition_message(exc, action)
    return exc.detail


def json_refusal(exc: DomainError, action: str) -> JsonResponse:
    """The JSON answer to a refused action: its words, its machine code, its own status."""
    return JsonResponse({"detail": refusal_message(exc, action), "code": exc.code}, status=exc.http_status)


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
