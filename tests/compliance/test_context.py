from datetime import date

import pytest

from compliance.context import RecipientContext, holiday_dates, recipient_context

D = date


@pytest.mark.parametrize(
    ("phone", "postal", "region", "tz", "calendar"),
    [
        ("+33612345678", "", "FR", "Europe/Paris", "FR"),
        ("+33612345678", "75011", "FR", "Europe/Paris", "FR"),
        ("+33612345678", "57000", "FR", "Europe/Paris", "FR-57"),
        ("+33612345678", "67000", "FR", "Europe/Paris", "FR-6AE"),
        ("+33612345678", "68 100", "FR", "Europe/Paris", "FR-6AE"),
        ("+262692601234", "", "RE", "Indian/Reunion", "FR-974"),
        ("+262693501234", "", "RE", "Indian/Reunion", "FR-974"),
        ("+262639012345", "", "YT", "Indian/Mayotte", "FR-976"),
        ("+262639123456", "", "YT", "Indian/Mayotte", "FR-976"),  # not yet allocated, still Mayotte's range
        ("+262269612345", "", "YT", "Indian/Mayotte", "FR-976"),
        ("+590690001234", "", "GP", "America/Guadeloupe", "FR-971+BL+MF"),
        ("+590590271234", "", "BL", "America/Guadeloupe", "FR-971+BL+MF"),
        ("+596696123456", "", "MQ", "America/Martinique", "FR-972"),
        ("+594694123456", "", "GF", "America/Cayenne", "FR-973"),
        ("+12125551234", "", "US", "America/New_York", "US"),
        ("+13055551234", "", "US", "America/New_York", "US-FL"),
        ("+14055551234", "", "US", "America/Chicago", "US-OK"),
        ("+19185551234", "", "US", "America/Chicago", "US-OK"),
        ("+32470123456", "", "BE", "Europe/Brussels", "BE"),
        ("+4915112345678", "", "DE", "Europe/Berlin", "DE"),
        ("+447700900123", "", "GB", "Europe/London", "GB"),
    ],
)
def test_recipient_context(phone, postal, region, tz, calendar):
    assert recipient_context(phone, postal) == RecipientContext(region, tz, calendar)


def test_multi_zone_region_keeps_strictest_zones():
    ctx = recipient_context("+34612345678")
    assert ctx.region == "ES"
    assert set(ctx.zones) == {"Europe/Madrid", "Atlantic/Canary"}
    assert ctx.primary_zone == "Europe/Madrid"  # the easternmost first


def test_postal_code_does_not_move_a_dom_number():
    assert recipient_context("+262692601234", "57000").calendar == "FR-974"


@pytest.mark.parametrize("bad", ["", "hello", "0612345678", "+999123"])
def test_bad_numbers_raise(bad):
    with pytest.raises(ValueError):
        recipient_context(bad)


MAINLAND_2026 = {
    D(2026, 1, 1), D(2026, 4, 6), D(2026, 5, 1), D(2026, 5, 8), D(2026, 5, 14), D(2026, 5, 25),
    D(2026, 7, 14), D(2026, 8, 15), D(2026, 11, 1), D(2026, 11, 11), D(2026, 12, 25),
}  # fmt: skip


def test_mainland_holidays_2026():
    assert holiday_dates("FR", 2026) == MAINLAND_2026


@pytest.mark.parametrize(
    ("calendar", "extra"),
    [
        ("FR-57", {D(2026, 4, 3), D(2026, 12, 26)}),
        ("FR-6AE", {D(2026, 4, 3), D(2026, 12, 26)}),
        # Mi-Carême, Good Friday, 27 May, 21 Jul, plus BL 9 Oct and MF 28 May
        (
            "FR-971+BL+MF",
            {D(2026, 3, 12), D(2026, 4, 3), D(2026, 5, 27), D(2026, 7, 21), D(2026, 10, 9), D(2026, 5, 28)},
        ),
        ("FR-972", {D(2026, 5, 22), D(2026, 7, 21)}),
        ("FR-973", {D(2026, 6, 10)}),
        ("FR-974", {D(2026, 12, 20)}),
        ("FR-976", {D(2026, 4, 27)}),
    ],
)
def test_regional_holidays(calendar, extra):
    assert holiday_dates(calendar, 2026) == MAINLAND_2026 | extra


def test_unknown_calendar_has_no_holidays():
    assert holiday_dates("ZZ", 2026) == frozenset()


def test_holiday_dates_are_cached_per_year():
    assert holiday_dates("FR-974", 2027) is holiday_dates("FR-974", 2027)
    assert D(2027, 12, 20) in holiday_dates("FR-974", 2027)
