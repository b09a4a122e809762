"""CSV for Excel and formula-injection neutralisation."""

import csv
import io

from hypothesis import given
from hypothesis import strategies as st

from contacts.importing.csvsafe import (
    DANGEROUS_PREFIXES,
    ExcelCsvWriter,
    iter_excel_csv,
    safe_cell,
    spreadsheet_cell,
    write_rejected_rows,
)
from contacts.importing.phones import normalise_phone
from contacts.importing.reader import open_table
from contacts.importing.rows import clean_text


def test_safe_cell_examples():
    assert safe_cell('=HYPERLINK("http://evil")') == '\'=HYPERLINK("http://evil")'
    assert safe_cell("+33612345678") == "'+33612345678"
    assert safe_cell("-2+3") == "'-2+3"
    assert safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert safe_cell("\t=1") == "'\t=1"
    assert safe_cell("\r=1") == "'\r=1"
    assert safe_cell("Jean") == "Jean"
    assert safe_cell("") == ""
    assert safe_cell(None) == ""
    assert safe_cell(42) == "42"
    assert safe_cell(-42) == "'-42"


@given(st.one_of(st.text(), st.integers(), st.floats(allow_nan=True), st.none()))
def test_safe_cell_never_starts_with_a_dangerous_character(value):
    out = safe_cell(value)
    assert out.startswith("'") or not out.startswith(DANGEROUS_PREFIXES)
    # Nothing is lost: dropping the added quote gives the value back.
    expected = "" if value is None else str(value)
    assert out == expected or out == "'" + expected


def test_writer_bom_semicolon_crlf_binary():
    buffer = io.BytesIO()
    writer = ExcelCsvWriter(buffer)
    writer.writerow(["Prénom", "Portable"])
    writer.writerows([["Zoé", "+33612345678"], ["=cmd", 'a "b"; c']])
    assert buffer.getvalue() == (
        '\ufeffPrénom;Portable\r\nZoé;"=""+33612345678"""\r\n\'=cmd;"a ""b""; c"\r\n'.encode()
    )
    assert writer.rows_written == 3


def test_writer_text_file_and_bom_once():
    buffer = io.StringIO()
    writer = ExcelCsvWriter(buffer)
    writer.writerows([])
    writer.writerow(["a"])
    writer.writerow(["b"])
    assert buffer.getvalue() == "\ufeffa\r\nb\r\n"


def test_iter_excel_csv_matches_writer():
    rows = [["Nom", "Tel"]] + [[f"n{i}", f"+336{i:08d}"] for i in range(2500)]
    buffer = io.BytesIO()
    ExcelCsvWriter(buffer).writerows(rows)
    assert b"".join(iter_excel_csv(rows)) == buffer.getvalue()


def test_rejected_rows_round_trip_through_the_importer():
    buffer = io.BytesIO()
    count = write_rejected_rows(
        ["Prénom", "Portable"],
        [
            (["Hélène", "01 45 67 89 01"], "Ce numéro ne peut pas recevoir de SMS."),
            (["=evil", "abc"], "invalid"),
        ],
        buffer,
    )
    assert count == 2
    table = open_table(io.BytesIO(buffer.getvalue()), "rejets.csv")
    assert (table.encoding, table.delimiter, table.headers) == (
        "utf-8-sig",
        ";",
        ["Prénom", "Portable", "error"],
    )
    # The number goes as ="..." (Excel shows it as typed, no apostrophe); the importer reads it back.
    assert list(table.rows) == [
        ["Hélène", '="01 45 67 89 01"', "Ce numéro ne peut pas recevoir de SMS."],
        ["'=evil", "abc", "invalid"],
    ]
    assert clean_text('="01 45 67 89 01"') == "01 45 67 89 01" and clean_text("'=evil") == "=evil"


def test_output_parses_as_excel_csv():
    buffer = io.StringIO()
    ExcelCsvWriter(buffer).writerow(["a\nb", "c;d"])
    text = buffer.getvalue().lstrip("\ufeff")
    assert next(csv.reader(io.StringIO(text, newline=""), delimiter=";")) == ["a\nb", "c;d"]


def test_spreadsheet_cell_keeps_numbers_as_text_without_an_apostrophe():
    # What Excel would damage opens as the text it was: ="..." evaluates to that exact text.
    assert spreadsheet_cell("+33612345678") == '="+33612345678"'
    assert spreadsheet_cell("+33 6 12 34 56 78") == '="+33 6 12 34 56 78"'
    assert spreadsheet_cell("0612345678") == '="0612345678"'
    assert spreadsheet_cell("06 12 34 56 78") == '="06 12 34 56 78"'
    assert spreadsheet_cell("01000") == '="01000"'
    assert spreadsheet_cell("4970101234567890") == '="4970101234567890"'  # a card number, 16 digits
    # Numbers Excel keeps as they are stay plain; formulas are still neutralised.
    assert spreadsheet_cell("75011") == "75011"
    assert spreadsheet_cell("612345678") == "612345678"
    assert spreadsheet_cell('=HYPERLINK("http://evil")') == '\'=HYPERLINK("http://evil")'
    assert spreadsheet_cell("+33612345678+cmd") == "'+33612345678+cmd"
    assert spreadsheet_cell("-2+3") == "'-2+3"
    assert spreadsheet_cell("@SUM(A1)") == "'@SUM(A1)"
    assert spreadsheet_cell("+") == "'+"
    assert spreadsheet_cell(None) == "" and spreadsheet_cell("Zoé") == "Zoé"


@given(st.one_of(st.text(), st.integers(), st.none()))
def test_spreadsheet_cell_is_a_formula_only_for_digits(value):
    out = spreadsheet_cell(value)
    if out.startswith('="'):
        inner = out[2:-1]
        assert out.endswith('"') and inner and set(inner) <= set("+0123456789 ")
    else:
        assert out.startswith("'") or not out.startswith(DANGEROUS_PREFIXES)


def test_spreadsheet_cells_read_back_by_the_importer():
    assert normalise_phone(spreadsheet_cell("+33 6 12 34 56 78"), "FR").e164 == "+33612345678"
    assert normalise_phone(spreadsheet_cell("0612345678"), "FR").e164 == "+33612345678"
    assert clean_text(spreadsheet_cell("01000")) == "01000"
    assert clean_text('="Paris"') == "Paris" and clean_text("'=Dupont") == "=Dupont"
