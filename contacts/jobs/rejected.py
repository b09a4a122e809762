"""The rejected-rows file of an import: how a job writes its lines, and how a download reads them back.

Each line is the row as it was in the file, plus two columns: the reason (a code) and the type of
rejection, one of three:

* ``invalid``: the number cannot be used (missing, a landline, damaged): the row is to fix;
* ``duplicate``: the number is already earlier in the file: nothing to do, the first row was imported;
* ``opted_out``: the number asked not to receive SMS: it must not be imported again.

The job stores codes, not sentences, because it runs in the site's language while the file is
downloaded by a person in theirs: :func:`rejected_rows_stream` writes the header and the two columns in
the language of the download. The wizard offers the rows to fix and the other rejections as two
downloads (a shop owner fixes the first file and imports it again; the second is for information).

The original cells go through :func:`~contacts.importing.csvsafe.spreadsheet_cell`: a phone number
opens in Excel as the text it was, a formula never runs.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from ..importing.csvsafe import BOM, DELIMITER, LINE_TERMINATOR, spreadsheet_cell
from ..importing.rows import ROW_ERROR_MESSAGES

INVALID, DUPLICATE, OPTED_OUT = "invalid", "duplicate", "opted_out"
KINDS = (INVALID, DUPLICATE, OPTED_OUT)
# The stored file's last two header cells; a file written before the type column ends with "error".
_MARKS = ["#reason", "#type"]


def rejected_line(cells: Iterable[Any], kind: str, reason: str) -> bytes:
    """One line of the stored file: the row's cells, its reason code and its kind."""
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=DELIMITER, lineterminator=LINE_TERMINATOR).writerow(
        [*map(spreadsheet_cell, cells), reason, kind]
    )
    return buffer.getvalue().encode("utf-8")


def rejected_header(headers: list[str]) -> bytes:
    """The first bytes of the stored file: a BOM and the header line."""
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=DELIMITER, lineterminator=LINE_TERMINATOR).writerow(
        [*map(spreadsheet_cell, headers), *_MARKS]
    )
    return (BOM + buffer.getvalue()).encode("utf-8")


def kind_label(kind: str) -> str:
    labels = {
        INVALID: pgettext("rejected row type", "invalid"),
        DUPLICATE: pgettext("rejected row type", "duplicate"),
        OPTED_OUT: pgettext("rejected row type", "opted out"),
    }
    return labels.get(kind, kind)


def reason_label(kind: str, reason: str) -> str:
    if kind == DUPLICATE:
        return _("Duplicate: this number is already earlier in the file")
    if kind == OPTED_OUT:
        return _("Opted out: this number asked not to receive SMS")
    return str(ROW_ERROR_MESSAGES.get(reason, reason))


def rejected_rows_stream(
    path: Path, *, kinds: Iterable[str] | None = None, machine: bool = False
) -> Iterator[bytes]:
    """The stored file as downloaded, in the active language: its header (``Motif``, ``Type`` in
    French; ``error`` and ``type`` for ``machine``, the API's stable names), the reason as a sentence,
    the type as a word; only the rows of ``kinds`` when given. A file of an older job is given as is."""
    # The response is streamed after the view returned: the language is the request's, fixed now.
    return _stream(path, set(kinds) if kinds else None, machine, translation.get_language())


def _stream(path: Path, wanted: set[str] | None, machine: bool, language: str | None) -> Iterator[bytes]:
    with translation.override(language), open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, delimiter=DELIMITER)
        header = next(reader, None)
        if header is None or header[-2:] != _MARKS:
            yield from _raw(path)
            return
        buffer = io.StringIO()
        write = csv.writer(buffer, delimiter=DELIMITER, lineterminator=LINE_TERMINATOR).writerow
        if machine:
            names = ["error", "type"]
        else:
            names = [
                pgettext("rejected rows column", "Reason"),
                pgettext("rejected rows column", "Type"),
            ]
        buffer.write(BOM)
        write([*header[:-2], *names])
        for count, row in enumerate(reader, 1):
            *cells, reason, kind = row
            if wanted is not None and kind not in wanted:
                continue
            write([*cells, reason_label(kind, reason), kind if machine else kind_label(kind)])
            if count % 1000 == 0:
                yield buffer.getvalue().encode("utf-8")
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue().encode("utf-8")


def _raw(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 16):
            yield chunk
