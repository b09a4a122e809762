"""Rule packs (loaded once from ``rule_packs.yaml``) and the organisation's stricter restrictions.

A :class:`Policy` is what the gate evaluates: a pack with the organisation's restrictions merged in.
An organisation may only make its pack stricter; :func:`effective_policy` refuses anything looser with
a ValidationError that names the rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import yaml
from django.core.exceptions import ValidationError
from django.utils.formats import date_format
from django.utils.functional import lazy
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .display import calendar_name, pack_name
from .wording import day_span, intervals_text, join_words

DEFAULT_PACK = "FR_STRICT"
BLOCKED, ALLOWED, DISCOURAGED = "blocked", "allowed", "discouraged"
DAY_POLICIES = (BLOCKED, ALLOWED, DISCOURAGED)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SUNDAY = 6

Interval = tuple[int, int]  # minutes since local midnight, half-open [start, end)
DayWindows = tuple[Interval, ...]
WeekWindows = tuple[DayWindows, ...]  # 7 entries, Monday first

_PACKS_FILE = Path(__file__).with_name("rule_packs.yaml")
_INTERVAL_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


# --- parsing helpers ----------------------------------------------------------------------------


def _parse_interval(text: str) -> Interval:
    match = _INTERVAL_RE.match(str(text))
    if not match:
        raise ValidationError(
            _("“%(value)s” is not a time range such as 08:00-20:00."),
            code="invalid_window",
            params={"value": text},
        )
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if m1 > 59 or m2 > 59 or start > 1440 or end > 1440 or start >= end:
        raise ValidationError(
            _("“%(value)s” is not a valid time range (start before end, 00:00-24:00)."),
            code="invalid_window",
            params={"value": text},
        )
    return start, end


def _normalise_day(intervals: list[Interval]) -> DayWindows:
    merged: list[list[int]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple((s, e) for s, e in merged)


def _day_indexes(spec: str) -> list[int]:
    spec = spec.strip().lower()
    if "-" in spec:
        first, last = spec.split("-", 1)
        a, b = WEEKDAYS.index(first), WEEKDAYS.index(last)
        return list(range(a, b + 1))
    return [WEEKDAYS.index(spec)]


def _parse_windows(
    mapping: dict[str, list[str]], *, partial: bool = False
) -> WeekWindows | dict[int, DayWindows]:
    days: dict[int, list[Interval]] = {}
    for spec, ranges in (mapping or {}).items():
        try:
            indexes = _day_indexes(str(spec))
        except ValueError:
            raise ValidationError(
                _("“%(value)s” is not a day (mon..sun or a range such as mon-sat)."),
                code="invalid_day",
                params={"value": spec},
            )
        if isinstance(ranges, str):
            ranges = [ranges]
        for i in indexes:
            days.setdefault(i, []).extend(_parse_interval(r) for r in ranges)
    if partial:
        return {i: _normalise_day(v) for i, v in days.items()}
    return tuple(_normalise_day(days.get(i, [])) for i in range(7))


def format_minutes(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def format_interval(interval: Interval) -> str:
    return f"{format_minutes(interval[0])}-{format_minutes(interval[1])}"


def _intersect_day(a: DayWindows, b: DayWindows) -> DayWindows:
    out = []
    for s1, e1 in a:
        for s2, e2 in b:
            s, e = max(s1, s2), min(e1, e2)
            if s < e:
                out.append((s, e))
    return _normalise_day(out)


def _day_contains(outer: DayWindows, inner: DayWindows) -> bool:
    return all(any(os <= s and e <= oe for os, oe in outer) for s, e in inner)


# --- packs --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rules:
    """The sending rules for one recipient calendar under one policy: what the gate evaluates."""

    windows: WeekWindows
    sunday: str
    holidays: str
    closed_weekdays: frozenset[int]
    blocked_dates: frozenset[date]
    max_per_24h: int
    max_per_7d: int

    @cached_property
    def effective_windows(self) -> WeekWindows:
        """Windows per weekday once Sunday policy and closed weekdays are applied."""
        out = []
        for i, day in enumerate(self.windows):
            closed = i in self.closed_weekdays or (i == SUNDAY and self.sunday == BLOCKED)
            out.append(() if closed else day)
        return tuple(out)


@dataclass(frozen=True)
class RulePack:
    code: str
    label: str
    country: str
    effective_from: date | None
    windows: WeekWindows
    sunday: str
    holidays: str
    calendar: str
    opt_out_mention: dict[str, Any]
    senders: dict[str, Any]
    keywords: dict[str, tuple[str, ...]]
    max_per_24h: int
    max_per_7d: int
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The pack in the shop owner's words and language ("France — strict operators' rules")."""
        return pack_name(self.code, self.label)


def _pack_from_data(code: str, data: dict[str, Any]) -> RulePack:
    for key in ("sunday", "holidays"):
        if data[key] not in DAY_POLICIES:
            raise ValueError(f"rule pack {code}: {key} must be one of {DAY_POLICIES}")
    caps = data.get("caps") or {}
    overrides = {}
    for calendar, ov in (data.get("overrides") or {}).items():
        overrides[calendar] = {
            "windows": _parse_windows(ov["windows"]) if "windows" in ov else None,
            "per_24h": (ov.get("caps") or {}).get("per_24h"),
            "per_7d": (ov.get("caps") or {}).get("per_7d"),
        }
    known = {"label", "country", "effective_from", "windows", "sunday", "holidays", "calendar",
             "opt_out_mention", "senders", "keywords", "caps", "overrides"}  # fmt: skip
    return RulePack(
        code=code,
        label=data["label"],
        country=data["country"],
        effective_from=date.fromisoformat(data["effective_from"]) if data.get("effective_from") else None,
        windows=_parse_windows(data["windows"]),
        sunday=data["sunday"],
        holidays=data["holidays"],
        calendar=data.get("calendar", "recipient"),
        opt_out_mention=dict(data.get("opt_out_mention") or {}),
        senders=dict(data.get("senders") or {}),
        keywords={k: tuple(v) for k, v in (data.get("keywords") or {}).items()},
        max_per_24h=int(caps.get("per_24h", 1)),
        max_per_7d=int(caps.get("per_7d", 4)),
        overrides=overrides,
        extra={k: v for k, v in data.items() if k not in known},
    )


@lru_cache(maxsize=1)
def all_packs() -> dict[str, RulePack]:
    """Every rule pack by code, loaded once from rule_packs.yaml."""
    raw = yaml.safe_load(_PACKS_FILE.read_text(encoding="utf-8"))
    return {code: _pack_from_data(code, data) for code, data in raw["packs"].items()}


def pack_codes() -> list[str]:
    return list(all_packs())


def pack_choices() -> list[tuple[str, str]]:
    """(code, name) of every pack, in the order of the YAML file: the choices of a select."""
    return [(code, pack.name) for code, pack in all_packs().items()]


def get_pack(code: str | None) -> RulePack:
    """The pack ``code``; an unknown or empty code falls back to the strictest, FR_STRICT."""
    packs = all_packs()
    return packs.get(code or DEFAULT_PACK) or packs[DEFAULT_PACK]


# --- organisation restrictions ------------------------------------------------------------------


@dataclass(frozen=True)
class Restrictions:
    """An organisation's own rules on top of its pack (stored in OrgSendingPolicy.restrictions)."""

    windows: dict[int, DayWindows] = field(default_factory=dict)  # weekday -> narrower windows
    closed_weekdays: frozenset[int] = frozenset()
    blocked_dates: frozenset[date] = frozenset()
    max_per_24h: int | None = None
    max_per_7d: int | None = None
    block_discouraged: bool = False  # treat "discouraged" Sundays and holidays as blocked

    def __hash__(self) -> int:  # windows is a dict; hash its items
        return hash((tuple(sorted(self.windows.items())), self.closed_weekdays, self.blocked_dates,
                     self.max_per_24h, self.max_per_7d, self.block_discouraged))  # fmt: skip


NO_RESTRICTIONS = Restrictions()


def _parse_weekday(value: Any) -> int:
    if isinstance(value, int) and 0 <= value <= 6:
        return value
    if isinstance(value, str) and value.strip().lower() in WEEKDAYS:
        return WEEKDAYS.index(value.strip().lower())
    raise ValidationError(
        _("“%(value)s” is not a weekday (mon..sun or 0..6)."), code="invalid_day", params={"value": value}
    )


def _parse_cap(name: str, value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        cap = int(value)
    except (TypeError, ValueError):
        raise ValidationError(
            _("%(name)s must be a whole number."), code="invalid_cap", params={"name": name}
        )
    if cap < 1:
        raise ValidationError(
            _("%(name)s must be at least 1 (close days instead to stop sending)."),
            code="invalid_cap",
            params={"name": name},
        )
    return cap


def parse_restrictions(data: dict[str, Any] | Restrictions | None) -> Restrictions:
    """Restrictions from their JSON form; raises ValidationError on a malformed value."""
    if isinstance(data, Restrictions):
        return data
    data = data or {}
    unknown = set(data) - {"windows", "closed_weekdays", "blocked_dates", "max_per_24h", "max_per_7d",
                           "block_discouraged"}  # fmt: skip
    if unknown:
        raise ValidationError(
            _("Unknown sending policy settings: %(names)s."),
            code="invalid",
            params={"names": ", ".join(sorted(map(str, unknown)))},
        )
    try:
        blocked = frozenset(
            d if isinstance(d, date) else date.fromisoformat(str(d)) for d in data.get("blocked_dates") or ()
        )
    except ValueError:
        raise ValidationError(_("Blocked dates must be dates such as 2026-08-15."), code="invalid_date")
    return Restrictions(
        windows=_parse_windows(data.get("windows") or {}, partial=True),
        closed_weekdays=frozenset(_parse_weekday(d) for d in data.get("closed_weekdays") or ()),
        blocked_dates=blocked,
        max_per_24h=_parse_cap("max_per_24h", data.get("max_per_24h")),
        max_per_7d=_parse_cap("max_per_7d", data.get("max_per_7d")),
        block_discouraged=bool(data.get("block_discouraged", False)),
    )


def restrictions_to_json(r: Restrictions) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if r.windows:
        out["windows"] = {
            WEEKDAYS[i]: [format_interval(iv) for iv in day] for i, day in sorted(r.windows.items())
        }
    if r.closed_weekdays:
        out["closed_weekdays"] = [WEEKDAYS[i] for i in sorted(r.closed_weekdays)]
    if r.blocked_dates:
        out["blocked_dates"] = [d.isoformat() for d in sorted(r.blocked_dates)]
    if r.max_per_24h is not None:
        out["max_per_24h"] = r.max_per_24h
    if r.max_per_7d is not None:
        out["max_per_7d"] = r.max_per_7d
    if r.block_discouraged:
        out["block_discouraged"] = True
    return out


# --- the effective policy -----------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Policy:
    """A pack with an organisation's restrictions merged in. Build with :func:`effective_policy`.

    Compared by identity: the gate caches per policy object within a batch.
    """

    pack: RulePack
    restrictions: Restrictions
    base: Rules
    by_calendar: dict[str, Rules]

    @property
    def code(self) -> str:
        return self.pack.code

    def rules_for(self, calendar: str) -> Rules:
        return self.by_calendar.get(calendar, self.base)


def _check_stricter(pack: RulePack, r: Restrictions) -> None:
    errors = []
    # Lazy: a message built in one request's language may be shown in another's.
    name = lazy(pack_name, str)(pack.code, pack.label)
    # Days refused for the same reason are named together ("Monday to Saturday: ..."), so that one
    # window applied to every day gives one message, not six.
    looser: dict[tuple[DayWindows, DayWindows], list[int]] = {}
    for day, windows in sorted(r.windows.items()):
        allowed = pack.windows[day]
        if day == SUNDAY and pack.sunday == BLOCKED:
            allowed = ()
        if not _day_contains(allowed, windows):
            looser.setdefault((windows, allowed), []).append(day)
    for (windows, allowed), days in sorted(looser.items(), key=lambda kv: kv[1][0]):
        params = {
            "days": capfirst(day_span(days)),
            "windows": intervals_text(windows),
            "pack": name,
            "setting": "windows",
        }
        if allowed:
            errors.append(
                ValidationError(
                    _(
                        "%(days)s: %(windows)s goes beyond the hours of “%(pack)s” (%(allowed)s); you can "
                        "only narrow them."
                    ),
                    code="looser_than_pack",
                    params={**params, "allowed": intervals_text(allowed)},
                )
            )
        else:
            errors.append(
                ValidationError(
                    _("%(days)s: “%(pack)s” allows no marketing SMS that day; you cannot open it."),
                    code="looser_than_pack",
                    params=params,
                )
            )
    per_24h = _("%(value)s SMS per 24 hours is more than “%(pack)s” allows (%(cap)s).")
    per_7d = _("%(value)s SMS per 7 days is more than “%(pack)s” allows (%(cap)s).")
    caps = (  # "setting" names the form field an error belongs to
        ("max_per_24h", r.max_per_24h, pack.max_per_24h, per_24h),
        ("max_per_7d", r.max_per_7d, pack.max_per_7d, per_7d),
    )
    for setting, value, cap, message in caps:
        if value is not None and value > cap:
            params = {"value": value, "pack": name, "cap": cap, "setting": setting}
            errors.append(ValidationError(message, code="looser_than_pack", params=params))
    if errors:
        raise ValidationError(errors)


def _rules(
    windows: WeekWindows,
    pack: RulePack,
    r: Restrictions,
    per_24h: int | None = None,
    per_7d: int | None = None,
) -> Rules:
    if r.windows:
        windows = tuple(
            _intersect_day(day, r.windows[i]) if i in r.windows else day for i, day in enumerate(windows)
        )

    def day_policy(value: str) -> str:
        return BLOCKED if value == DISCOURAGED and r.block_discouraged else value

    caps_24 = [c for c in (pack.max_per_24h, per_24h, r.max_per_24h) if c is not None]
    caps_7 = [c for c in (pack.max_per_7d, per_7d, r.max_per_7d) if c is not None]
    return Rules(
        windows=windows,
        sunday=day_policy(pack.sunday),
        holidays=day_policy(pack.holidays),
        closed_weekdays=r.closed_weekdays,
        blocked_dates=r.blocked_dates,
        max_per_24h=min(caps_24),
        max_per_7d=min(caps_7),
    )


def effective_policy(
    pack: RulePack | str,
    restrictions: dict[str, Any] | Restrictions | None = None,
    *,
    validate: bool = True,
) -> Policy:
    """Merges an organisation's restrictions onto a pack; raises ValidationError if any is looser.

    With ``validate=False`` a looser restriction is not refused but still cannot widen anything: windows
    are intersected with the pack's and caps take the minimum, so the result is never looser than the
    pack (used for restrictions stored under another, wider pack).
    """
    if isinstance(pack, str):
        pack = get_pack(pack)
    r = parse_restrictions(restrictions)
    if validate:
        _check_stricter(pack, r)
    base = _rules(pack.windows, pack, r)
    by_calendar = {}
    for calendar, ov in pack.overrides.items():
        windows = pack.windows
        if ov["windows"] is not None:
            windows = tuple(_intersect_day(a, b) for a, b in zip(pack.windows, ov["windows"], strict=True))
        by_calendar[calendar] = _rules(windows, pack, r, ov["per_24h"], ov["per_7d"])
    return Policy(pack=pack, restrictions=r, base=base, by_calendar=by_calendar)


@lru_cache(maxsize=64)
def default_policy(code: str = DEFAULT_PACK) -> Policy:
    """The policy of a pack without organisation restrictions (shared, cached)."""
    return effective_policy(get_pack(code))


def describe_rules(rules) -> list[str]:
    """The effective windows of ``rules`` as sentences for a shop owner."""
    sentences: list[str] = []
    by_windows: dict[tuple, list[int]] = {}
    for i, day in enumerate(rules.effective_windows):
        if day:
            by_windows.setdefault(tuple(day), []).append(i)
    if not by_windows:
        sentences.append(gettext("No marketing SMS can leave: every day is closed."))
    for windows, days in sorted(by_windows.items(), key=lambda kv: kv[1][0]):
        sentences.append(
            gettext("%(days)s: marketing SMS leave at %(hours)s (recipient's local time).")
            % {"days": capfirst(day_span(days)), "hours": intervals_text(windows)}
        )
    closed = [i for i, day in enumerate(rules.effective_windows) if not day]
    if closed:
        sentences.append(gettext("Days without marketing SMS: %(days)s.") % {"days": day_span(closed)})
    if rules.holidays == BLOCKED:
        sentences.append(gettext("No marketing SMS on the public holidays of the recipient's region."))
    elif rules.holidays == DISCOURAGED:
        sentences.append(gettext("Public holidays are allowed but discouraged (flagged on each message)."))
    if rules.sunday == DISCOURAGED and rules.effective_windows[6]:
        sentences.append(gettext("Sundays are allowed but discouraged (flagged on each message)."))
    if rules.blocked_dates:
        sentences.append(
            gettext("No marketing SMS on your closing dates: %(dates)s.")
            % {
                "dates": join_words(
                    [date_format(d, "SHORT_DATE_FORMAT") for d in sorted(rules.blocked_dates)]
                )
            }
        )
    sentences.append(
        gettext("At most %(day)s marketing SMS per contact per 24 hours and %(week)s per rolling 7 days.")
        % {"day": rules.max_per_24h, "week": rules.max_per_7d}
    )
    return sentences


def rules_summary(policy: Policy) -> list[str]:
    """Every rule of ``policy`` once, as sentences: the general rules, then what a region narrows."""
    sentences = describe_rules(policy.base)
    for calendar, rules in policy.by_calendar.items():
        place = calendar_name(calendar)
        if rules.effective_windows != policy.base.effective_windows:
            windows = sorted({w for day in rules.effective_windows for w in day})
            sentences.append(
                gettext("Recipients in %(place)s: marketing SMS leave at %(hours)s only.")
                % {"place": place, "hours": intervals_text(windows)}
            )
        if rules.max_per_24h != policy.base.max_per_24h:
            sentences.append(
                gettext("Recipients in %(place)s: at most %(day)s marketing SMS per 24 hours.")
                % {"place": place, "day": rules.max_per_24h}
            )
    return sentences
