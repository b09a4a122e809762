from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from compliance.context import RecipientContext, recipient_context
from compliance.gate import (
    ALLOW,
    BLOCK,
    CLOSED_DAY,
    DEFER,
    DISCOURAGED_DAY,
    FREQUENCY_CAP,
    NO_CONSENT,
    NO_WINDOW,
    OPT_OUT_CONFIRMATION,
    OUTSIDE_WINDOW,
    PUBLIC_HOLIDAY,
    SUNDAY_BLOCKED,
    SUPPRESSED,
    TRANSACTIONAL,
    GateItem,
    _first_instant_at,
    check,
    evaluate,
)
from compliance.packs import default_policy, effective_policy

PARIS = recipient_context("+33612345678")
MOSELLE = recipient_context("+33612345678", "57000")
REUNION = recipient_context("+262692601234")
MAYOTTE = recipient_context("+262639012345")
GUADELOUPE = recipient_context("+590690001234")
NEW_YORK = recipient_context("+12125551234")
MIAMI = recipient_context("+13055551234")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- docs/compliance.md, "Worked examples" --------------------------------------------------------


def test_2026_06_15_18h_utc_paris_reunion_guadeloupe():
    now = utc(2026, 6, 15, 18, 0)
    paris, reunion, guadeloupe = evaluate([GateItem(ctx, default_policy(), consent="opt_in") for ctx in
                                           (PARIS, REUNION, GUADELOUPE)], now)  # fmt: skip
    assert paris.outcome == DEFER and paris.reason == OUTSIDE_WINDOW
    assert paris.local_time.strftime("%H:%M") == "20:00"
    assert paris.next_allowed_at == utc(2026, 6, 16, 6, 0)  # Tuesday 08:00 CEST
    assert reunion.outcome == DEFER
    assert reunion.local_time.strftime("%H:%M") == "22:00"
    assert reunion.next_allowed_at == utc(2026, 6, 16, 4, 0)  # 08:00 UTC+4
    assert guadeloupe.outcome == ALLOW
    assert guadeloupe.local_time.strftime("%H:%M") == "14:00"


def test_reunion_sentence_names_the_rule():
    decision = check(REUNION, utc(2026, 6, 15, 18, 30))
    fr = decision.reasons[0].message("fr")
    en = decision.reasons[0].message("en")
    assert fr.startswith("22:30 à La Réunion (UTC+4) :")
    assert "envoi reporté au mardi 16 juin à 08:00 heure locale" in fr
    assert en.startswith("22:30 in Réunion (UTC+4):")
    assert "Tuesday 16 June at 08:00 local time" in en


def test_same_day_deferral_sentence():
    decision = check(PARIS, utc(2026, 6, 16, 5, 0))  # 07:00 in Paris
    assert decision.next_allowed_at == utc(2026, 6, 16, 6, 0)
    assert decision.reasons[0].fr.endswith("envoi reporté à 08:00 heure locale")


def test_easter_monday_is_blocked():
    decision = check(PARIS, utc(2026, 4, 6, 8, 0))  # Monday 10:00
    assert decision.outcome == DEFER and decision.reason == PUBLIC_HOLIDAY
    assert decision.next_allowed_at == utc(2026, 4, 7, 6, 0)


def test_saturday_evening_before_easter_skips_sunday_and_monday():
    decision = check(PARIS, utc(2026, 4, 4, 18, 30))  # Saturday 20:30
    assert decision.next_allowed_at == utc(2026, 4, 7, 6, 0)  # Tuesday 08:00


def test_26_december_moselle_vs_paris():
    now = utc(2026, 12, 26, 9, 0)  # Saturday 10:00
    assert check(PARIS, now).outcome == ALLOW
    moselle = check(MOSELLE, now)
    assert moselle.outcome == DEFER and moselle.reason == PUBLIC_HOLIDAY
    assert moselle.next_allowed_at == utc(2026, 12, 28, 7, 0)  # Sunday then Monday 08:00 CET


def test_good_friday_alsace_moselle_only():
    now = utc(2026, 4, 3, 9, 0)
    assert check(PARIS, now).outcome == ALLOW
    assert check(recipient_context("+33612345678", "67000"), now).reason == PUBLIC_HOLIDAY


def test_20_december_reunion():
    now = utc(2027, 12, 20, 8, 0)  # Monday: 12:00 in Reunion, 09:00 in Paris
    reunion = check(REUNION, now)
    assert reunion.outcome == DEFER and reunion.reason == PUBLIC_HOLIDAY
    assert reunion.next_allowed_at == utc(2027, 12, 21, 4, 0)
    assert check(PARIS, now).outcome == ALLOW
    assert check(MAYOTTE, now).outcome == ALLOW  # 20 Dec is Reunion's, not Mayotte's


def test_27_april_mayotte():
    now = utc(2026, 4, 27, 8, 0)
    assert check(MAYOTTE, now).reason == PUBLIC_HOLIDAY
    assert check(REUNION, now).outcome == ALLOW


def test_saturday_1959_vs_2000_fr_strict():
    assert check(PARIS, utc(2026, 6, 13, 17, 59)).outcome == ALLOW
    assert check(PARIS, utc(2026, 6, 13, 17, 59, 59)).outcome == ALLOW
    late = check(PARIS, utc(2026, 6, 13, 18, 0))
    assert late.outcome == DEFER and late.reason == OUTSIDE_WINDOW
    assert late.next_allowed_at == utc(2026, 6, 15, 6, 0)  # Monday 08:00, Sunday skipped


def test_window_start_is_inclusive():
    assert check(PARIS, utc(2026, 6, 15, 6, 0)).outcome == ALLOW
    assert check(PARIS, utc(2026, 6, 15, 5, 59, 59)).outcome == DEFER


def test_sunday_blocked():
    decision = check(PARIS, utc(2026, 6, 14, 10, 0))
    assert decision.reason == SUNDAY_BLOCKED
    assert decision.next_allowed_at == utc(2026, 6, 15, 6, 0)


def test_dst_spring_2026_03_29():
    # Saturday 20:00 CET -> Monday 08:00 CEST: the offset changes in between.
    decision = check(PARIS, utc(2026, 3, 28, 19, 0))
    assert decision.next_allowed_at == utc(2026, 3, 30, 6, 0)
    # Sundays allowed (FR_AF2M_2026): 01:30 CET on the change night -> 08:00 CEST the same day.
    af2m = default_policy("FR_AF2M_2026")
    assert check(PARIS, utc(2026, 3, 29, 0, 30), policy=af2m).next_allowed_at == utc(2026, 3, 29, 6, 0)
    assert check(PARIS, utc(2026, 3, 29, 5, 59), policy=af2m).outcome == DEFER
    assert check(PARIS, utc(2026, 3, 29, 6, 0), policy=af2m).outcome == ALLOW


def test_dst_autumn_2026_10_25():
    decision = check(PARIS, utc(2026, 10, 24, 18, 0))  # Saturday 20:00 CEST
    assert decision.next_allowed_at == utc(2026, 10, 26, 7, 0)  # Monday 08:00 CET
    af2m = default_policy("FR_AF2M_2026")
    assert check(PARIS, utc(2026, 10, 25, 6, 59), policy=af2m).outcome == DEFER  # 07:59 CET
    assert check(PARIS, utc(2026, 10, 25, 7, 0), policy=af2m).outcome == ALLOW
    # 21:30 CET is 20:30 UTC after the change
    assert check(PARIS, utc(2026, 10, 25, 20, 29), policy=af2m).outcome == ALLOW
    assert check(PARIS, utc(2026, 10, 25, 20, 30), policy=af2m).outcome == DEFER


def test_first_instant_inside_spring_gap_is_the_transition():
    paris = ZoneInfo("Europe/Paris")
    assert _first_instant_at(date(2026, 3, 29), 2 * 60 + 30, paris) == utc(2026, 3, 29, 1, 0)
    assert _first_instant_at(date(2026, 3, 29), 8 * 60, paris) == utc(2026, 3, 29, 6, 0)
    # ambiguous autumn wall time: the first occurrence
    assert _first_instant_at(date(2026, 10, 25), 2 * 60 + 30, paris) == utc(2026, 10, 25, 0, 30)


def test_new_year_and_year_boundary():
    decision = check(PARIS, utc(2026, 12, 31, 19, 0))  # Thursday 20:00 CET
    assert decision.next_allowed_at == utc(2027, 1, 2, 7, 0)  # 1 Jan is a holiday, 2 Jan a Saturday
    assert "2 janvier 2027" in decision.reasons[0].fr
    assert check(PARIS, utc(2027, 1, 1, 10, 0)).reason == PUBLIC_HOLIDAY


def test_holiday_on_monday_after_sunday_pentecost():
    decision = check(PARIS, utc(2026, 5, 23, 18, 30))  # Saturday 20:30 before Whit Monday
    assert decision.next_allowed_at == utc(2026, 5, 26, 6, 0)


# --- other packs -----------------------------------------------------------------------------------


def test_af2m_2026_sunday_and_holiday_are_flagged_not_blocked():
    af2m = default_policy("FR_AF2M_2026")
    sunday = check(PARIS, utc(2026, 6, 14, 10, 0), policy=af2m)
    assert sunday.outcome == ALLOW and sunday.discouraged and sunday.codes == (DISCOURAGED_DAY,)
    holiday = check(PARIS, utc(2026, 7, 14, 10, 0), policy=af2m)
    assert holiday.outcome == ALLOW and holiday.discouraged
    assert check(PARIS, utc(2026, 7, 15, 10, 0), policy=af2m).codes == ()
    assert check(PARIS, utc(2026, 7, 15, 19, 29), policy=af2m).outcome == ALLOW  # 21:29
    assert check(PARIS, utc(2026, 7, 15, 19, 30), policy=af2m).outcome == DEFER  # 21:30


def test_af2m_2024_until_22h():
    policy = default_policy("FR_AF2M_2024")
    assert check(PARIS, utc(2026, 6, 15, 19, 59), policy=policy).outcome == ALLOW
    assert check(PARIS, utc(2026, 6, 15, 20, 0), policy=policy).outcome == DEFER


def test_us_florida_is_stricter():
    policy = default_policy("US_TCPA")
    now = utc(2026, 6, 16, 0, 30)  # 20:30 EDT
    assert check(NEW_YORK, now, policy=policy).outcome == ALLOW
    miami = check(MIAMI, now, policy=policy)
    assert miami.outcome == DEFER
    assert miami.next_allowed_at == utc(2026, 6, 16, 12, 0)  # 08:00 EDT


def test_spain_multi_zone_uses_strictest():
    policy = default_policy("ES")
    spain = recipient_context("+34612345678")
    # 09:30 in Madrid is 08:30 in the Canaries: not yet allowed everywhere
    decision = check(spain, utc(2026, 6, 15, 7, 30), policy=policy)
    assert decision.outcome == DEFER
    assert decision.next_allowed_at == utc(2026, 6, 15, 8, 0)
    # 20:30 Madrid: the Canaries' 19:30 is fine but Madrid closes at 21:00
    assert check(spain, utc(2026, 6, 15, 18, 30), policy=policy).outcome == ALLOW
    assert check(spain, utc(2026, 6, 15, 19, 0), policy=policy).outcome == DEFER
    # Saturday closed
    assert check(spain, utc(2026, 6, 13, 10, 0), policy=policy).reason == CLOSED_DAY


# --- organisation restrictions ---------------------------------------------------------------------


def test_weekly_closing_day_and_blocked_date():
    policy = effective_policy("FR_STRICT", {"closed_weekdays": ["mon"], "blocked_dates": ["2026-06-16"]})
    decision = check(PARIS, utc(2026, 6, 15, 10, 0), policy=policy)
    assert decision.reason == CLOSED_DAY
    assert decision.next_allowed_at == utc(2026, 6, 17, 6, 0)


def test_split_windows():
    policy = effective_policy("FR_STRICT", {"windows": {"mon-sat": ["09:00-12:00", "14:00-19:00"]}})
    lunch = check(PARIS, utc(2026, 6, 15, 10, 30), policy=policy)  # 12:30
    assert lunch.next_allowed_at == utc(2026, 6, 15, 12, 0)
    assert check(PARIS, utc(2026, 6, 15, 9, 59), policy=policy).outcome == ALLOW


def test_no_window_at_all_is_a_block():
    policy = effective_policy("ES", {"closed_weekdays": ["mon", "tue", "wed", "thu", "fri"]})
    decision = check(recipient_context("+34612345678"), utc(2026, 6, 15, 10, 0), policy=policy)
    assert decision.outcome == BLOCK and decision.reason == NO_WINDOW


# --- consent, suppression, caps, transactional -----------------------------------------------------


def _item(**kwargs) -> GateItem:
    kwargs.setdefault("consent", "opt_in")
    return GateItem(PARIS, default_policy(), **kwargs)


NIGHT = utc(2026, 6, 15, 22, 0)
DAY = utc(2026, 6, 15, 10, 0)


@pytest.mark.parametrize(
    ("item", "now", "outcome", "code"),
    [
        (_item(), DAY, ALLOW, ""),
        (_item(consent="soft_opt_in"), DAY, ALLOW, ""),
        (_item(consent="none"), DAY, BLOCK, NO_CONSENT),
        (_item(consent="unknown"), DAY, BLOCK, NO_CONSENT),
        (_item(consent=""), DAY, BLOCK, NO_CONSENT),
        (_item(suppressed=True), DAY, BLOCK, SUPPRESSED),
        (_item(suppressed=True, category=TRANSACTIONAL), DAY, BLOCK, SUPPRESSED),
        (_item(suppressed=True, category=TRANSACTIONAL), NIGHT, BLOCK, SUPPRESSED),
        (_item(suppressed=True, category=OPT_OUT_CONFIRMATION), NIGHT, ALLOW, ""),
        (_item(category=TRANSACTIONAL, consent="none"), NIGHT, ALLOW, ""),
        (_item(category=TRANSACTIONAL, sent_last_24h=9, sent_last_7d=99), NIGHT, ALLOW, ""),
        (_item(category="newsletter"), NIGHT, DEFER, OUTSIDE_WINDOW),  # unknown category = marketing
        (_item(sent_last_24h=1), DAY, BLOCK, FREQUENCY_CAP),
        (_item(sent_last_7d=4), DAY, BLOCK, FREQUENCY_CAP),
        (_item(sent_last_7d=3), DAY, ALLOW, ""),
        (_item(sent_last_24h=1), NIGHT, BLOCK, FREQUENCY_CAP),
        (_item(consent="none"), NIGHT, BLOCK, NO_CONSENT),
        (_item(), NIGHT, DEFER, OUTSIDE_WINDOW),
    ],
)
def test_rule_order(item, now, outcome, code):
    decision = evaluate([item], now)[0]
    assert decision.outcome == outcome
    assert decision.reason == code


def test_org_cap_lowers_the_pack_cap():
    policy = effective_policy("FR_STRICT", {"max_per_7d": 2})
    assert (
        evaluate([GateItem(PARIS, policy, consent="opt_in", sent_last_7d=2)], DAY)[0].reason == FREQUENCY_CAP
    )


def test_every_reason_has_french_and_english():
    items = [_item(consent="none"), _item(suppressed=True), _item(sent_last_24h=5), _item()]
    for decision in evaluate(items, NIGHT):
        for reason in decision.reasons:
            assert reason.fr and reason.en and reason.fr != reason.en
            assert reason.message("en-gb") == reason.en and reason.message("fr") == reason.fr


def test_batch_is_aligned_and_shares_work():
    contexts = [PARIS, REUNION, GUADELOUPE, MOSELLE, MIAMI]
    items = [
        GateItem(contexts[i % 5], default_policy(), consent="opt_in", suppressed=i % 7 == 0)
        for i in range(500)
    ]
    decisions = evaluate(items, utc(2026, 6, 15, 18, 0))
    assert len(decisions) == 500
    for item, decision in zip(items, decisions, strict=True):
        assert decision == check(item.context, utc(2026, 6, 15, 18, 0), suppressed=item.suppressed)


def test_naive_now_is_refused():
    with pytest.raises(ValueError):
        evaluate([_item()], datetime(2026, 6, 15, 10, 0))


def test_next_allowed_is_utc():
    decision = check(PARIS, NIGHT)
    assert decision.next_allowed_at.utcoffset() == timedelta(0)


def test_unknown_region_context_still_evaluates():
    ctx = RecipientContext("ZZ", "UTC", "ZZ")
    assert check(ctx, utc(2026, 6, 15, 10, 0)).outcome == ALLOW
