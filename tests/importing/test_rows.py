"""clean_row: the phone decides, the other fields are best-effort with warnings."""

from datetime import date

import pytest

from contacts.importing.rows import CleanRow, RowError, clean_row, parse_date, parse_gender, split_tags

TODAY = date(2026, 6, 1)


def clean(**fields) -> CleanRow:
    result = clean_row(fields, "FR", today=TODAY)
    assert isinstance(result, CleanRow), result
    return result


def test_full_row():
    row = clean(
        phone=" 06 12 34 56 78 ", first_name=" Hélène ", last_name="Lefe\u0300vre",
        email="Helene@Example.FR", gender="Mme", birth_date="17/05/1985", postal_code="1000",
        city=" Bourg-en-Bresse", tags="vip, noël;VIP",
    )  # fmt: skip
    assert row == CleanRow(
        phone_e164="+33612345678", region="FR", first_name="Hélène", last_name="Lefèvre",
        email="Helene@example.fr", gender="F", birth_date=date(1985, 5, 17), postal_code="01000",
        city="Bourg-en-Bresse", tags=["vip", "noël"], attributes={}, warnings=[],
    )  # fmt: skip


def test_only_phone_gives_empty_fields():
    row = clean(phone="0612345678", first_name="", email="   ")
    assert (row.first_name, row.email, row.birth_date, row.tags, row.attributes) == ("", "", None, [], {})


@pytest.mark.parametrize(
    ("phone", "reason"),
    [
        ("", "missing_phone"),
        (None, "missing_phone"),
        ("abc", "invalid_phone"),
        ("01 45 67 89 01", "not_mobile"),
        ("0612", "phone_too_short"),
        ("+999 1234567", "invalid_country_code"),
        ("3,36123E+11", "excel_damaged"),
    ],
)
def test_row_errors(phone, reason):
    result = clean_row(
        {"phone": phone, "first_name": "Jean"} if phone is not None else {"first_name": "J"}, "FR"
    )
    assert isinstance(result, RowError)
    assert result.reason == reason
    assert str(result.message)


def test_row_error_keeps_the_raw_value():
    assert clean_row({"phone": " 01 45 67 89 01 "}, "FR") == RowError("not_mobile", "phone", "01 45 67 89 01")


@pytest.mark.parametrize(
    ("email", "kept"),
    [
        ("jean@example.fr", "jean@example.fr"),
        ("Jean.Dupont+promo@EXAMPLE.COM", "Jean.Dupont+promo@example.com"),
        ("mailto:jean@example.fr", "jean@example.fr"),
        ("jean@exemple", ""),
        ("jean.example.fr", ""),
        ("jean@@example.fr", ""),
        ("jean dupont@example.fr", ""),
        ("a@b.c", ""),
    ],
)
def test_email_invalid_dropped_with_warning(email, kept):
    row = clean(phone="0612345678", email=email)
    assert row.email == kept
    assert [w.code for w in row.warnings] == ([] if kept else ["invalid_email"])


@pytest.mark.parametrize(
    ("value", "gender"),
    [
        ("Mme", "F"), ("Madame", "F"), ("MLLE", "F"), ("Mademoiselle", "F"), ("F", "F"), ("Femme", "F"),
        ("mrs", "F"), ("M.", "M"), ("M", "M"), ("Monsieur", "M"), ("H", "M"), ("Homme", "M"), ("Mr", "M"),
        ("Mr.", "M"), ("male", "M"), ("M. et Mme", ""), ("", ""), ("Dr", None), ("X", None),
    ],
)  # fmt: skip
def test_parse_gender(value, gender):
    assert parse_gender(value) == gender


def test_unknown_gender_warns():
    row = clean(phone="0612345678", gender="Docteur")
    assert (row.gender, [w.code for w in row.warnings]) == ("", ["invalid_gender"])


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("17/05/1985", date(1985, 5, 17)),
        ("7/5/1985", date(1985, 5, 7)),
        ("17-05-1985", date(1985, 5, 17)),
        ("17.05.1985", date(1985, 5, 17)),
        ("1985-05-17", date(1985, 5, 17)),
        ("1985/05/17", date(1985, 5, 17)),
        ("1985-05-17 00:00:00", date(1985, 5, 17)),
        ("1985-05-17T10:30:00", date(1985, 5, 17)),
        ("17/05/85", date(1985, 5, 17)),
        ("05/25/1985", date(1985, 5, 25)),  # only readable month first: unambiguous
        ("31197", date(1985, 5, 30)),  # Excel serial
        ("31197.0", date(1985, 5, 30)),
        ("31/02/1990", None),
        ("1990", None),  # a bare year is not a serial number
        ("hier", None),
        ("", None),
    ],
)
def test_parse_date(value, parsed):
    assert parse_date(value) == parsed


@pytest.mark.parametrize("value", ["31/02/1990", "01/01/1850", "01/01/2030", "n/a"])
def test_invalid_birth_date_warns(value):
    row = clean(phone="0612345678", birth_date=value)
    assert (row.birth_date, [w.code for w in row.warnings]) == (None, ["invalid_birth_date"])


@pytest.mark.parametrize(
    ("phone", "postal", "expected"),
    [
        ("0612345678", "1000", "01000"),
        ("0612345678", "1000.0", "01000"),
        ("0612345678", "75011", "75011"),
        ("0692123456", "97400", "97400"),
        ("+32470123456", "1000", "1000"),  # Brussels: only French contacts get the zero back
        ("+447400123456", "sw1a 1aa", "SW1A 1AA"),
    ],
)
def test_postal_code(phone, postal, expected):
    assert clean(phone=phone, postal_code=postal).postal_code == expected


def test_split_tags():
    assert split_tags("VIP, fidèle;Noël|vip ; ;") == ["VIP", "fidèle", "Noël"]
    assert split_tags("") == []


def test_attributes_kept_when_requested_and_empty_ones_skipped():
    result = clean_row({"phone": "0612345678"}, "FR", keep_unmapped={" Points ": " 120 ", "Magasin": "  "})
    assert isinstance(result, CleanRow)
    assert result.attributes == {"Points": "120"}


def test_long_values_truncated_with_warning():
    row = clean(phone="0612345678", first_name="A" * 500)
    assert len(row.first_name) == 100
    assert [w.code for w in row.warnings] == ["truncated"]
    assert str(row.warnings[0].message)


def test_whitespace_collapsed_and_formula_quote_of_our_exports_removed():
    row = clean(phone="'+33612345678", first_name="'=Jean", last_name="Le \n  Gall", city="Saint\u00a0Malo")
    assert (row.phone_e164, row.first_name, row.last_name, row.city) == ("+33612345678", "=Jean", "Le Gall",
                                                                         "Saint Malo")  # fmt: skip
