"""Streaming reader for contact files: CSV (any of the encodings and delimiters shops produce) and XLSX.

`open_table` looks at the first 64 KiB to decide the format, the encoding and the delimiter, then returns
a `Table` whose rows are read lazily: memory stays constant whatever the file size (a 100 MB export from a
till is normal). Rows are lists of raw strings; cleaning is `rows.clean_row`'s job, so the wizard preview
and the import job see exactly the same cells.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import IO, Any

from .errors import ImportFileError
from .guards import BoundedLines, ImportLimits, check_workbook_archive

SAMPLE_BYTES = 64 * 1024
READ_CHUNK = 256 * 1024
MAX_COLUMNS = 500
# Preference order when two delimiters explain the sample equally well: French exports use ';'.
DELIMITERS = (";", ",", "\t")
DEFAULT_DELIMITER = ";"
# More than 1% control characters in the sample: this is not a text file, whatever its name.
BINARY_CONTROL_RATIO = 0.01
CSV_EXTENSIONS = frozenset({".csv", ".txt", ".tsv", ".tab", ""})
XLSX_EXTENSIONS = frozenset({".xlsx", ".xlsm"})
UNSUPPORTED_EXTENSIONS = frozenset({".xls", ".ods", ".numbers", ".xlsb", ".pdf", ".doc", ".docx"})

_ZIP_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_CONTROL_CHARS = frozenset(chr(c) for c in range(32) if chr(c) not in "\t\n\r\f") | {"\x7f"}
_PHONE_LIKE_CHARS = frozenset("0123456789 .-+()/")


_CP1252_UNDEFINED = frozenset({0x81, 0x8D, 0x8F, 0x90, 0x9D})


def _decode_fallback(exc: UnicodeError) -> tuple[str, int]:
    """Decodes bytes the detected encoding rejects as Windows-1252 (Latin-1 for its 5 undefined bytes).

    Files are often concatenations of exports: a UTF-8 file whose first 64 KiB are pure ASCII can carry a
    Windows-1252 'é' at line 50,000. Failing the import there would be absurd; guessing is right.
    """
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    bad = exc.object[exc.start : exc.end]
    text = "".join(chr(b) if b in _CP1252_UNDEFINED else bytes([b]).decode("cp1252") for b in bad)
    return text, exc.end


_ERRORS = "smsplatform-import-cp1252"
codecs.register_error(_ERRORS, _decode_fallback)


@dataclass(eq=False)
class Table:
    """A file opened for import: its headers and a single-pass stream of rows.

    `rows` and `numbered_rows()` consume the same underlying stream: iterate one of them, once. Every
    row has exactly `len(headers)` cells. `row_number` is the 1-based line (CSV) or sheet row (XLSX)
    where the last row yielded starts, for error reports ("line 1,204: invalid phone number").
    Iteration may raise `ImportFileError` (a quote left open half-way through the file): an import job
    must then fail as a whole rather than report a partial file as done.
    """

    headers: list[str]
    encoding: str
    delimiter: str
    format: str
    has_header: bool = True
    row_number: int = 0
    size_bytes: int | None = None
    _source: Iterator[tuple[int, list[str]]] = field(default_factory=lambda: iter(()), repr=False)
    _counter: _ByteCounter | None = field(default=None, repr=False)
    _close: Callable[[], None] | None = field(default=None, repr=False)
    rows: Iterator[list[str]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.rows = (cells for _, cells in self.numbered_rows())

    def numbered_rows(self) -> Iterator[tuple[int, list[str]]]:
        """Yields (row_number, cells); shares the stream with `rows`."""
        for number, cells in self._source:
            self.row_number = number
            yield number, cells

    @property
    def bytes_read(self) -> int | None:
        """Bytes consumed so far (CSV only), for a progress bar; runs ahead of the rows by one buffer."""
        return self._counter.count if self._counter is not None else None

    def close(self) -> None:
        """Releases what the reader holds (openpyxl keeps the workbook's zip open); the file stays open."""
        if self._close is not None:
            self._close()
            self._close = None

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def progress(self) -> float | None:
        """Fraction of the file read, between 0 and 1, when it can be known cheaply."""
        if self._counter is None or not self.size_bytes:
            return None
        return min(1.0, self._counter.count / self.size_bytes)


def open_table(
    fileobj: IO[bytes],
    filename: str,
    *,
    max_bytes: int | None = None,
    allow_headerless: bool = True,
    limits: ImportLimits | None = None,
) -> Table:
    """Opens an uploaded CSV or XLSX file for streaming, or raises `ImportFileError` with a clear code.

    `fileobj` is a binary file-like object (a Django UploadedFile, an open file, BytesIO), read from its
    current position. `max_bytes` enforces the upload limit even when the caller could not check it.
    When the first line already looks like data (a phone number in a cell) the file is taken as having no
    header: columns are named `column_1`... and the first line is a row, unless `allow_headerless` is
    False, which raises `no_header`. `limits` (by default from the settings) bound what a hostile file can
    make us hold in memory: a workbook's expanded size, a CSV record's length (see `guards`).
    """
    limits = limits or ImportLimits.from_settings()
    size = _file_size(fileobj)
    if max_bytes is not None and size is not None and size > max_bytes:
        raise ImportFileError("too_large", limit_mb=_as_mb(max_bytes))
    prefix = _read_exactly(fileobj, SAMPLE_BYTES)
    if not prefix.strip(b" \t\r\n" + codecs.BOM_UTF8):
        raise ImportFileError("empty_file")

    extension = os.path.splitext(filename or "")[1].lower()
    if extension in UNSUPPORTED_EXTENSIONS:
        raise ImportFileError("unsupported_format")
    if prefix.startswith(_OLE2_MAGIC):
        # An old .xls, or an .xlsx encrypted by a password (Office stores those in an OLE2 container).
        raise ImportFileError("unreadable_xlsx" if extension in XLSX_EXTENSIONS else "unsupported_format")
    if prefix.startswith(_ZIP_MAGIC):
        # A workbook renamed .csv is still a workbook; any other zip is not a contact file.
        error = "unreadable_xlsx" if extension in XLSX_EXTENSIONS else "binary_file"
        return _open_xlsx(_rewound(fileobj, prefix), size, error=error, limits=limits)
    if extension in XLSX_EXTENSIONS:
        raise ImportFileError("unreadable_xlsx")
    if extension not in CSV_EXTENSIONS:
        raise ImportFileError("unsupported_format")
    return _open_csv(
        fileobj, prefix, size, max_bytes=max_bytes, allow_headerless=allow_headerless, limits=limits
    )


# --- CSV ------------------------------------------------------------------------------------------------


class _ByteCounter(io.RawIOBase):
    """Raw stream over an already-read prefix then the rest of the file; counts bytes for progress.

    Works for non-seekable uploads (the prefix is replayed rather than re-read) and for Django's File
    proxies, which TextIOWrapper does not accept directly.
    """

    def __init__(self, fileobj: IO[bytes], prefix: bytes, max_bytes: int | None) -> None:
        super().__init__()
        self._file = fileobj
        self._prefix = memoryview(prefix)
        self._max_bytes = max_bytes
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._prefix:
            n = min(len(view), len(self._prefix))
            view[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
        else:
            data = self._file.read(len(view))
            n = len(data)
            view[:n] = data
        self.count += n
        if self._max_bytes is not None and self.count > self._max_bytes:
            raise ImportFileError("too_large", limit_mb=_as_mb(self._max_bytes))
        return n


def detect_encoding(sample: bytes, *, complete: bool = False) -> str:
    """Returns the codec for a CSV sample: utf-8-sig, utf-16, utf-8 or cp1252; raises binary_file.

    UTF-8 is tried strictly first because Windows-1252 text almost never decodes as UTF-8 by accident,
    while the reverse always "works". `complete` says the sample is the whole file (so a multi-byte
    character cut at the end of the sample is an error, not a truncation).
    """
    if sample.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # Excel's "Unicode text" export: UTF-16 with a BOM, tab-separated.
        encoding = "utf-16"
    elif b"\x00" in sample:
        raise ImportFileError("binary_file")
    else:
        try:
            codecs.getincrementaldecoder("utf-8")().decode(sample, final=complete)
            encoding = "utf-8"
        except UnicodeDecodeError:
            encoding = "cp1252"
    text = _decode_sample(sample, encoding, complete)
    if text and sum(1 for ch in text if ch in _CONTROL_CHARS) > BINARY_CONTROL_RATIO * len(text):
        raise ImportFileError("binary_file")
    return encoding


def detect_delimiter(text: str) -> str:
    """Returns ';', ',' or tab: the delimiter that splits the header into most columns consistently.

    Each candidate parses the sample with the csv module (so quoted delimiters and quoted newlines do not
    count); the winner is the one for which most records have as many fields as the header. Ties go to
    ';' (the French Excel default), then ','.
    """
    best: tuple[int, int, int, int] | None = None
    chosen = DEFAULT_DELIMITER
    for priority, delimiter in enumerate(DELIMITERS):
        counts = []
        try:
            for record in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
                # A line of bare delimiters is blank content but still votes for its delimiter.
                if len(record) > 1 or any(cell.strip() for cell in record):
                    counts.append(len(record))
                if len(counts) >= 50:
                    break
        except csv.Error:
            continue
        if not counts:
            continue
        header_fields = counts[0]
        consistent = sum(1 for c in counts if c == header_fields)
        # A delimiter absent from the header explains nothing: it only wins single-column files.
        score = (1 if header_fields > 1 else 0, consistent, header_fields, -priority)
        if best is None or score > best:
            best, chosen = score, delimiter
    return chosen


def _open_csv(
    fileobj: IO[bytes],
    prefix: bytes,
    size: int | None,
    *,
    max_bytes: int | None,
    allow_headerless: bool,
    limits: ImportLimits,
) -> Table:
    complete = len(prefix) < SAMPLE_BYTES
    encoding = detect_encoding(prefix, complete=complete)
    sample_text = _decode_sample(prefix, encoding, complete)
    if not complete:
        # The last line of the sample is probably cut: do not let it vote.
        sample_text = sample_text[: sample_text.rfind("\n") + 1] or sample_text
    delimiter = detect_delimiter(sample_text.lstrip("\ufeff"))

    counter = _ByteCounter(fileobj, prefix, max_bytes)
    text = io.TextIOWrapper(
        io.BufferedReader(counter, READ_CHUNK), encoding=encoding, errors=_ERRORS, newline=""
    )
    lines = BoundedLines(text, limits.csv_max_record_chars)
    reader = csv.reader(lines, delimiter=delimiter)
    records = _csv_records(reader, lines)
    first = next(records, None)
    if first is None:
        raise ImportFileError("empty_file")
    headers, has_header, first_row = _headers_from(first[1], allow_headerless)
    source = _padded(
        records, len(headers), first_row=(first[0], first_row) if first_row is not None else None
    )
    return Table(
        headers=headers,
        encoding=encoding,
        delimiter=delimiter,
        format="csv",
        has_header=has_header,
        row_number=first[0] if has_header else 0,
        size_bytes=size,
        _source=source,
        _counter=counter,
    )


def _csv_records(reader: Any, lines: BoundedLines) -> Iterator[tuple[int, list[str]]]:
    """Yields (starting line, cells) for each non-blank record; turns csv errors into ImportFileError."""
    previous_line = 0
    record_done = lines.record_done
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ImportFileError("malformed_csv", line=previous_line + 1, detail=str(exc))
        record_done()
        start = previous_line + 1
        previous_line = reader.line_num
        # Blank lines and lines of bare delimiters (Excel pads exports with ";;;;") carry nothing.
        if "".join(record).strip():  # one C call: the same as any(cell.strip() for cell in record)
            yield start, record


# --- XLSX -----------------------------------------------------------------------------------------------


def _open_xlsx(fileobj: IO[bytes], size: int | None, *, error: str, limits: ImportLimits) -> Table:
    import openpyxl  # deferred: costs ~100 ms at import and CSV files never need it

    # Before openpyxl, which loads some parts whole: a 200 KB file can declare 400 MB of shared strings.
    check_workbook_archive(fileobj, limits, error=error)
    try:
        workbook = openpyxl.load_workbook(fileobj, read_only=True, data_only=True)
        sheet = next(ws for ws in workbook.worksheets if hasattr(ws, "iter_rows"))
        # Some exporters write a wrong <dimension> (often "A1"); ignore it and read what is there.
        sheet.reset_dimensions()
        values = sheet.iter_rows(values_only=True)
    except MemoryError:
        raise  # not a damaged file: the parsing child reports it as such
    except Exception as exc:  # openpyxl raises anything from KeyError to TypeError on a damaged file
        raise ImportFileError(error) from exc

    records = _xlsx_records(values, error)
    first = next(records, None)
    if first is None:
        workbook.close()
        raise ImportFileError("empty_file")
    headers, has_header, first_row = _headers_from(first[1], allow_headerless=True)
    source = _padded(
        records, len(headers), first_row=(first[0], first_row) if first_row is not None else None
    )
    return Table(
        headers=headers,
        encoding="",
        delimiter="",
        format="xlsx",
        has_header=has_header,
        row_number=first[0] if has_header else 0,
        size_bytes=size,
        _source=source,
        _close=workbook.close,
    )


def _xlsx_records(values: Iterator[tuple[Any, ...]], error: str) -> Iterator[tuple[int, list[str]]]:
    number = 0
    while True:
        try:
            row = next(values)
        except StopIteration:
            return
        except MemoryError:
            raise
        except Exception as exc:  # a truncated or corrupt sheet XML half-way through
            raise ImportFileError(error) from exc
        number += 1  # openpyxl yields empty tuples for missing rows, so counting matches sheet rows
        cells = [cell_to_str(v) for v in row]
        if any(c.strip() for c in cells):
            yield number, cells


def cell_to_str(value: Any) -> str:
    """Renders a spreadsheet value the way the shop owner sees it: 612345678 not 612345678.0, ISO dates."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(value)
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value)


# --- shared ---------------------------------------------------------------------------------------------


def _headers_from(cells: list[str], allow_headerless: bool) -> tuple[list[str], bool, list[str] | None]:
    """Returns (headers, has_header, first data row or None) from the first non-blank record."""
    if len(cells) > MAX_COLUMNS:
        raise ImportFileError("too_many_columns", limit=MAX_COLUMNS)
    if any(_looks_like_phone(cell) for cell in cells):
        if not allow_headerless:
            raise ImportFileError("no_header")
        width = len(cells)
        while width > 1 and not cells[width - 1].strip():
            width -= 1
        return [f"column_{i + 1}" for i in range(width)], False, cells
    names = [unicodedata.normalize("NFC", c.replace("\ufeff", "").strip()) for c in cells]
    # Excel exports often end every line with empty columns: they are not columns of the file.
    while len(names) > 1 and not names[-1]:
        names.pop()
    headers: list[str] = []
    seen: set[str] = set()
    for index, name in enumerate(names):
        name = name or f"column_{index + 1}"
        candidate, n = name, 1
        while candidate.casefold() in seen:
            n += 1
            candidate = f"{name} ({n})"
        seen.add(candidate.casefold())
        headers.append(candidate)
    return headers, True, None


def _looks_like_phone(cell: str) -> bool:
    stripped = cell.strip()
    digits = sum(ch.isdigit() for ch in stripped)
    return digits >= 8 and all(ch in _PHONE_LIKE_CHARS for ch in stripped)


def _padded(
    records: Iterator[tuple[int, list[str]]], width: int, *, first_row: tuple[int, list[str]] | None
) -> Iterator[tuple[int, list[str]]]:
    if first_row is not None:
        records = _prepend(first_row, records)
    for number, cells in records:
        n = len(cells)
        if n < width:
            cells.extend([""] * (width - n))
        elif n > width:
            del cells[width:]
        yield number, cells


def _prepend(
    item: tuple[int, list[str]], rest: Iterator[tuple[int, list[str]]]
) -> Iterator[tuple[int, list[str]]]:
    yield item
    yield from rest


def _decode_sample(sample: bytes, encoding: str, complete: bool) -> str:
    decoder = codecs.getincrementaldecoder(encoding)(errors=_ERRORS)
    return decoder.decode(sample, final=complete)


def _read_exactly(fileobj: IO[bytes], n: int) -> bytes:
    """Reads up to n bytes; loops because uploads and sockets may return short reads."""
    chunks, remaining = [], n
    while remaining > 0:
        data = fileobj.read(remaining)
        if not data:
            break
        chunks.append(data)
        remaining -= len(data)
    return b"".join(chunks)


def _rewound(fileobj: IO[bytes], prefix: bytes) -> IO[bytes]:
    """Gives openpyxl (which seeks around the zip directory) a seekable file positioned at the start."""
    try:
        fileobj.seek(-len(prefix), io.SEEK_CUR)
        return fileobj
    except (AttributeError, OSError, ValueError):
        # Not seekable: a workbook is only readable from its end anyway, so it has to be spooled.
        import tempfile

        spooled = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
        spooled.write(prefix)
        while chunk := fileobj.read(READ_CHUNK):
            spooled.write(chunk)
        spooled.seek(0)
        return spooled  # type: ignore[return-value]


def _file_size(fileobj: IO[bytes]) -> int | None:
    size = getattr(fileobj, "size", None)  # Django's UploadedFile knows it without seeking
    if isinstance(size, int):
        return size
    try:
        position = fileobj.tell()
        end = fileobj.seek(0, io.SEEK_END)
        fileobj.seek(position)
        return end - position
    except (AttributeError, OSError, ValueError):
        return None


def _as_mb(n: int) -> str:
    return f"{n / (1024 * 1024):g}"
