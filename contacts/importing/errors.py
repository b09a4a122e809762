"""Errors that make a whole import file unusable (as opposed to a single bad row, see rows.RowError).

The wizard shows `message` to the shop owner and stores `code` on the import job, so the code is stable
and the message is translatable. Messages stay lazy until rendered: this module is imported by Celery
workers and tests before any language is activated.
"""

from __future__ import annotations

from typing import Any

from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

FILE_ERROR_MESSAGES: dict[str, Any] = {
    "empty_file": _("The file is empty."),
    "binary_file": _(
        "This file does not look like a text CSV file. Export your contacts as CSV (semicolon or comma "
        "separated) or as an Excel .xlsx file."
    ),
    "no_header": _(
        "The first line of the file must contain the column names (for example Prénom;Nom;Portable)."
    ),
    "no_phone_column": _(
        "No column contains phone numbers. Choose the column that holds the mobile numbers."
    ),
    "too_large": _("The file is larger than the %(limit_mb)s MB limit. Split it into smaller files."),
    "unreadable_xlsx": _(
        "This Excel file cannot be read. It may be damaged or password-protected: open it in Excel and save "
        "it again as .xlsx or .csv."
    ),
    "unsupported_format": _(
        "This file format is not supported. Save the file as CSV (.csv) or Excel workbook (.xlsx)."
    ),
    "malformed_csv": _(
        "The file cannot be read past line %(line)s (%(detail)s). A quote may be left open: check that line "
        "in a spreadsheet or text editor."
    ),
    "too_many_columns": _("The file has more than %(limit)s columns. Keep only the contact columns."),
    "xlsx_expands_too_much": _(
        "This Excel file expands to %(expanded_mb)s MB once opened (%(ratio)s times its compressed size): "
        "far more than a contact list. Export it again as CSV (.csv) and upload that file."
    ),
    "line_too_long": _(
        "Line %(line)s of the file is longer than %(limit_kb)s KB: this is not a list of contacts, or the "
        "file is damaged. Check that line in a text editor, or export the file again as CSV."
    ),
    "needs_too_much_memory": _(
        "This file needs more than %(limit_mb)s MB of memory to be read, far more than a contact list. "
        "Export it again as CSV (.csv), or split it into smaller files."
    ),
}


def _interpolate(template: Any, params: dict[str, Any]) -> str:
    # str() forces the translation in the language active when the message is rendered, not when raised.
    return str(template) % params if params else str(template)


_lazy_interpolate = lazy(_interpolate, str)


class ImportFileError(Exception):
    """A problem with the file as a whole: nothing from it may be imported.

    Raised by `open_table` before the first row, or while streaming rows (a malformed quote half-way
    through a file): an import job must then fail as a whole rather than report a partial file as done.
    """

    def __init__(self, code: str, **params: Any) -> None:
        if code not in FILE_ERROR_MESSAGES:
            raise ValueError(f"unknown import file error code {code!r}")
        self.code = code
        self.params = params
        # Lazy so that `%` interpolation happens at render time, in the active language.
        self.message = _lazy_interpolate(FILE_ERROR_MESSAGES[code], params)
        super().__init__(code)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def __repr__(self) -> str:
        return f"ImportFileError({self.code!r}, **{self.params!r})"
