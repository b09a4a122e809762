"""Reason codes of the compliance gate (compliance/gate.py) and of the pipeline, in plain words."""

from __future__ import annotations

from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

REASON_LABELS = {
    # Deferred: they will leave at the next allowed time.
    "outside_window": _("Outside the allowed sending hours: sent at the next allowed time"),
    "sunday": _("Sunday: marketing SMS are not sent on Sundays, sent on the next allowed day"),
    "public_holiday": _("Public holiday: sent on the next allowed day"),
    "closed_day": _("Your shop's closing day: sent on the next opening day"),
    # Blocked: they will never leave.
    "suppressed": _("The number opted out (STOP): nothing is sent to it"),
    "no_consent": _("No consent recorded for marketing SMS"),
    "frequency_cap": _("Too many SMS to this person recently (frequency cap)"),
    "no_window": _("No allowed sending time in the coming months for this recipient"),
    "discouraged_day": _("Sent on a discouraged day"),
    "": _("No reason recorded"),
}


def reason_label(code: str) -> str:
    """The sentence for a reason code; an unknown code is shown as it is rather than hidden."""
    label = REASON_LABELS.get(code or "")
    return str(label) if label is not None else str(code)


# Why a message waits, in a few words, for a table cell followed by "until <when>".
DEFERRED_SHORT = {
    "outside_window": _("quiet hours"),
    "sunday": _("Sunday"),
    "public_holiday": _("public holiday"),
    "closed_day": _("your shop's closing day"),
}


def deferred_label(code: str, until, tz) -> str:
    """ "Deferred: quiet hours, until 4 December 8:00" (in the organisation's time zone); without a
    known time, the reason alone."""
    reason = str(DEFERRED_SHORT.get(code or "", "")) or reason_label(code)
    if until is None:
        return gettext("Deferred: %(reason)s") % {"reason": reason}
    local = until.astimezone(tz)
    when = date_format(local, "j F") + " " + date_format(local, "G:i")
    return gettext("Deferred: %(reason)s, until %(when)s") % {"reason": reason, "when": when}
