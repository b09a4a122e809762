"""normalise_phone: every format shops send, Excel repairs, overseas departments, foreign numbers."""

import phonenumbers
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from contacts.importing.phones import (
    PHONE_ERROR_MESSAGES,
    PhoneResult,
    normalise_phone,
    normalise_phone_uncached,
    slow_path_only,
)

FR_MOBILE = PhoneResult("+33612345678", "FR", None)


@pytest.mark.parametrize(
    "raw",
    [
        "0612345678",
        "06 12 34 56 78",
        "06.12.34.56.78",
        "06-12-34-56-78",
        "06/12/34/56/78",
        " 06 12 34 56 78 ",
        "06\u00a012\u00a034\u00a056\u00a078",  # non-breaking spaces from Excel's number format
        "+33 6 12 34 56 78",
        "+33612345678",
        "+33 (0)6 12 34 56 78",
        "0033612345678",
        "0033 6 12 34 56 78",
        "33612345678",
        "33 6 12 34 56 78",
        "6.12345678E+08",  # Excel scientific notation, English
        "6,12345678E+08",  # and French decimal comma
        "6.12345678e8",
        "612345678",  # leading zero dropped by a numeric column
        "612345678.0",
        "612345678,0",
        "33612345678.0",
        '="0612345678"',  # the formula trick exports use to keep the zero
        "'0612345678",  # Excel's text prefix
        "'+33612345678",  # our own safe CSV export, re-imported
        "０６１２３４５６７８",  # full-width digits
        "06 12 34 56 78 (perso)",
        "Tél : 06 12 34 56 78",
        "+33\u20116\u201112\u201134\u201156\u201178",  # non-breaking hyphens
    ],
)
def test_french_mobile_formats(raw):
    assert normalise_phone(raw) == FR_MOBILE


@pytest.mark.parametrize(
    ("raw", "e164", "region"),
    [
        ("0639 40 12 34", "+262639401234", "YT"),
        ("0639401234", "+262639401234", "YT"),
        ("639401234", "+262639401234", "YT"),  # dropped zero, overseas
        ("6.39401234E+08", "+262639401234", "YT"),
        ("+262 639 40 12 34", "+262639401234", "YT"),
        ("262639401234", "+262639401234", "YT"),  # '+' lost by Excel
        ("0692 12 34 56", "+262692123456", "RE"),
        ("0693 12 34 56", "+262693123456", "RE"),
        ("+262 692 12 34 56", "+262692123456", "RE"),
        ("0690 12 34 56", "+590690123456", "GP"),
        ("0691 22 34 56", "+590691223456", "GP"),
        ("+590 690 12 34 56", "+590690123456", "GP"),
        ("0696 12 34 56", "+596696123456", "MQ"),
        ("0697 12 34 56", "+596697123456", "MQ"),
        ("0694 12 34 56", "+594694123456", "GF"),
        ("0751234567", "+33751234567", "FR"),
        ("07 81 23 45 67", "+33781234567", "FR"),
    ],
)
def test_overseas_departments_written_nationally(raw, e164, region):
    assert normalise_phone(raw, "FR") == PhoneResult(e164, region, None)


def test_phonenumbers_alone_reads_mayotte_as_invalid_french():
    """Why the fallback exists: with region FR, phonenumbers 9.0.43 makes 0639... an invalid +33."""
    number = phonenumbers.parse("0639401234", "FR")
    assert number.country_code == 33
    assert not phonenumbers.is_valid_number(number)


@pytest.mark.parametrize(
    ("raw", "region", "e164", "number_region"),
    [
        ("0612345678", "RE", "+33612345678", "FR"),  # a mainland number in a Réunion shop's file
        ("0692123456", "RE", "+262692123456", "RE"),
        ("0639401234", "RE", "+262639401234", "YT"),
        ("0690123456", "MQ", "+590690123456", "GP"),
        ("0470 12 34 56", "BE", "+32470123456", "BE"),
        ("07400 123456", "GB", "+447400123456", "GB"),
        ("(201) 555-0123", "US", "+12015550123", "US"),
        ("201-555-0123", "US", "+12015550123", "US"),
        ("0612345678", "US", None, None),
    ],
)
def test_default_region(raw, region, e164, number_region):
    result = normalise_phone(raw, region)
    assert (result.e164, result.region) == (e164, number_region)


@pytest.mark.parametrize(
    ("raw", "e164", "region"),
    [
        ("+32 470 12 34 56", "+32470123456", "BE"),
        ("0032470123456", "+32470123456", "BE"),
        ("32470123456", "+32470123456", "BE"),
        ("+44 7400 123456", "+447400123456", "GB"),
        ("0044 7400 123456", "+447400123456", "GB"),
        ("+44 7911 123456", "+447911123456", "GG"),  # phonenumbers assigns this range to Guernsey
        ("+1 201 555 0123", "+12015550123", "US"),  # NANP: FIXED_LINE_OR_MOBILE is accepted
        ("+1 (415) 555-2671", "+14155552671", "US"),
        ("+1 613 555 0123", "+16135550123", "CA"),
        ("+49 151 23456789", "+4915123456789", "DE"),
        ("+41 79 123 45 67", "+41791234567", "CH"),
        ("+34 612 34 56 78", "+34612345678", "ES"),
    ],
)
def test_foreign_mobiles(raw, e164, region):
    assert normalise_phone(raw, "FR") == PhoneResult(e164, region, None)


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("N/A", "empty"),
        ("-", "empty"),
        ("néant", "empty"),
        ("01 45 67 89 01", "not_mobile"),
        ("04 78 12 34 56", "not_mobile"),
        ("09 39 12 34 56", "not_mobile"),  # VoIP box numbers cannot receive SMS reliably
        ("0800 12 34 56", "not_mobile"),  # toll free
        ("0899 12 34 56", "not_mobile"),  # premium rate
        ("0262 12 34 56", "not_mobile"),  # Réunion landline
        ("0590 12 34 56", "not_mobile"),  # Guadeloupe landline
        ("+44 20 7946 0958", "not_mobile"),
        ("+32 2 555 12 12", "not_mobile"),
        ("0612", "too_short"),
        ("06 12 34 56 78 / 07 51 23 45 67", "too_long"),
        ("061234567890123456", "too_long"),
        ("+999 1234567", "invalid_country_code"),
        ("0712345678", "invalid"),  # 0712 is not an allocated mobile range
        ("0639123456", "invalid"),  # 06391... is allocated nowhere (neither FR nor YT)
        ("abc", "invalid"),
        ("3,36123E+11", "excel_damaged"),  # Excel rounded 336123456789: digits are gone
        ("6.1234E+08", "excel_damaged"),
        ("6.123456789E+08", "excel_damaged"),
    ],
)
def test_rejections(raw, error):
    result = normalise_phone(raw, "FR")
    assert result == PhoneResult(None, None, error)
    assert not result.ok
    assert str(result.message) == str(PHONE_ERROR_MESSAGES[error])


def test_none_is_empty():
    assert normalise_phone(None).error == "empty"  # type: ignore[arg-type]


def test_lowercase_region_accepted():
    assert normalise_phone("0612345678", "fr") == FR_MOBILE


def test_results_are_cached():
    normalise_phone("06 99 88 77 66")
    info_before = normalise_phone.__globals__["_normalise_cached"].cache_info()
    normalise_phone("06 99 88 77 66")
    assert normalise_phone.__globals__["_normalise_cached"].cache_info().hits == info_before.hits + 1


# --- the fast path agrees with phonenumbers --------------------------------------------------------------

REGIONS = ["FR", "BE", "DE", "ES", "IT", "CH", "GB", "US", "RE", "GP", "NL", "PT", "MA", "SN"]


@settings(max_examples=2000, deadline=None)
@given(
    region=st.sampled_from(REGIONS),
    prefix=st.sampled_from(["0", "+33", "0033", "+32", "0032", "+49", "+34", "+41", "+212", "", "00"]),
    digits=st.text(alphabet="0123456789", min_size=6, max_size=12),
)
def test_fast_path_agrees_with_slow_path(region, prefix, digits):
    # A bare 9-digit 6/7... number is repaired (leading zero) before either path: not what is compared here.
    assume(not (prefix == "" and len(digits) == 9 and digits[0] in "67"))
    compact = prefix + digits
    fast = normalise_phone_uncached(compact, region)
    slow = slow_path_only(compact, region)
    if fast.ok:
        assert fast == slow
    else:
        assert slow.error is not None


@settings(max_examples=3000, deadline=None)
@given(nsn=st.integers(min_value=600_000_000, max_value=799_999_999), national=st.booleans())
def test_fast_path_agrees_on_every_french_mobile_range(nsn, national):
    compact = f"0{nsn}" if national else f"+33{nsn}"
    assert normalise_phone_uncached(compact, "FR") == slow_path_only(compact, "FR")
