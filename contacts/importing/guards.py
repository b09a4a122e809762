"""Bounds that keep a hostile upload from exhausting memory: checked before a file is parsed, or while it
is streamed, so that no byte of a bomb is ever expanded into Python objects.

* An XLSX file is a zip: a few hundred KB can declare parts of hundreds of MB (a "zip bomb"). openpyxl
  loads the shared strings, the styles and the workbook parts whole, so the archive's directory is
  checked first: total and per-part uncompressed size, and the compression ratio of every large part.
  Python's zipfile never inflates a part beyond the size its directory declares, so the check holds.
* A CSV record is split into one Python string per cell: a 20 MB line of tiny cells costs hundreds of MB.
  Lines are read with a bounded `readline`, and a record (which quoted newlines spread over several
  lines) longer than the bound is refused, with its line number, before the csv module splits it.

Limits come from the settings (`IMPORT_XLSX_*`, `IMPORT_CSV_MAX_RECORD_CHARS`); this package stays
importable and usable without configured settings, with the defaults below.
"""

from __future__ import annotations

import io
import struct
import zipfile
from dataclasses import dataclass
from typing import IO

from .errors import ImportFileError

MiB = 1024 * 1024
# Parts smaller than this are never a memory problem, whatever their ratio (a theme compresses 7x).
RATIO_FLOOR_BYTES = MiB
# A workbook has a few dozen parts; a directory of millions of entries is itself a bomb for zipfile.
MAX_XLSX_PARTS = 10_000
_EOCD = struct.Struct("<4s4H2LH")
_EOCD_SIGNATURE = b"PK\x05\x06"


@dataclass(frozen=True)
class ImportLimits:
    # A 1M-row sheet is about 400 MB of XML; a real workbook compresses 5 to 20 times, bombs 1,000 times.
    xlsx_max_expanded_bytes: int = 1024 * MiB
    xlsx_max_part_bytes: int = 512 * MiB
    xlsx_max_ratio: int = 100
    # 500 columns of 100 characters: far beyond any contact, far below what hurts.
    csv_max_record_chars: int = 64 * 1024

    @classmethod
    def from_settings(cls) -> ImportLimits:
        from django.conf import settings
        from django.core.exceptions import ImproperlyConfigured

        default = cls()
        try:
            return cls(
                xlsx_max_expanded_bytes=settings.IMPORT_XLSX_MAX_EXPANDED_BYTES,
                xlsx_max_part_bytes=settings.IMPORT_XLSX_MAX_PART_BYTES,
                xlsx_max_ratio=settings.IMPORT_XLSX_MAX_RATIO,
                csv_max_record_chars=settings.IMPORT_CSV_MAX_RECORD_CHARS,
            )
        except (ImproperlyConfigured, AttributeError):
            # The engine also runs outside the project (bench/import_parsing.py configures only what it
            # needs): the documented defaults then apply.
            return default


def check_workbook_archive(fileobj: IO[bytes], limits: ImportLimits, *, error: str) -> None:
    """Refuses a workbook whose parts would expand too much, from the zip directory alone (no inflating).

    `fileobj` is seekable and positioned at the start of the archive; it is left there. Raises
    `ImportFileError(error)` for an archive zipfile cannot read, `xlsx_expands_too_much` for a bomb.
    """
    start = fileobj.tell()
    try:
        _check_directory_size(fileobj, start, error)
        fileobj.seek(start)
        with zipfile.ZipFile(fileobj) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, struct.error) as exc:
        raise ImportFileError(error) from exc
    finally:
        fileobj.seek(start)
    total = 0
    for part in parts:
        expanded = part.file_size
        total += expanded
        ratio = expanded / max(part.compress_size, 1)
        too_big = expanded > limits.xlsx_max_part_bytes
        too_dense = expanded > RATIO_FLOOR_BYTES and ratio > limits.xlsx_max_ratio
        if too_big or too_dense:
            raise ImportFileError("xlsx_expands_too_much", expanded_mb=_mb(expanded), ratio=f"{ratio:.0f}")
    if total > limits.xlsx_max_expanded_bytes:
        compressed = max(sum(part.compress_size for part in parts), 1)
        raise ImportFileError(
            "xlsx_expands_too_much", expanded_mb=_mb(total), ratio=f"{total / compressed:.0f}"
        )


def _check_directory_size(fileobj: IO[bytes], start: int, error: str) -> None:
    """Reads the entry count from the end-of-directory record before zipfile builds one object per entry."""
    end = fileobj.seek(0, io.SEEK_END)
    tail_start = max(start, end - (_EOCD.size + 65535))  # the record ends with a comment of up to 64 KiB
    fileobj.seek(tail_start)
    tail = fileobj.read(end - tail_start)
    at = tail.rfind(_EOCD_SIGNATURE)
    if at < 0 or len(tail) - at < _EOCD.size:
        raise ImportFileError(error)
    entries = _EOCD.unpack_from(tail, at)[4]
    if entries > MAX_XLSX_PARTS:
        raise ImportFileError(error)


class BoundedLines:
    """The lines of a text stream for `csv.reader`, none read beyond the record bound.

    `readline` is always given a size, so a 20 MB line is never materialised; the consumer calls
    `record_done()` after each record, so that a record spread over many short lines (quoted newlines)
    is bounded as a whole: that one is refused as `malformed_csv` (a quote left open, most likely), a
    single line as `line_too_long`. `line` is the number of the last line read, `record_start` the first
    line of the record being read.
    """

    __slots__ = ("_readline", "_limit", "_chars", "line", "record_start")

    def __init__(self, text: IO[str], limit: int) -> None:
        self._readline = text.readline
        self._limit = limit
        self._chars = 0
        self.line = 0
        self.record_start = 1

    def __iter__(self) -> BoundedLines:
        return self

    def __next__(self) -> str:
        # Two more characters than the bound: room for a CRLF after a line of exactly the bound.
        line = self._readline(self._limit + 2)
        if not line:
            raise StopIteration
        self.line += 1
        chars = self._chars + len(line)
        if chars > self._limit and chars - _terminator_length(line) > self._limit:
            limit_kb = f"{self._limit / 1024:g}"
            if self.line > self.record_start:
                # csv asks for another line mid-record only inside quotes: a quote left open, most likely.
                raise ImportFileError(
                    "malformed_csv", line=self.record_start, detail=f"a quoted cell runs over {limit_kb} KB"
                )
            raise ImportFileError("line_too_long", line=self.record_start, limit_kb=limit_kb)
        self._chars = chars
        return line

    def record_done(self) -> None:
        self._chars = 0
        self.record_start = self.line + 1


def _terminator_length(line: str) -> int:
    if line.endswith("\r\n"):
        return 2
    return 1 if line.endswith(("\n", "\r")) else 0


def _mb(n: int) -> str:
    return f"{n / MiB:.0f}"
