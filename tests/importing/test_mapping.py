"""guess_mapping and validate_mapping on French and English headers."""

import pytest
from django.utils import translation

from contacts.importing.mapping import (
    CONTACT_FIELDS,
    guess_mapping,
    make_row_mapper,
    normalise_header,
    validate_mapping,
)


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Téléphone", "phone"), ("TEL", "phone"), ("Tél.", "phone"), ("Portable", "phone"),
        ("Mobile", "phone"), ("Numéro", "phone"), ("GSM", "phone"), ("Phone", "phone"),
        ("N° de portable", "phone"),
        ("Téléphone portable", "phone"), ("Mobile phone", "phone"), ("numéro de téléphone", "phone"),
        ("Prénom", "first_name"), ("PRENOM", "first_name"), ("First name", "first_name"),
        ("firstname", "first_name"), ("Nom", "last_name"), ("Last name", "last_name"),
        ("Nom de famille", "last_name"), ("Nom client", "last_name"), ("Surname", "last_name"),
        ("Code postal", "postal_code"), ("CP", "postal_code"), ("Zip", "postal_code"),
        ("Code Postal ", "postal_code"), ("Ville", "city"), ("City", "city"), ("Commune", "city"),
        ("Civilité", "gender"), ("Sexe", "gender"), ("Genre", "gender"), ("civ.", "gender"),
        ("Date de naissance", "birth_date"), ("Naissance", "birth_date"), ("Birthday", "birth_date"),
        ("Date of birth", "birth_date"), ("Né(e) le", "birth_date"),
        ("E-mail", "email"), ("Email", "email"), ("Courriel", "email"), ("Adresse e-mail", "email"),
        ("Mail", "email"), ("Tags", "tags"), ("Étiquettes", "tags"),
    ],
)  # fmt: skip
def test_single_header(header, field):
    assert guess_mapping([header]) == {header: field}


@pytest.mark.parametrize(
    "header",
    ["Montant", "Date de création", "Nom du magasin", "Numéro client", "Code client", "Téléphone fixe", "Fax",
     "Nom Prénom", "Lieu de naissance", "Opt-in email", "Points fidélité", ""],
)  # fmt: skip
def test_unknown_headers_map_to_none(header):
    assert guess_mapping([header]) == {header: None}


def test_typical_till_export():
    headers = [
        "Civilité",
        "Prénom",
        "Nom",
        "Portable",
        "E-mail",
        "CP",
        "Ville",
        "Date de naissance",
        "Points",
    ]
    assert guess_mapping(headers) == {
        "Civilité": "gender", "Prénom": "first_name", "Nom": "last_name", "Portable": "phone",
        "E-mail": "email", "CP": "postal_code", "Ville": "city", "Date de naissance": "birth_date",
        "Points": None,
    }  # fmt: skip


def test_each_field_once_best_match_wins():
    mapping = guess_mapping(["Téléphone", "Portable", "Nom client", "Nom", "Email", "Mail"])
    assert mapping == {
        "Téléphone": None, "Portable": "phone", "Nom client": None, "Nom": "last_name", "Email": "email",
        "Mail": None,
    }  # fmt: skip


def test_landline_column_left_alone_when_a_mobile_column_exists():
    assert guess_mapping(["Téléphone fixe", "Téléphone portable"]) == {
        "Téléphone fixe": None,
        "Téléphone portable": "phone",
    }


def test_phone_column_found_from_values_when_headers_say_nothing():
    headers = ["column_1", "column_2"]
    rows = [["Jean", "06 12 34 56 78"], ["Marie", "0612345679"], ["Luc", ""]]
    assert guess_mapping(headers, rows) == {"column_1": None, "column_2": "phone"}
    assert guess_mapping(headers, [["a", "b"]]) == {"column_1": None, "column_2": None}


def test_normalise_header():
    assert normalise_header("  Téléphone  Portable ") == "telephone portable"
    assert normalise_header("N°") == "n"
    assert normalise_header("E-MAIL") == "e mail"


def test_validate_mapping():
    # The messages are translated: read them in English whatever language an earlier test left active.
    with translation.override("en"):
        _validate_mapping_in_english()


def _validate_mapping_in_english():
    assert validate_mapping({"Portable": "phone", "Nom": "last_name", "X": None}) == []
    errors = validate_mapping({"Prénom": "first_name", "Nom": "last_name"})
    assert len(errors) == 1 and "phone" in errors[0]
    errors = validate_mapping({"A": "phone", "B": "phone", "C": "shoe_size"})
    assert len(errors) == 2
    assert any("shoe_size" in e for e in errors)
    assert any("A, B" in e for e in errors)


def test_missing_phone_column_file(corpus):
    from contacts.importing.reader import open_table

    with corpus["missing_phone_column.csv"].open("rb") as f:
        table = open_table(f, "x.csv")
    mapping = guess_mapping(table.headers)
    assert mapping == {"Prénom": "first_name", "Nom": "last_name", "Ville": "city"}
    assert validate_mapping(mapping)


def test_make_row_mapper():
    headers = ["Prénom", "Portable", "Points", "Magasin"]
    mapping = {"Prénom": "first_name", "Portable": "phone", "Points": None, "Magasin": None}
    mapped, unmapped = make_row_mapper(headers, mapping, keep_unmapped=True)(["Jean", "0612", "12", ""])
    assert mapped == {"first_name": "Jean", "phone": "0612"}
    assert unmapped == {"Points": "12"}
    assert make_row_mapper(headers, mapping)(["Jean", "0612", "12", ""])[1] == {}


def test_contact_fields():
    assert CONTACT_FIELDS == ("phone", "first_name", "last_name", "email", "gender", "birth_date",
                              "postal_code", "city", "tags")  # fmt: skip
