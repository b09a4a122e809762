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
    write_rejected_rows,
)
from contacts.importing.reader import open_table


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
        '\ufeffPrénom;Portable\r\nZoé;\'+33612345678\r\n\'=cmd;"a ""b""; c"\r\n'.encode()
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
    assert list(table.rows) == [
        ["Hélène", "01 45 67 89 01", "Ce numéro ne peut pas recevoir de SMS."],
        ["'=evil", "abc", "invalid"],
    ]


def test_output_parses_as_excel_csv():
    buffer = io.StringIO()
    ExcelCsvWriter(buffer).writerow(["a\nb", "c;d"])
    text = buffer.getvalue().lstrip("\ufeff")
    assert next(csv.reader(io.StringIO(text, newline=""), delimiter=";")) == ["a\nb", "c;d"]
