"""Files of the import: the stored upload (kept under ``MEDIA_ROOT/imports/<org>/``), its inspection and
preview by the wizard, and the rejected-rows file a job writes next to it."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from compliance.selectors import suppressed_numbers
from smsplatform.models import Organisation

from ..importing.isolation import run_isolated
from ..importing.reader import open_table
from ..models import ImportJob
from .plan import ColumnPlan, RowOutcome, _clean, guess_mapping, mapping_clean
from .rejected import rejected_header


def max_upload_bytes() -> int:
    return settings.IMPORT_MAX_UPLOAD_BYTES


def parse_memory_bytes() -> int:
    """What parsing an upload may add to a process's memory; the child doing it dies beyond (0: no child)."""
    return settings.IMPORT_PARSE_MEMORY_BYTES


def import_root() -> Path:
    return Path(settings.IMPORT_FILES_ROOT or Path(settings.MEDIA_ROOT) / "imports")


def _abs(path: str) -> Path:
    full = (import_root() / path).resolve()
    if import_root().resolve() not in full.parents:
        raise ValueError("import path outside the import directory")
    return full


# --- file storage and inspection --------------------------------------------------------------------


def import_file_store(*, org: Organisation, fileobj: IO[bytes], filename: str) -> tuple[str, int]:
    """Copies an upload to the import directory (streamed) and returns (relative path, size). Refuses
    a file above ``IMPORT_MAX_UPLOAD_BYTES`` with a clear message."""
    limit = max_upload_bytes()
    size = getattr(fileobj, "size", None)
    if size is not None and size > limit:
        raise ValidationError({"file": [_too_large_message(limit)]})
    ext = os.path.splitext(filename or "")[1].lower()[:8]
    relative = f"{org.pk}/{uuid.uuid4().hex}{ext}"
    target = _abs(relative)
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    chunks = fileobj.chunks() if hasattr(fileobj, "chunks") else iter(lambda: fileobj.read(1 << 20), b"")
    with open(target, "wb") as out:
        for chunk in chunks:
            written += len(chunk)
            if written > limit:
                out.close()
                target.unlink(missing_ok=True)
                raise ValidationError({"file": [_too_large_message(limit)]})
            out.write(chunk)
    return relative, written


def _too_large_message(limit: int) -> str:
    return _("The file is larger than the %(limit)s MB limit. Split it into smaller files.") % {
        "limit": f"{limit / (1024 * 1024):.0f}"
    }


def import_file_discard(path: str) -> None:
    try:
        _abs(path).unlink(missing_ok=True)
    except ValueError:
        pass


def file_error_message(exc: Exception) -> str:
    return str(getattr(exc, "message", "") or exc)


SAMPLE_ROWS = 50  # rows the wizard and the job creation look at: mapping guesses and the preview


@dataclass
class FileSample:
    """The headers and first rows of an upload, as the reader sees them."""

    headers: list[str]
    encoding: str
    delimiter: str
    format: str
    rows: list[tuple[int, list[str]]]


def import_file_inspect(*, path: str, filename: str, rows: int = SAMPLE_ROWS) -> FileSample:
    """Opens a stored upload and reads its first rows in a child process under a memory limit: a web
    process never parses an upload itself, so a file built to exhaust memory kills only that child.
    Raises the engine's ImportFileError (``needs_too_much_memory`` when the child died)."""
    return run_isolated(_sample, _abs(path), filename, rows, memory_bytes=parse_memory_bytes())


def _sample(path: Path, filename: str, rows: int) -> FileSample:
    with open(path, "rb") as fileobj, open_table(fileobj, filename, max_bytes=max_upload_bytes()) as table:
        sample = list(islice(table.numbered_rows(), rows))
        return FileSample(list(table.headers), table.encoding, table.delimiter, table.format, sample)


def _count_rows(path: Path, filename: str) -> int:
    with open(path, "rb") as fileobj, open_table(fileobj, filename) as table:
        return sum(1 for _unused in table.rows)


def file_refusal(exc: Exception) -> ValidationError:
    """An ImportFileError as the ValidationError of the ``file`` field, keeping the engine's code."""
    code = getattr(exc, "code", "invalid")
    return ValidationError({"file": [ValidationError(file_error_message(exc), code=code)]})


@dataclass
class Preview:
    headers: list[str]
    mapping: dict[str, str]
    encoding: str
    delimiter: str
    rows: list[RowOutcome]
    suppressed: set[str]
    duplicate_numbers: set[int]


def import_preview(
    *,
    org: Organisation,
    path: str,
    filename: str,
    mapping: dict[str, Any] | None = None,
    keep_unknown: bool = False,
    limit: int = 20,
) -> Preview:
    """The first rows of a stored file as the import would see them, each problem in place (wizard
    step 3). Raises the engine's ImportFileError for an unusable file, ValidationError for a bad
    mapping."""
    inspected = import_file_inspect(path=path, filename=filename, rows=max(limit, SAMPLE_ROWS))
    headers = inspected.headers
    sample = inspected.rows
    region = org.country or "FR"
    sample_cells = [cells for _n, cells in sample]
    if mapping is None:
        clean_mapping = guess_mapping(
            headers, keep_unknown=keep_unknown, sample_rows=sample_cells, region=region
        )
    else:
        clean_mapping = mapping_clean(
            headers, mapping, keep_unknown=keep_unknown, sample_rows=sample_cells, region=region
        )
    plan = ColumnPlan.build(headers, clean_mapping)
    outcomes = [_clean(plan, number, cells, region) for number, cells in sample[:limit]]
    seen: set[str] = set()
    duplicates: set[int] = set()
    for row in outcomes:
        if row.phone:
            if row.phone in seen:
                duplicates.add(row.number)
            seen.add(row.phone)
    return Preview(
        headers=headers,
        mapping=clean_mapping,
        encoding=inspected.encoding,
        delimiter=inspected.delimiter,
        rows=outcomes,
        suppressed=suppressed_numbers(org, seen),
        duplicate_numbers=duplicates,
    )


# --- rejected rows file -----------------------------------------------------------------------------


def _open_rejected(job: ImportJob, headers: list[str]):
    if not job.rejected_path:
        job.rejected_path = job.file_path.rsplit(".", 1)[0] + "-rejected.csv"
        ImportJob.objects.filter(pk=job.pk).update(rejected_path=job.rejected_path)
    path = _abs(job.rejected_path)
    handle = open(path, "a+b")  # noqa: SIM115 - closed by the caller
    handle.truncate(job.rejected_bytes)  # drop what an interrupted chunk wrote but never committed
    handle.seek(job.rejected_bytes)
    if job.rejected_bytes == 0:
        handle.write(rejected_header(headers))
    return handle


def rejected_rows_file(job: ImportJob) -> Path | None:
    """The rejected-rows CSV of a job as stored (original columns + reason and type codes,
    :mod:`.rejected`), when it has one."""
    if not job.rejected_path:
        return None
    path = _abs(job.rejected_path)
    return path if path.exists() else None
