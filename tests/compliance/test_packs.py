from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from compliance.packs import (
    ALLOWED,
    BLOCKED,
    DISCOURAGED,
    all_packs,
    effective_policy,
    get_pack,
    parse_restrictions,
    restrictions_to_json,
)

H = 60


def test_every_pack_of_the_spec_exists():
    assert set(all_packs()) == {
        "FR_STRICT",
        "FR_AF2M_2024",
        "FR_AF2M_2026",
        "US_TCPA",
        "BE",
        "ES",
        "DE",
        "UK",
    }


@pytest.mark.parametrize(
    ("code", "weekday_window", "sunday_window", "sunday", "holidays"),
    [
        ("FR_STRICT", (8 * H, 20 * H), None, BLOCKED, BLOCKED),
        ("FR_AF2M_2024", (8 * H, 22 * H), None, BLOCKED, BLOCKED),
        ("FR_AF2M_2026", (8 * H, 21 * H + 30), (8 * H, 21 * H + 30), DISCOURAGED, DISCOURAGED),
        ("US_TCPA", (8 * H, 21 * H), (8 * H, 21 * H), ALLOWED, ALLOWED),
        ("BE", (8 * H, 20 * H), None, BLOCKED, ALLOWED),
        ("ES", (9 * H, 21 * H), None, BLOCKED, BLOCKED),
        ("DE", (8 * H, 20 * H), None, BLOCKED, ALLOWED),
        ("UK", (8 * H, 20 * H), None, BLOCKED, ALLOWED),
    ],
)
def test_pack_data(code, weekday_window, sunday_window, sunday, holidays):
    pack = get_pack(code)
    assert pack.windows[0] == (weekday_window,)
    assert pack.sunday == sunday and pack.holidays == holidays
    rules = effective_policy(pack).base
    assert rules.effective_windows[6] == ((sunday_window,) if sunday_window else ())
    assert (rules.max_per_24h, rules.max_per_7d) == (1, 4)


def test_spain_has_no_saturday():
    assert get_pack("ES").windows[5] == ()


def test_fr_strict_is_the_default():
    assert get_pack(None).code == "FR_STRICT"
    assert get_pack("NOPE").code == "FR_STRICT"


def test_us_florida_and_oklahoma_are_narrower():
    policy = effective_policy("US_TCPA")
    assert policy.rules_for("US-FL").windows[0] == ((8 * H, 20 * H),)
    assert policy.rules_for("US-OK").windows[6] == ((8 * H, 20 * H),)
    assert policy.rules_for("US").windows[0] == ((8 * H, 21 * H),)


def test_org_may_narrow_hours_close_days_and_lower_caps():
    policy = effective_policy(
        "FR_STRICT",
        {
            "windows": {"mon-fri": ["09:00-12:00", "14:00-19:00"], "sat": "10:00-18:00"},
            "closed_weekdays": ["mon"],
            "blocked_dates": ["2026-08-15", "2026-08-16"],
            "max_per_24h": 1,
            "max_per_7d": 2,
        },
    )
    rules = policy.base
    assert rules.windows[1] == ((9 * H, 12 * H), (14 * H, 19 * H))
    assert rules.windows[5] == ((10 * H, 18 * H),)
    assert rules.effective_windows[0] == ()
    assert date(2026, 8, 16) in rules.blocked_dates
    assert (rules.max_per_24h, rules.max_per_7d) == (1, 2)


def test_org_restrictions_apply_to_calendar_overrides():
    policy = effective_policy("US_TCPA", {"windows": {"mon": "10:00-21:00"}})
    assert policy.rules_for("US-FL").windows[0] == ((10 * H, 20 * H),)


def test_block_discouraged_makes_sunday_blocked():
    policy = effective_policy("FR_AF2M_2026", {"block_discouraged": True})
    assert policy.base.sunday == BLOCKED and policy.base.holidays == BLOCKED
    assert policy.base.effective_windows[6] == ()


@pytest.mark.parametrize(
    ("restrictions", "fragment"),
    [
        ({"windows": {"mon": "07:30-12:00"}}, "goes beyond the hours of “France — strict operators' rules”"),
        ({"windows": {"sat": "08:00-20:01"}}, "goes beyond the hours of “France — strict operators' rules”"),
        ({"windows": {"sun": "10:00-12:00"}}, "allows no marketing SMS that day"),
        ({"max_per_24h": 2}, "is more than “France — strict operators' rules” allows (1)"),
        ({"max_per_7d": 5}, "is more than “France — strict operators' rules” allows (4)"),
        ({"max_per_7d": 0}, "at least 1"),
        ({"windows": {"mon": "20:00-08:00"}}, "not a valid time range"),
        ({"windows": {"funday": "09:00-10:00"}}, "not a day"),
        ({"closed_weekdays": ["someday"]}, "not a weekday"),
        ({"blocked_dates": ["31/12/2026"]}, "dates such as"),
        ({"weekend": True}, "Unknown"),
    ],
)
def test_looser_or_malformed_restrictions_are_rejected(restrictions, fragment):
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        effective_policy("FR_STRICT", restrictions)
    with translation.override("en"):
        assert any(fragment in m for m in exc.value.messages)


def test_looser_restrictions_are_explained_in_french_by_default():
    with translation.override("fr"), pytest.raises(ValidationError) as exc:
        effective_policy("FR_STRICT", {"windows": {"mon-sat": "07:00-19:00", "sun": "10:00-12:00"}})
    with translation.override("fr"):
        assert exc.value.messages == [
            "Du lundi au samedi : 07:00-19:00 dépasse les horaires de « France — règles strictes des "
            "opérateurs » (08:00-20:00) ; vous pouvez seulement les réduire.",
            "Dimanche : « France — règles strictes des opérateurs » n'autorise aucun SMS marketing ce "
            "jour-là ; vous ne pouvez pas l'ouvrir.",
        ]
    assert {e.code for e in exc.value.error_list} == {"looser_than_pack"}


def test_restrictions_json_round_trip():
    data = {
        "windows": {"mon": ["09:00-12:00"]},
        "closed_weekdays": ["wed"],
        "blocked_dates": ["2026-08-15"],
        "max_per_24h": 1,
        "max_per_7d": 3,
        "block_discouraged": True,
    }
    assert restrictions_to_json(parse_restrictions(data)) == data
