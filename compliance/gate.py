"""The compliance gate: allow, defer or block each message of a batch (docs/compliance.md).

:func:`evaluate` is a pure function: no database query, no clock. The caller loads suppressions,
consent and frequency counts for the whole batch first (a constant number of queries) and passes them
in each :class:`GateItem`. Windows are evaluated in the recipient's local time at ``now`` (dispatch
time), half-open ``[start, end)``; a deferred message carries the earliest instant it may leave.

Speed: ``now`` is the same for the whole batch, so the window outcome depends only on (policy,
recipient context); it is computed once per pair and the resulting immutable :class:`Decision` is
shared by every item of that pair. Decisions must therefore be treated as read-only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .context import RecipientContext, holiday_dates, zone
from .packs import BLOCKED, DISCOURAGED, SUNDAY, Policy, Rules, default_policy, format_interval

ALLOW, DEFER, BLOCK = "allow", "defer", "block"
MARKETING, TRANSACTIONAL = "marketing", "transactional"
# The single confirmation sent after a STOP: transactional, and the only message a suppressed number
# may still receive (docs/compliance.md, "Opt-out (STOP)"). The caller guarantees it is sent once.
OPT_OUT_CONFIRMATION = "opt_out_confirmation"
CONSENT_BASES_OK = frozenset({"opt_in", "soft_opt_in"})

# Reason codes.
OUTSIDE_WINDOW = "outside_window"
SUNDAY_BLOCKED = "sunday"
PUBLIC_HOLIDAY = "public_holiday"
CLOSED_DAY = "closed_day"
SUPPRESSED = "suppressed"
NO_CONSENT = "no_consent"
FREQUENCY_CAP = "frequency_cap"
NO_WINDOW = "no_window"
DISCOURAGED_DAY = "discouraged_day"  # a flag on an allow (FR_AF2M_2026 Sundays and holidays)

REASON_CODES = (OUTSIDE_WINDOW, SUNDAY_BLOCKED, PUBLIC_HOLIDAY, CLOSED_DAY, SUPPRESSED, NO_CONSENT,
                FREQUENCY_CAP, NO_WINDOW, DISCOURAGED_DAY)  # fmt: skip

# How far ahead a deferral is searched before the policy is declared to leave no window at all.
HORIZON_DAYS = 400


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    fr: str
    en: str

    def message(self, language: str | None = "fr") -> str:
        return self.en if (language or "fr").lower().startswith("en") else self.fr


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: str  # allow / defer / block
    reasons: tuple[Reason, ...] = ()
    next_allowed_at: datetime | None = None  # aware UTC, set on defer
    local_time: datetime | None = None  # the recipient's local time at evaluation (first zone)

    @property
    def allowed(self) -> bool:
        return self.outcome == ALLOW

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.reasons)

    @property
    def reason(self) -> str:
        """The main reason code ("" for a plain allow): what a message row stores."""
        return self.reasons[0].code if self.reasons else ""

    @property
    def discouraged(self) -> bool:
        return DISCOURAGED_DAY in self.codes


@dataclass(frozen=True, slots=True)
class GateItem:
    """What the gate needs about one message, loaded by the caller for the whole batch."""

    context: RecipientContext
    policy: Policy
    category: str = MARKETING
    consent: str = "unknown"  # opt_in / soft_opt_in / none / unknown
    suppressed: bool = False
    sent_last_24h: int = 0  # marketing SMS already sent to this contact in the rolling windows
    sent_last_7d: int = 0


# --- local time rules ---------------------------------------------------------------------------


def _calendar(rules_calendar_source: str, ctx: RecipientContext) -> str:
    return ctx.calendar if rules_calendar_source == "recipient" else rules_calendar_source


def day_block_reason(rules: Rules, calendar: str, day: date) -> str | None:
    """Why no marketing SMS may leave at all on this local date, or None when the day has windows."""
    if rules.holidays == BLOCKED and day in holiday_dates(calendar, day.year):
        return PUBLIC_HOLIDAY
    weekday = day.weekday()
    if weekday == SUNDAY and rules.sunday == BLOCKED:
        return SUNDAY_BLOCKED
    if day in rules.blocked_dates or not rules.effective_windows[weekday]:
        return CLOSED_DAY
    return None


def local_block_reason(rules: Rules, calendar: str, local: datetime) -> str | None:
    """Why a local wall time is forbidden, or None when it is inside a window."""
    day = local.date()
    reason = day_block_reason(rules, calendar, day)
    if reason:
        return reason
    minute = local.hour * 60 + local.minute
    for start, end in rules.effective_windows[day.weekday()]:
        if start <= minute < end:
            return None
    return OUTSIDE_WINDOW


def is_discouraged(rules: Rules, calendar: str, day: date) -> bool:
    if rules.sunday == DISCOURAGED and day.weekday() == SUNDAY:
        return True
    return rules.holidays == DISCOURAGED and day in holiday_dates(calendar, day.year)


def _first_instant_at(day: date, minute: int, tz: ZoneInfo) -> datetime:
    """The earliest instant whose local wall time on ``day`` is at or after ``minute`` (UTC).

    Inside a spring-forward gap the wall time does not exist; the answer is then the transition.
    """
    naive = datetime.combine(day, time(minute // 60, minute % 60))
    utc = naive.replace(tzinfo=tz).astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) == naive:
        return utc
    lo = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)  # before the gap
    hi = utc  # after the gap
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(tz).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid
    return hi.replace(microsecond=0)


def _next_in_zone(t: datetime, rules: Rules, calendar: str, tz: ZoneInfo) -> datetime | None:
    """Earliest instant >= t allowed in one zone."""
    local = t.astimezone(tz)
    today = local.date()
    now_minute = local.hour * 60 + local.minute
    for offset in range(HORIZON_DAYS):
        day = today + timedelta(days=offset)
        if day_block_reason(rules, calendar, day):
            continue
        for start, end in rules.effective_windows[day.weekday()]:
            if offset == 0 and start <= now_minute < end:
                return t
            candidate = _first_instant_at(day, start, tz)
            if candidate < t:
                # Repeated wall times (autumn fall-back): the later occurrence may still be ahead.
                candidate = datetime.combine(day, time(start // 60, start % 60)).replace(tzinfo=tz, fold=1)
                candidate = candidate.astimezone(UTC)
                if candidate < t:
                    continue
            back = candidate.astimezone(tz)
            if back.date() == day and back.hour * 60 + back.minute < end:
                return candidate
    return None


def next_allowed(t: datetime, rules: Rules, calendar: str, zones: Sequence[str]) -> datetime | None:
    """Earliest instant >= t allowed in every zone (None when none within the horizon).

    For several zones, iterate "the latest of each zone's next allowed instant": each step cannot
    overshoot the earliest common instant, and a fixed point is allowed everywhere.
    """
    t = t.astimezone(UTC)
    limit = t + timedelta(days=HORIZON_DAYS)
    for _ in range(64):
        candidates = []
        for name in zones:
            c = _next_in_zone(t, rules, calendar, zone(name))
            if c is None:
                return None
            candidates.append(c)
        latest = max(candidates)
        if latest == t:
            return t
        if latest > limit:
            return None
        t = latest
    return None


def is_allowed_at(t: datetime, rules: Rules, calendar: str, zones: Sequence[str]) -> bool:
    return all(local_block_reason(rules, calendar, t.astimezone(zone(z))) is None for z in zones)


# --- explanations -------------------------------------------------------------------------------

_PLACES: dict[str, tuple[str, str]] = {
    "FR": ("en France métropolitaine", "in mainland France"),
    "RE": ("à La Réunion", "in Réunion"),
    "YT": ("à Mayotte", "in Mayotte"),
    "GP": ("en Guadeloupe", "in Guadeloupe"),
    "BL": ("à Saint-Barthélemy", "in Saint Barthélemy"),
    "MF": ("à Saint-Martin", "in Saint Martin"),
    "MQ": ("en Martinique", "in Martinique"),
    "GF": ("en Guyane", "in French Guiana"),
    "PM": ("à Saint-Pierre-et-Miquelon", "in Saint Pierre and Miquelon"),
    "US": ("aux États-Unis", "in the United States"),
    "BE": ("en Belgique", "in Belgium"),
    "ES": ("en Espagne", "in Spain"),
    "DE": ("en Allemagne", "in Germany"),
    "GB": ("au Royaume-Uni", "in the United Kingdom"),
    "CH": ("en Suisse", "in Switzerland"),
    "LU": ("au Luxembourg", "in Luxembourg"),
}
_DAYS_FR = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
_DAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS_FR = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
              "novembre", "décembre")  # fmt: skip
_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
              "October", "November", "December")  # fmt: skip


def place_names(region: str) -> tuple[str, str]:
    return _PLACES.get(region, (f"dans la zone {region}", f"in region {region}"))


def utc_offset_label(local: datetime) -> str:
    seconds = int(local.utcoffset().total_seconds())
    sign = "+" if seconds >= 0 else "-"
    hours, rest = divmod(abs(seconds), 3600)
    return f"UTC{sign}{hours}" + (f":{rest // 60:02d}" if rest else "")


def _date_fr(d: date, with_year: bool) -> str:
    first = "1er" if d.day == 1 else str(d.day)
    return f"{_DAYS_FR[d.weekday()]} {first} {_MONTHS_FR[d.month - 1]}" + (f" {d.year}" if with_year else "")


def _date_en(d: date, with_year: bool) -> str:
    return f"{_DAYS_EN[d.weekday()]} {d.day} {_MONTHS_EN[d.month - 1]}" + (f" {d.year}" if with_year else "")


_CAUSES: dict[str, tuple[str, str]] = {
    OUTSIDE_WINDOW: ("", ""),
    SUNDAY_BLOCKED: ("pas d'envoi commercial le dimanche, ", "no marketing SMS on Sundays, "),
    PUBLIC_HOLIDAY: ("jour férié, ", "public holiday, "),
    CLOSED_DAY: ("jour de fermeture, ", "closing day, "),
}


def _defer_reason(
    code: str, ctx: RecipientContext, local: datetime, next_local: datetime, rules: Rules
) -> Reason:
    place_fr, place_en = place_names(ctx.region)
    hhmm = local.strftime("%H:%M")
    offset = utc_offset_label(local)
    at = next_local.strftime("%H:%M")
    if next_local.date() == local.date():
        when_fr, when_en = f"à {at}", at
    else:
        other_year = next_local.year != local.year
        when_fr = f"au {_date_fr(next_local.date(), other_year)} à {at}"
        when_en = f"{_date_en(next_local.date(), other_year)} at {at}"
    cause_fr, cause_en = _CAUSES[code]
    day_fr = f"{_DAYS_FR[local.weekday()]} " if code in (SUNDAY_BLOCKED, PUBLIC_HOLIDAY, CLOSED_DAY) else ""
    day_en = f"{_DAYS_EN[local.weekday()]} " if day_fr else ""
    if code == OUTSIDE_WINDOW:
        windows = ", ".join(format_interval(w) for w in rules.effective_windows[local.weekday()])
        if windows:
            cause_fr = f"hors plage {windows}, "
            cause_en = f"outside the {windows} window, "
    return Reason(
        code,
        f"{day_fr}{hhmm} {place_fr} ({offset}) : {cause_fr}envoi reporté {when_fr} heure locale",
        f"{day_en}{hhmm} {place_en} ({offset}): {cause_en}sending deferred to {when_en} local time",
    )


def _block_reason(code: str, rules: Rules, policy: Policy) -> Reason:
    if code == SUPPRESSED:
        return Reason(code, "Numéro désinscrit (STOP) : aucun SMS ne lui est envoyé.",
                      "Number opted out (STOP): no SMS is sent to it.")  # fmt: skip
    if code == NO_CONSENT:
        return Reason(
            code,
            "Pas de consentement (opt-in ou soft opt-in) : SMS commercial bloqué (CPCE L34-5).",
            "No consent (opt-in or soft opt-in): marketing SMS blocked (CPCE L34-5).",
        )
    if code == FREQUENCY_CAP:
        return Reason(
            code,
            f"Plafond de fréquence atteint (au plus {rules.max_per_24h} SMS commercial par 24 h et "
            f"{rules.max_per_7d} par 7 jours glissants) : message bloqué, non facturé.",
            f"Frequency cap reached (at most {rules.max_per_24h} marketing SMS per 24 h and "
            f"{rules.max_per_7d} per rolling 7 days): message blocked, not charged.",
        )
    if code == NO_WINDOW:
        return Reason(
            code,
            f"Aucune plage d'envoi autorisée dans les {HORIZON_DAYS} prochains jours avec les règles "
            f"{policy.code} et celles de l'organisation.",
            f"No allowed sending slot in the next {HORIZON_DAYS} days under {policy.code} and the "
            "organisation's rules.",
        )
    raise ValueError(code)


def _discouraged_reason(local: datetime, ctx: RecipientContext, calendar: str, policy: Policy) -> Reason:
    place_fr, place_en = place_names(ctx.region)
    holiday = local.date() in holiday_dates(calendar, local.year)
    what_fr = "jour férié" if holiday else "dimanche"
    what_en = "public holiday" if holiday else "Sunday"
    return Reason(
        DISCOURAGED_DAY,
        f"{local:%H:%M} {place_fr} : {what_fr}, envoi autorisé mais déconseillé ({policy.code}).",
        f"{local:%H:%M} {place_en}: {what_en}, sending allowed but discouraged ({policy.code}).",
    )


# --- the gate -----------------------------------------------------------------------------------


class _Slot:
    """Everything about one (policy, recipient context) at the batch's ``now``, computed once."""

    __slots__ = ("ctx", "policy", "rules", "calendar", "local", "window", "_blocks", "transactional")

    def __init__(self, policy: Policy, ctx: RecipientContext, now: datetime) -> None:
        self.ctx, self.policy = ctx, policy
        self.rules = rules = policy.rules_for(ctx.calendar)
        self.calendar = calendar = _calendar(policy.pack.calendar, ctx)
        zones = ctx.zones or ("UTC",)
        locals_ = [now.astimezone(zone(z)) for z in zones]
        self.local = locals_[0]
        self._blocks: dict[str, Decision] = {}
        self.transactional = Decision(ALLOW, (), None, self.local)
        failing = [(local_block_reason(rules, calendar, loc), loc) for loc in locals_]
        failing = [(code, loc) for code, loc in failing if code]
        if not failing:
            reasons: tuple[Reason, ...] = ()
            flagged = [loc for loc in locals_ if is_discouraged(rules, calendar, loc.date())]
            if flagged:
                reasons = (_discouraged_reason(flagged[0], ctx, calendar, policy),)
            self.window = Decision(ALLOW, reasons, None, self.local)
            return
        nxt = next_allowed(now, rules, calendar, zones)
        if nxt is None:
            self.window = self.block(NO_WINDOW)
            return
        code, loc = failing[0]
        tz = loc.tzinfo
        reason = _defer_reason(code, ctx, loc, nxt.astimezone(tz), rules)
        self.window = Decision(DEFER, (reason,), nxt, self.local)

    def block(self, code: str) -> Decision:
        decision = self._blocks.get(code)
        if decision is None:
            decision = Decision(BLOCK, (_block_reason(code, self.rules, self.policy),), None, self.local)
            self._blocks[code] = decision
        return decision


def evaluate(items: Iterable[GateItem], now: datetime) -> list[Decision]:
    """Decides every message of a batch at ``now`` (an aware datetime: dispatch time).

    Order of the rules: a suppression blocks everything (transactional included, except the single
    opt-out confirmation); transactional messages then bypass consent, caps and windows; marketing
    needs consent, then room under the frequency caps, then a sending window (else it is deferred to
    the earliest allowed instant). Unknown categories are treated as marketing.
    """
    if now.tzinfo is None:
        raise ValueError("evaluate() needs an aware datetime")
    now = now.astimezone(UTC)
    slots: dict[tuple[int, RecipientContext], _Slot] = {}
    out: list[Decision] = []
    append = out.append
    for item in items:
        key = (id(item.policy), item.context)
        slot = slots.get(key)
        if slot is None:
            slot = slots[key] = _Slot(item.policy, item.context, now)
        category = item.category
        if item.suppressed and category != OPT_OUT_CONFIRMATION:
            append(slot.block(SUPPRESSED))
        elif category == TRANSACTIONAL or category == OPT_OUT_CONFIRMATION:
            append(slot.transactional)
        elif item.consent not in CONSENT_BASES_OK:
            append(slot.block(NO_CONSENT))
        elif item.sent_last_24h >= slot.rules.max_per_24h or item.sent_last_7d >= slot.rules.max_per_7d:
            append(slot.block(FREQUENCY_CAP))
        else:
            append(slot.window)
    return out


def check(
    context: RecipientContext,
    now: datetime,
    *,
    policy: Policy | None = None,
    category: str = MARKETING,
    consent: str = "opt_in",
    suppressed: bool = False,
    sent_last_24h: int = 0,
    sent_last_7d: int = 0,
) -> Decision:
    """One decision (the checker page and the check API). Consent defaults to opt_in: the checker
    answers "when may I send to this number", consent being known only for a stored contact."""
    item = GateItem(
        context=context,
        policy=policy or default_policy(),
        category=category,
        consent=consent,
        suppressed=suppressed,
        sent_last_24h=sent_last_24h,
        sent_last_7d=sent_last_7d,
    )
    return evaluate([item], now)[0]
