"""CSV for Excel, safe against formula injection (CSV injection, OWASP).

A contact's name comes from the public (opt-in form, imports): `=HYPERLINK(...)` or `@SUM(...)` typed as
a first name would run when the shop owner opens an export in Excel. Every cell that starts with a
character a spreadsheet treats as a formula gets a leading apostrophe, which Excel displays as text
(our importer strips it again: phones._unwrap, rows.clean_text).

A phone number is not a formula, though: ``+33612345678`` with an apostrophe shows the apostrophe when
Excel opens the CSV, and without one Excel turns it into the number 33612345678 (``0612345678`` loses
its zero, a 16-digit card number its last digit). :func:`spreadsheet_cell` writes such a cell as
``="0612345678"``, the formula Excel (and LibreOffice, Google Sheets) evaluates to that exact text: no
apostrophe, no number. Only ``+``, digits and spaces go inside the quotes, so it can compute nothing
else; everything else goes through :func:`safe_cell`. Every CSV we write for Excel (contacts, reports,
rejected rows) goes through it. Our importer reads ``="..."`` back (phones._unwrap, rows.clean_text).

French Excel opens a CSV correctly only when it is UTF-8 with a BOM (otherwise accents break) and `;`
separated (`,` is the decimal mark), with CRLF line ends.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, Any

DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"
DELIMITER = ";"
LINE_TERMINATOR = "\r\n"
# What Excel would read as a number and damage: a leading 0 or +, more than 11 digits (shown as 3,36E+10,
# rounded past 15), digits grouped by spaces (French Excel's thousands separator).
_NUMBER_LIKE = re.compile(r"\+?[0-9][0-9 ]*")


def safe_cell(value: Any) -> str:
    """Renders a value for a CSV cell, prefixing `'` when a spreadsheet could read it as a formula."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if text.startswith(DANGEROUS_PREFIXES):
        return "'" + text
    return text


def spreadsheet_cell(value: Any) -> str:
    """Like :func:`safe_cell`, but a number Excel would damage (a phone, a postal code, a card number)
    becomes ``="<digits>"``, which Excel shows as that text, without an apostrophe."""
    text = "" if value is None else value if isinstance(value, str) else str(value)
    digits = sum(c.isdigit() for c in text)
    # A count or a flag ("0", "12") is left alone: Excel would not damage it.
    if (
        digits >= 4
        and _NUMBER_LIKE.fullmatch(text)
        and (text[0] in "0+" or " " in text.strip() or digits > 11)
    ):
        return f'="{text.strip()}"'
    return safe_cell(text)


class ExcelCsvWriter:
    """Writes rows as CSV for Excel (UTF-8 with BOM, ";", CRLF), every cell through `spreadsheet_cell`.

    `fileobj` may be a text file (str is written) or anything with a binary `write` (bytes are written):
    a file opened 'wb', BytesIO, or Django's HttpResponse. The BOM is written before the first row.
    """

    def __init__(self, fileobj: IO[Any]) -> None:
        self._file = fileobj
        self._text = isinstance(fileobj, io.TextIOBase)
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, delimiter=DELIMITER, lineterminator=LINE_TERMINATOR)
        self._started = False
        self.rows_written = 0

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([spreadsheet_cell(v) for v in row])
        self.rows_written += 1
        self._flush()

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        # Rows are buffered by the thousand: one write per row is slow on an HttpResponse.
        for i, row in enumerate(rows, 1):
            self._writer.writerow([spreadsheet_cell(v) for v in row])
            self.rows_written += 1
            if i % 1000 == 0:
                self._flush()
        self._flush()

    def _flush(self) -> None:
        data = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        if not self._started:
            data = BOM + data
            self._started = True
        if data:
            self._file.write(data if self._text else data.encode("utf-8"))


def iter_excel_csv(rows: Iterable[Iterable[Any]], *, chunk_rows: int = 1000) -> Iterator[bytes]:
    """The same CSV as a stream of byte chunks, for a StreamingHttpResponse of a million contacts."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=DELIMITER, lineterminator=LINE_TERMINATOR)
    buffer.write(BOM)
    for i, row in enumerate(rows, 1):
        writer.writerow([spreadsheet_cell(v) for v in row])
        if i % chunk_rows == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    if data := buffer.getvalue():
        yield data.encode("utf-8")


def write_rejected_rows(
    headers: Sequence[str], rows_with_errors: Iterable[tuple[Sequence[Any], Any]], fileobj: IO[Any]
) -> int:
    """Writes the rejected rows as they were in the file plus an `error` column; returns the row count.

    The owner fixes them in Excel and re-imports the same file: hence the original columns, in order.
    The error is anything str() turns into the sentence to show (a lazy translation works).
    """
    writer = ExcelCsvWriter(fileobj)
    writer.writerow([*headers, "error"])
    writer.writerows([*row, str(error)] for row, error in rows_with_errors)
    return writer.rows_written - 1
