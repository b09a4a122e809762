"""open_table: encodings, delimiters, quoting, blank lines, XLSX, bad files and constant memory."""

import io
import random
import tracemalloc
import zipfile
from datetime import date, datetime, time

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from contacts.importing.errors import ImportFileError
from contacts.importing.reader import cell_to_str, detect_delimiter, detect_encoding, open_table


def table_of(data: bytes, name: str = "contacts.csv", **kwargs):
    return open_table(io.BytesIO(data), name, **kwargs)


def file_error(data: bytes, name: str = "contacts.csv", **kwargs) -> str:
    with pytest.raises(ImportFileError) as caught:
        table = table_of(data, name, **kwargs)
        list(table.rows)
    return caught.value.code


# --- corpus files --------------------------------------------------------------------------------------


def test_windows_1252_semicolon_with_french_headers(corpus):
    with corpus["cp1252_semicolon.csv"].open("rb") as f:
        table = open_table(f, "export caisse.csv")
        rows = list(table.rows)
    assert (table.encoding, table.delimiter, table.format) == ("cp1252", ";", "csv")
    assert table.headers[:3] == ["Civilité", "Prénom", "Nom"]
    assert rows[0][:3] == ["Mme", "Hélène", "Lefèvre"]
    assert len(rows) == 4


def test_utf8_bom_comma(corpus):
    with corpus["utf8_bom_comma.csv"].open("rb") as f:
        table = open_table(f, "x.csv")
        rows = list(table.rows)
    assert (table.encoding, table.delimiter) == ("utf-8-sig", ",")
    assert table.headers[0] == "First name"  # no BOM left in the first header
    assert rows[0][4] == "vip, noël"
    assert rows[1][1] == "Jones, Jr"


def test_quoted_fields_with_newlines_and_row_numbers(corpus):
    with corpus["quoted_newlines.csv"].open("rb") as f:
        table = open_table(f, "x.csv")
        numbered = list(table.numbered_rows())
    assert [n for n, _ in numbered] == [2, 4, 6]
    assert numbered[0][1][3] == "Aime le rouge\r\net le vert"
    assert numbered[1][1][0] == "Marie\r\nClaire"
    assert numbered[1][1][3] == 'Note avec "guillemets" et ; point-virgule'
    assert table.row_number == 6


def test_blank_lines_and_bare_delimiters_are_skipped(corpus):
    with corpus["blank_lines.csv"].open("rb") as f:
        table = open_table(f, "x.csv")
        numbered = list(table.numbered_rows())
    assert numbered == [
        (3, ["Jean", "Valjean", "0612345684"]),
        (6, ["Cosette", "Fauchelevent", "0612345685"]),
    ]


def test_duplicate_rows_are_all_returned(corpus):
    with corpus["duplicates.csv"].open("rb") as f:
        rows = list(open_table(f, "x.csv").rows)
    assert rows[0] == rows[1] == ["Jean", "06 12 34 56 86"]
    assert len(rows) == 5


def test_utf16_unicode_text_export(corpus):
    with corpus["unicode_text.txt"].open("rb") as f:
        table = open_table(f, "export.txt")
        rows = list(table.rows)
    assert (table.encoding, table.delimiter, table.headers) == ("utf-16", "\t", ["Prénom", "Portable"])
    assert rows == [["Élodie", "0612345693"]]


def test_header_only_gives_zero_rows(corpus):
    with corpus["header_only.csv"].open("rb") as f:
        table = open_table(f, "x.csv")
        assert table.headers == ["Prénom", "Nom", "Portable"]
        assert list(table.rows) == []


@pytest.mark.parametrize("data", [b"", b"   \r\n\r\n", b"\xef\xbb\xbf", b"\xef\xbb\xbf\r\n  \n"])
def test_empty_file(data):
    assert file_error(data) == "empty_file"


def test_only_delimiters_is_empty():
    assert file_error(b";;;\r\n;;\r\n") == "empty_file"


def test_binary_file_renamed_csv(corpus):
    with corpus["binary.csv"].open("rb") as f, pytest.raises(ImportFileError) as caught:
        open_table(f, "binary.csv")
    assert caught.value.code == "binary_file"
    assert "CSV" in str(caught.value.message)


def test_binary_without_nul_bytes_is_still_binary():
    noise = bytes(random.Random(1).choice(range(1, 32)) for _ in range(5000))
    assert file_error(noise) == "binary_file"


def test_zip_that_is_not_a_workbook_renamed_csv():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("photo.txt", "hello")
    assert file_error(buffer.getvalue()) == "binary_file"
    assert file_error(buffer.getvalue(), "contacts.xlsx") == "unreadable_xlsx"


@pytest.mark.parametrize("name", ["contacts.xls", "contacts.ods", "contacts.pdf", "contacts.jpg"])
def test_unsupported_extensions(name):
    assert file_error(b"Prenom;Portable\r\nA;0612345678\r\n", name) == "unsupported_format"


def test_old_xls_or_encrypted_xlsx():
    ole2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600
    assert file_error(ole2, "contacts.csv") == "unsupported_format"
    assert file_error(ole2, "contacts.xlsx") == "unreadable_xlsx"


def test_text_named_xlsx_is_unreadable():
    assert file_error(b"Prenom;Portable\r\n", "contacts.xlsx") == "unreadable_xlsx"


def test_too_large_by_size_and_while_streaming():
    data = b"Portable\r\n" + b"0612345678\r\n" * 1000
    assert file_error(data, max_bytes=1000) == "too_large"

    class Unsized(io.RawIOBase):  # a stream whose size cannot be known up front
        def __init__(self):
            self.inner = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, b):
            chunk = self.inner.read(len(b))
            b[: len(chunk)] = chunk
            return len(chunk)

    with pytest.raises(ImportFileError) as caught:
        list(open_table(Unsized(), "x.csv", max_bytes=5000).rows)
    assert caught.value.code == "too_large"
    assert "0.00476837" in str(caught.value.message)


# --- detection details ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ("Prénom;Nom;Portable\nJean;Dupont, Jr;0612\n", ";"),
        ("a,b,c\n1,2,3\n", ","),
        ("a\tb\tc\n1\t2\t3\n", "\t"),
        ('Nom,Adresse\n"Dupont","1; rue de la Paix"\n"A","b;c;d"\n', ","),
        ("Portable\n6,12345678E+08\n0612345678\n", ";"),  # one column: the decimal comma must not split it
        ("a;b\n1;2,5\n3;4,5\n", ";"),
    ],
)
def test_detect_delimiter(text, delimiter):
    assert detect_delimiter(text) == delimiter


def test_detect_encoding():
    assert detect_encoding("Prénom".encode()) == "utf-8"
    assert detect_encoding("Prénom".encode("cp1252")) == "cp1252"
    assert detect_encoding(b"\xef\xbb\xbfPr\xc3\xa9nom") == "utf-8-sig"
    # A multi-byte character cut by the 64 KiB sample boundary is not a reason to fall back to cp1252.
    assert detect_encoding("é".encode()[:1], complete=False) == "utf-8"


def test_utf8_file_with_a_windows_1252_byte_past_the_sample():
    """Concatenated exports: pure ASCII for 64 KiB, then a cp1252 'é' must not crash the import."""
    head = b"Prenom;Portable\r\n" + b"Jean;0612345678\r\n" * 5000
    data = head + "Hélène;0612345679\r\n".encode("cp1252") + "Zoé;0612345680\r\n".encode()
    table = table_of(data)
    rows = list(table.rows)
    assert table.encoding == "utf-8"
    assert rows[-2] == ["Hélène", "0612345679"]
    assert rows[-1] == ["Zoé", "0612345680"]


def test_rows_padded_and_truncated_to_header_width():
    rows = list(table_of(b"a;b;c\r\n1\r\n1;2;3;4;5\r\n").rows)
    assert rows == [["1", "", ""], ["1", "2", "3"]]


def test_headers_cleaned_deduplicated_and_trailing_empty_dropped():
    table = table_of(b"  Nom ;Nom;;Ville;;;\r\nA;B;C;D\r\n")
    assert table.headers == ["Nom", "Nom (2)", "column_3", "Ville"]
    assert list(table.rows) == [["A", "B", "C", "D"]]


def test_headers_normalised_to_nfc():
    decomposed = "Pre\u0301nom;Portable\r\n".encode()
    assert table_of(decomposed).headers[0] == "Prénom"


def test_headerless_file_of_numbers():
    table = table_of(b"0612345678;Jean\r\n0612345679;Marie\r\n")
    assert not table.has_header
    assert table.headers == ["column_1", "column_2"]
    assert list(table.numbered_rows()) == [(1, ["0612345678", "Jean"]), (2, ["0612345679", "Marie"])]
    assert file_error(b"0612345678;Jean\r\n", allow_headerless=False) == "no_header"


def test_unclosed_quote_fails_the_whole_file_with_the_line():
    data = b'Nom;Portable\r\nA;0612345678\r\n"B;0612345679\r\n' + b"x" * 200_000
    table = table_of(data)
    with pytest.raises(ImportFileError) as caught:
        list(table.rows)
    assert caught.value.code == "malformed_csv"
    assert caught.value.params["line"] == 3


def test_too_many_columns():
    assert file_error((";".join(f"c{i}" for i in range(600)) + "\r\n").encode()) == "too_many_columns"


def test_reads_from_current_position_and_non_seekable_stream():
    class Pipe:  # only read(): what a socket or a decompressor offers
        def __init__(self, data):
            self.inner = io.BytesIO(data)

        def read(self, n=-1):
            return self.inner.read(min(n, 7) if n and n > 0 else n)  # short reads on purpose

    data = "Prénom;Portable\r\nZoé;0612345678\r\n".encode("cp1252")
    table = open_table(Pipe(data), "x.csv")
    assert (table.encoding, list(table.rows)) == ("cp1252", [["Zoé", "0612345678"]])


def test_django_uploaded_file_and_progress():
    data = b"Portable\r\n" + b"0612345678\r\n" * 50_000
    upload = SimpleUploadedFile("contacts.csv", data, content_type="text/csv")
    table = open_table(upload, upload.name)
    assert table.size_bytes == len(data)
    assert sum(1 for _ in table.rows) == 50_000
    assert table.progress() == 1.0


# --- XLSX ----------------------------------------------------------------------------------------------


def test_xlsx_cells_rendered_as_text(corpus):
    with corpus["contacts.xlsx"].open("rb") as f:
        table = open_table(f, "contacts.xlsx")
        numbered = list(table.numbered_rows())
    assert (table.format, table.headers[2]) == ("xlsx", "Portable")
    assert numbered[0] == (2, ["Ana", "Lopez", "612345694", "1980-03-04", "1000"])
    assert numbered[1][1][2] == "612345695"  # a float cell, without ".0"
    assert numbered[2][1] == ["Cléo", "Roux", "+33 6 12 34 56 96", "", ""]
    assert numbered[3][0] == 6  # the blank sheet row 5 is skipped but counted


def test_xlsx_renamed_csv_is_read_as_workbook(corpus):
    data = corpus["contacts.xlsx"].read_bytes()
    with table_of(data, "contacts.csv") as table:
        assert table.format == "xlsx"
        assert len(list(table.rows)) == 4


def test_truncated_xlsx_is_unreadable(corpus):
    data = corpus["contacts.xlsx"].read_bytes()
    assert file_error(data[: len(data) // 2], "contacts.xlsx") == "unreadable_xlsx"


def test_empty_workbook():
    buffer = io.BytesIO()
    openpyxl.Workbook().save(buffer)
    assert file_error(buffer.getvalue(), "vide.xlsx") == "empty_file"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (612345678, "612345678"),
        (612345678.0, "612345678"),
        (33612345678.0, "33612345678"),
        (2.5, "2.5"),
        (True, "TRUE"),
        (datetime(1990, 5, 17), "1990-05-17"),
        (datetime(1990, 5, 17, 10, 30), "1990-05-17 10:30:00"),
        (date(1990, 5, 17), "1990-05-17"),
        (time(8, 0), "08:00:00"),
        ("  texte ", "  texte "),
    ],
)
def test_cell_to_str(value, text):
    assert cell_to_str(value) == text


# --- memory --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_large_file_streams_in_bounded_memory(tmp_path):
    """200k rows (~12 MB): peak allocation stays far below the file size (a memory check, not timing)."""
    path = tmp_path / "big.csv"
    rng = random.Random(3)
    with path.open("w", encoding="cp1252", newline="") as f:
        f.write("Civilité;Prénom;Nom;Portable;Code postal;Ville;Notes\r\n")
        for i in range(200_000):
            f.write(f'Mme;Hélène{i};Lefèvre;06{rng.randrange(10**8):08d};75011;Paris;"note {i}\r\nsuite"\r\n')
    size = path.stat().st_size
    assert size > 10_000_000

    tracemalloc.start()
    try:
        with path.open("rb") as f:
            table = open_table(f, "big.csv")
            count = sum(1 for _ in table.rows)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 200_000
    assert peak < 4 * 1024 * 1024, f"peak {peak} bytes for a {size}-byte file"
