"""Sending rules in plain words (weekday names, day spans, a policy as sentences), translated.

Kept free of any import of the packs so that packs.py can use it for its error messages.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.utils.formats import date_format
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# Django's own catalog translates these msgids ("Monday" -> "lundi").
WEEKDAY_NAMES = (
    gettext_lazy("Monday"),
    gettext_lazy("Tuesday"),
    gettext_lazy("Wednesday"),
    gettext_lazy("Thursday"),
    gettext_lazy("Friday"),
    gettext_lazy("Saturday"),
    gettext_lazy("Sunday"),
)


def _runs(days: Iterable[int]) -> list[tuple[int, int]]:
    runs: list[list[int]] = []
    for day in sorted(set(days)):
        if runs and day == runs[-1][1] + 1:
            runs[-1][1] = day
        else:
            runs.append([day, day])
    return [(a, b) for a, b in runs]


def join_words(words: Sequence[str]) -> str:
    """ "a", "a and b", "a, b and c" in the active language."""
    words = [str(w) for w in words]
    if len(words) <= 1:
        return "".join(words)
    return _("%(items)s and %(last)s") % {"items": ", ".join(words[:-1]), "last": words[-1]}


def day_span(days: Iterable[int]) -> str:
    """Weekdays (0 = Monday) in words: "Monday", "Monday to Saturday", "Monday and Wednesday to Friday"."""
    parts = []
    for first, last in _runs(days):
        if first == last:
            parts.append(str(WEEKDAY_NAMES[first]))
        elif last == first + 1:
            parts.append(join_words([WEEKDAY_NAMES[first], WEEKDAY_NAMES[last]]))
        else:
            parts.append(
                _("%(first)s to %(last)s") % {"first": WEEKDAY_NAMES[first], "last": WEEKDAY_NAMES[last]}
            )
    return join_words(parts)


def _minutes(m: int) -> str:
    return f"{m // 60:02d}:{m % 60:02d}"


def intervals_text(day: Sequence[tuple[int, int]]) -> str:
    return join_words([f"{_minutes(s)}-{_minutes(e)}" for s, e in day])


def describe_rules(rules) -> list[str]:
    """The effective windows of ``rules`` (a packs.Rules) as sentences for a shop owner."""
    from .packs import BLOCKED, DISCOURAGED

    sentences: list[str] = []
    by_windows: dict[tuple, list[int]] = {}
    for i, day in enumerate(rules.effective_windows):
        if day:
            by_windows.setdefault(tuple(day), []).append(i)
    if not by_windows:
        sentences.append(_("No marketing SMS can leave: every day is closed."))
    for windows, days in sorted(by_windows.items(), key=lambda kv: kv[1][0]):
        sentences.append(
            _("%(days)s: marketing SMS leave at %(hours)s (recipient's local time).")
            % {"days": capfirst(day_span(days)), "hours": intervals_text(windows)}
        )
    closed = [i for i, day in enumerate(rules.effective_windows) if not day]
    if closed:
        sentences.append(_("Days without marketing SMS: %(days)s.") % {"days": day_span(closed)})
    if rules.holidays == BLOCKED:
        sentences.append(_("No marketing SMS on the public holidays of the recipient's region."))
    elif rules.holidays == DISCOURAGED:
        sentences.append(_("Public holidays are allowed but discouraged (flagged on each message)."))
    if rules.sunday == DISCOURAGED and rules.effective_windows[6]:
        sentences.append(_("Sundays are allowed but discouraged (flagged on each message)."))
    if rules.blocked_dates:
        sentences.append(
            _("No marketing SMS on your closing dates: %(dates)s.")
            % {
                "dates": join_words(
                    [date_format(d, "SHORT_DATE_FORMAT") for d in sorted(rules.blocked_dates)]
                )
            }
        )
    sentences.append(
        _("At most %(day)s marketing SMS per contact per 24 hours and %(week)s per rolling 7 days.")
        % {"day": rules.max_per_24h, "week": rules.max_per_7d}
    )
    return sentences
