"""Sending rules in plain words (weekday names, day spans, lists of times), translated.

Kept free of any import of the packs so that packs.py can use it for its messages and its policy summary.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

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
