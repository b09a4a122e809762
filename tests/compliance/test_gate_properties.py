"""Property tests of the gate against an independent, slow oracle built straight from the pack data."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.context import holiday_dates, recipient_context
from compliance.gate import ALLOW, BLOCK, DEFER, GateItem, evaluate
from compliance.packs import WEEKDAYS, all_packs, effective_policy

NUMBERS = [
    ("+33612345678", ""),
    ("+33612345678", "57000"),
    ("+33612345678", "67000"),
    ("+262692601234", ""),
    ("+262639012345", ""),
    ("+590690001234", ""),
    ("+590590271234", ""),
    ("+596696123456", ""),
    ("+594694123456", ""),
    ("+12125551234", ""),
    ("+13055551234", ""),
    ("+14055551234", ""),
    ("+13105551234", ""),
    ("+32470123456", ""),
    ("+34612345678", ""),
    ("+4915112345678", ""),
    ("+447700900123", ""),
]
CONTEXTS = [recipient_context(n, p) for n, p in NUMBERS]
PACKS = sorted(all_packs())
RESTRICTIONS = [
    {},
    {"closed_weekdays": ["mon"]},
    {"windows": {"mon-sat": ["09:00-12:00", "14:00-19:00"]}, "blocked_dates": ["2026-12-24", "2027-07-13"]},
    {"block_discouraged": True},
]

START = datetime(2026, 1, 1, tzinfo=UTC)
END = datetime(2028, 12, 31, 23, 59, tzinfo=UTC)


def oracle_allowed(t: datetime, pack_code: str, restrictions: dict, ctx) -> bool:
    """Is a marketing SMS allowed at t? Written independently of compliance.gate."""
    pack = all_packs()[pack_code]
    for name in ctx.timezone.split(","):
        local = t.astimezone(ZoneInfo(name))
        day = local.date()
        wd = day.weekday()
        minute = local.hour * 60 + local.minute
        sunday, holidays = pack.sunday, pack.holidays
        if restrictions.get("block_discouraged"):
            sunday = "blocked" if sunday == "discouraged" else sunday
            holidays = "blocked" if holidays == "discouraged" else holidays
        if wd == 6 and sunday == "blocked":
            return False
        if holidays == "blocked" and day in holiday_dates(ctx.calendar, day.year):
            return False
        if WEEKDAYS[wd] in restrictions.get("closed_weekdays", []):
            return False
        if day.isoformat() in restrictions.get("blocked_dates", []):
            return False
        slots = [pack.windows[wd]]
        override = pack.overrides.get(ctx.calendar)
        if override and override["windows"] is not None:
            slots.append(override["windows"][wd])
        org_windows = restrictions.get("windows", {}).get("mon-sat")
        if org_windows and wd <= 5:
            slots.append(
                tuple((int(a[:2]) * 60 + int(a[3:5]), int(a[6:8]) * 60 + int(a[9:11])) for a in org_windows)
            )
        if not all(any(s <= minute < e for s, e in windows) for windows in slots):
            return False
    return True


uniform_instants = st.datetimes(min_value=START.replace(tzinfo=None), max_value=END.replace(tzinfo=None)).map(
    lambda d: d.replace(tzinfo=UTC)
)
# Every zone used here is a whole number of hours from UTC, so window edges (xx:00, xx:30) fall on these
# UTC minutes: half of the examples sit next to a possible edge, where off-by-one errors live.
edge_instants = st.builds(
    lambda d, h, m, sec: datetime(d.year, d.month, d.day, h, m, sec, tzinfo=UTC),
    st.dates(min_value=START.date(), max_value=END.date()),
    st.integers(0, 23),
    st.sampled_from([0, 29, 30, 59]),
    st.sampled_from([0, 59]),
)
instants = st.one_of(uniform_instants, edge_instants)


@settings(max_examples=300, deadline=None)
@given(
    now=instants,
    ctx=st.sampled_from(CONTEXTS),
    pack=st.sampled_from(PACKS),
    restrictions=st.sampled_from(RESTRICTIONS),
)
def test_decision_matches_oracle(now, ctx, pack, restrictions):
    try:
        policy = effective_policy(pack, restrictions)
    except ValidationError:
        return  # e.g. Saturday windows under ES, which is closed on Saturdays: refused, nothing to check
    decision = evaluate([GateItem(ctx, policy, consent="opt_in")], now)[0]
    assert decision.outcome in (ALLOW, DEFER)  # no pack leaves no window at all
    if decision.outcome == ALLOW:
        assert oracle_allowed(now, pack, restrictions, ctx)
        return
    assert decision.outcome != BLOCK
    nxt = decision.next_allowed_at
    assert nxt is not None and nxt > now and nxt.tzinfo is not None and nxt.utcoffset() == timedelta(0)
    assert not oracle_allowed(now, pack, restrictions, ctx)
    assert oracle_allowed(nxt, pack, restrictions, ctx)
    # no allowed instant between now and next_allowed_at, at minute resolution
    t = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while t < nxt:
        assert not oracle_allowed(t, pack, restrictions, ctx), (t, nxt)
        t += timedelta(minutes=1)


@settings(max_examples=300, deadline=None)
@given(now=instants, ctx=st.sampled_from(CONTEXTS), pack=st.sampled_from(PACKS))
def test_deferred_message_is_allowed_when_re_evaluated_at_its_instant(now, ctx, pack):
    policy = effective_policy(pack)
    first = evaluate([GateItem(ctx, policy, consent="opt_in")], now)[0]
    if first.outcome == DEFER:
        again = evaluate([GateItem(ctx, policy, consent="opt_in")], first.next_allowed_at)[0]
        assert again.outcome == ALLOW
        # and one second before it, still deferred to the same instant
        before = evaluate(
            [GateItem(ctx, policy, consent="opt_in")], first.next_allowed_at - timedelta(seconds=1)
        )[0]
        assert before.outcome == DEFER and before.next_allowed_at == first.next_allowed_at
