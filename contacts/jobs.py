"""Import jobs: the wizard's and the API's file import, run in the background by a Celery task.

The parsing (encodings, delimiters, mapping guesses, phone repair, row cleaning) is the pure engine in
:mod:`contacts.importing`; this module adds the database side:

* the uploaded file is stored under ``MEDIA_ROOT/imports/<org>/`` and a job row keeps the mapping and the
  consent attestation (docs/compliance.md, "Consent");
* the job streams the file in chunks of ``IMPORT_CHUNK_ROWS`` rows; per chunk it loads the existing
  numbers and the suppressions with one query each, bulk-inserts new contacts, bulk-updates existing
  ones (tags merged, empty cells never erase data), never re-subscribes an opted-out number, records a
  consent proof per imported row referencing the job, and commits the chunk together with the job's
  counters and checkpoint (``processed_rows``, ``rejected_bytes``);
* a job killed half-way resumes after its last committed chunk; a row whose contact was already written
  by this job is a duplicate, so a resumed or re-run job never creates anything twice.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import uuid
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import islice
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from compliance.models import _hash_key
from compliance.selectors import suppressed_numbers
from smsplatform.audit import audit_record
from smsplatform.bulk import bulk_insert
from smsplatform.models import Organisation

from . import enqueue, services
from .importing import mapping
from .importing import rows as rowmod
from .importing.csvsafe import safe_cell
from .importing.errors import ImportFileError
from .importing.isolation import run_isolated
from .importing.reader import open_table
from .models import (
    BASIS_STRENGTH,
    ConsentBasis,
    ConsentProof,
    ConsentSource,
    Contact,
    ContactList,
    ContactTag,
    ImportJob,
    ImportStatus,
    ListMembership,
)

logger = logging.getLogger(__name__)

ATTRIBUTE = "attribute"  # mapping value: keep this column as a free attribute
IGNORE = ""  # mapping value: ignore this column
MERGE_FIELDS = ("first_name", "last_name", "email", "gender", "birth_date", "postal_code", "city")
UPDATE_FIELDS = (
    *MERGE_FIELDS, "attributes", "region", "timezone", "calendar", "consent_basis", "consent_source",
    "consent_collected_at", "last_import_id", "updated_at",
)  # fmt: skip
STALLED_AFTER = timedelta(minutes=20)


def chunk_rows() -> int:
    return int(getattr(settings, "IMPORT_CHUNK_ROWS", 10000))


def max_upload_bytes() -> int:
    return int(getattr(settings, "IMPORT_MAX_UPLOAD_BYTES", 50 * 1024 * 1024))


def parse_memory_bytes() -> int:
    """What parsing an upload may add to a process's memory; the child doing it dies beyond (0: no child)."""
    return int(getattr(settings, "IMPORT_PARSE_MEMORY_BYTES", 1024 * 1024 * 1024))


def import_root() -> Path:
    return Path(getattr(settings, "IMPORT_FILES_ROOT", "") or Path(settings.MEDIA_ROOT) / "imports")


def _abs(path: str) -> Path:
    full = (import_root() / path).resolve()
    if import_root().resolve() not in full.parents:
        raise ValueError("import path outside the import directory")
    return full


# --- the engine's vocabulary ------------------------------------------------------------------------


def contact_fields() -> list[tuple[str, str]]:
    """(field, label) pairs a column can be mapped to, in the engine's order."""
    return [(name, str(mapping.FIELD_LABELS.get(name, name))) for name in mapping.CONTACT_FIELDS]


def guess_mapping(
    headers: list[str],
    *,
    keep_unknown: bool = False,
    sample_rows: list[list[str]] | None = None,
    region: str = "FR",
) -> dict[str, str]:
    """The engine's guess, in the job's form ``{header: field | "attribute" | ""}``."""
    guessed = mapping.guess_mapping(headers, sample_rows, region)
    out = {}
    for header in headers:
        value = guessed.get(header)
        out.setdefault(header, value or (ATTRIBUTE if keep_unknown else IGNORE))
    return out


def mapping_clean(
    headers: list[str],
    mapping: dict[str, Any] | None,
    *,
    keep_unknown: bool,
    sample_rows: list[list[str]] | None = None,
    region: str = "FR",
) -> dict[str, str]:
    """Validates a mapping sent by the wizard or the API against the file's headers. Missing headers are
    guessed; a field may be used by one column only; the phone must be mapped."""
    valid_fields = {name for name, _label in contact_fields()}
    guessed = guess_mapping(headers, keep_unknown=keep_unknown, sample_rows=sample_rows, region=region)
    if mapping is None:
        mapping = {}
    if not isinstance(mapping, dict):
        raise ValidationError({"mapping": [_("The mapping must be an object: column name -> field.")]})
    unknown_headers = set(mapping) - set(headers)
    if unknown_headers:
        raise ValidationError(
            {
                "mapping": [
                    _("These columns are not in the file: %(names)s.")
                    % {"names": ", ".join(sorted(unknown_headers))}
                ]
            }
        )
    out: dict[str, str] = {}
    used: dict[str, str] = {}
    chosen = {str(v) for v in mapping.values() if v}
    for header in headers:
        if header in mapping:
            value = mapping[header]
        else:
            value = guessed.get(header, IGNORE)
            if value in chosen and value != ATTRIBUTE:
                value = ATTRIBUTE if keep_unknown else IGNORE
        value = "" if value is None else str(value)
        if value in (IGNORE, ATTRIBUTE):
            out[header] = value
            continue
        if value not in valid_fields:
            raise ValidationError({"mapping": [_("Unknown field: %(name)s.") % {"name": value}]})
        if value in used:
            raise ValidationError(
                {
                    "mapping": [
                        _("The columns %(a)s and %(b)s are both mapped to %(field)s.")
                        % {"a": used[value], "b": header, "field": value}
                    ]
                }
            )
        used[value] = header
        out[header] = value
    if "phone" not in used:
        raise ValidationError({"mapping": [_("Choose the column that holds the mobile numbers.")]})
    return out


@dataclass
class ColumnPlan:
    """Where each field of a row comes from: column indexes for fields, and attribute columns."""

    fields: list[tuple[int, str]]
    attributes: list[tuple[int, str]]

    @classmethod
    def build(cls, headers: list[str], mapping: dict[str, str]) -> ColumnPlan:
        fields, attributes, seen = [], [], set()
        for index, header in enumerate(headers):
            if header in seen:
                continue
            seen.add(header)
            value = mapping.get(header, IGNORE)
            if value == ATTRIBUTE:
                key = services.attribute_key_clean(header)
                if key:
                    attributes.append((index, key))
            elif value:
                fields.append((index, value))
        return cls(fields=fields, attributes=attributes)

    def mapped(self, cells: list[str]) -> dict[str, str]:
        return {name: cells[i] if i < len(cells) else "" for i, name in self.fields}

    def attrs(self, cells: list[str]) -> dict[str, str]:
        out = {}
        for i, key in self.attributes:
            value = cells[i].strip() if i < len(cells) else ""
            if value:
                out[key] = value
        return out


@dataclass
class RowOutcome:
    """A cleaned row: ``values`` (field -> python value) or an ``error`` code and message."""

    number: int
    cells: list[str]
    values: dict[str, Any] | None = None
    tags: list[str] = field(default_factory=list)
    attributes: dict[str, str] = field(default_factory=dict)
    error: str = ""
    message: str = ""

    @property
    def phone(self) -> str:
        return (self.values or {}).get("phone", "")


def _clean(plan: ColumnPlan, number: int, cells: list[str], default_region: str) -> RowOutcome:
    if not any(c.strip() for c in cells):
        return RowOutcome(number, cells, error="blank", message=_("Empty row"))
    result = rowmod.clean_row(plan.mapped(cells), default_region)
    if isinstance(result, rowmod.RowError):
        code = getattr(result, "reason", None) or getattr(result, "code", "invalid")
        message = str(getattr(result, "message", "") or code)
        return RowOutcome(number, cells, error=code, message=message)
    values = _values_of(result)
    tags = services.tags_clean(values.pop("tags", None))
    attrs = plan.attrs(cells)
    extra = values.pop("attributes", None)
    if isinstance(extra, dict):
        attrs = {
            **{services.attribute_key_clean(k): v for k, v in extra.items() if v not in (None, "")},
            **attrs,
        }
    return RowOutcome(number, cells, values=values, tags=tags, attributes=attrs)


def _values_of(result: Any) -> dict[str, Any]:
    if isinstance(result, dict):
        data = dict(result)
    elif hasattr(result, "_asdict"):
        data = result._asdict()
    elif hasattr(result, "__dataclass_fields__"):
        data = {name: getattr(result, name) for name in result.__dataclass_fields__}
    else:
        data = dict(vars(result))
    if "phone" not in data:
        data["phone"] = data.get("e164") or data.get("phone_e164") or ""
    out = {k: v for k, v in data.items() if k in (*MERGE_FIELDS, "phone", "tags", "attributes")}
    for name in MERGE_FIELDS:
        value = out.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            out.pop(name, None)
        elif isinstance(value, str):
            out[name] = value.strip()[: Contact._meta.get_field(name).max_length]
    return out


# --- rejected rows file -----------------------------------------------------------------------------


def _csv_line(cells: Iterable[Any]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";", lineterminator="\r\n").writerow([safe_cell(c) for c in cells])
    return buffer.getvalue().encode("utf-8")


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


# --- creating and running jobs ----------------------------------------------------------------------


def import_job_create(
    *,
    org: Organisation,
    actor: Any,
    path: str,
    original_filename: str,
    file_size: int,
    consent_basis: str,
    consent_source: str,
    mapping: dict[str, Any] | None = None,
    keep_unknown_columns: bool = False,
    contact_list: ContactList | None = None,
    list_name: str = "",
    tags: Iterable[str] = (),
) -> ImportJob:
    """Records an import and its consent attestation, then starts it in the background after commit.

    The attestation (basis and source for the whole file) is required (docs/compliance.md, "Consent") and is
    kept on the job; every contact it imports gets a proof referencing it. The file is opened here once
    so that an unusable file or a mapping without a phone column is refused at once, not in the worker.
    """
    errors: dict[str, list[str]] = {}
    if consent_basis not in ConsentBasis.values:
        errors["consent_basis"] = [_("Declare the consent basis of the contacts in this file.")]
    consent_source = " ".join(str(consent_source or "").split())
    if not consent_source:
        errors["consent_source"] = [_("Say where and how the consents were collected.")]
    if contact_list is not None and contact_list.org_id != org.pk:
        errors["list"] = [_("Unknown list.")]
    if errors:
        raise ValidationError(errors)
    try:
        inspected = import_file_inspect(path=path, filename=original_filename)
    except ImportFileError as exc:
        raise file_refusal(exc) from exc
    headers = inspected.headers
    sample = [cells for _n, cells in inspected.rows]
    clean_mapping = mapping_clean(
        headers, mapping, keep_unknown=keep_unknown_columns, sample_rows=sample, region=org.country or "FR"
    )
    with transaction.atomic():
        if contact_list is None and list_name.strip():
            contact_list = services.contact_list_get_or_create(org=org, actor=actor, name=list_name)
        job = ImportJob.objects.create(
            org=org,
            file_path=path,
            original_filename=(original_filename or "import.csv")[:255],
            file_size=file_size,
            mapping=clean_mapping,
            keep_unknown_columns=keep_unknown_columns,
            consent_basis=consent_basis,
            consent_source=consent_source[:300],
            attested_at=timezone.now(),
            contact_list=contact_list,
            tags=services.tags_clean(list(tags)),
            default_region=(org.country or "FR")[:2],
            created_by=services._actor_user(actor),
            created_by_label=services._actor_label(actor),
        )
        audit_record(
            org=org,
            actor=actor,
            action="import.created",
            target=job,
            data={
                "file": job.original_filename,
                "consent_basis": consent_basis,
                "consent_source": consent_source[:300],
            },
        )
        import_job_dispatch(job)
    return job


def import_job_dispatch(job: ImportJob) -> None:
    """Queues the job's task once the transaction that created or re-queued it has committed."""
    job_id = job.pk
    transaction.on_commit(lambda: enqueue.enqueue_import_job(job_id))


class _Superseded(Exception):
    """Another worker advanced this job (a redelivered task): this one stops without writing."""


def import_job_run(*, job_id: int) -> ImportJob | None:
    """Runs (or resumes) an import job to its end: ``done`` with its report, or ``failed`` with a
    message. Safe to call twice at once or again after a crash: chunks are claimed against the
    checkpoint."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().select_related("org").filter(pk=job_id).first()
        if job is None or job.is_finished:
            return job
        now = timezone.now()
        job.status = ImportStatus.RUNNING
        job.started_at = job.started_at or now
        job.heartbeat_at = now
        job.save(update_fields=["status", "started_at", "heartbeat_at"])
    try:
        with translation.override(settings.LANGUAGE_CODE):
            _run(job)
    except _Superseded:
        logger.info("Import job %s is being run by another worker", job.pk)
        return job
    except ImportFileError as exc:
        with translation.override(settings.LANGUAGE_CODE):
            _finish(job, ImportStatus.FAILED, file_error_message(exc))
    except Exception as exc:
        logger.exception("Import job %s failed", job.pk)
        with translation.override(settings.LANGUAGE_CODE):
            _finish(
                job,
                ImportStatus.FAILED,
                _(
                    "The import stopped after %(rows)s rows because of an internal error (%(error)s). "
                    "Nothing was lost: run it again to continue where it stopped."
                )
                % {"rows": job.processed_rows, "error": type(exc).__name__},
            )
    return job


def _run(job: ImportJob) -> None:
    path = _abs(job.file_path)
    if job.total_rows == 0 and job.processed_rows == 0:
        # A first pass reads the whole file: the progress bar gets a true total, and a file damaged
        # half-way fails here, before a single contact is written. It runs in a child under the memory
        # limit, so a file that would blow up the worker fails here too; the second pass below parses
        # the same bytes the same way, within the memory the first one needed.
        total = run_isolated(_count_rows, path, job.original_filename, memory_bytes=parse_memory_bytes())
        ImportJob.objects.filter(pk=job.pk).update(total_rows=total)
        job.total_rows = total

    with open(path, "rb") as fileobj:
        table = open_table(fileobj, job.original_filename)
        headers = list(table.headers)
        plan = ColumnPlan.build(headers, job.mapping)
        if not any(name == "phone" for _i, name in plan.fields):
            raise ImportFileError("no_phone_column")
        rejected = _open_rejected(job, headers)
        try:
            stream: Iterator[tuple[int, list[str]]] = table.numbered_rows()
            if job.processed_rows:
                for _unused in islice(stream, job.processed_rows):
                    pass
            size = chunk_rows()
            chunks: Iterator[list[tuple[int, list[str]]]] = iter(lambda: list(islice(stream, size)), [])
            if _set_based():
                remaining = max(job.total_rows - job.processed_rows, 0)
                for prepared in _prepared_chunks(job, plan, chunks, parallel=remaining > size):
                    _process_chunk(job, plan, prepared, rejected)
            else:
                for chunk in chunks:
                    _process_chunk(job, plan, chunk, rejected)
        finally:
            rejected.close()
    _refresh_planner_statistics()
    _finish(job, ImportStatus.DONE, "")


def _refresh_planner_statistics() -> None:
    """A large import changes the contact tables faster than autovacuum notices; a campaign launched
    right after it would be planned on stale statistics (measured: a quadratic audience plan, 311 s for
    2,000 recipients). ANALYZE of the tables the import writes costs a fraction of a second."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    tables = ("contacts_contact", "contacts_listmembership", "contacts_contacttag", "contacts_consentproof")
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE {table}")  # noqa: S608 - fixed table names


def _open_rejected(job: ImportJob, headers: list[str]):
    if not job.rejected_path:
        job.rejected_path = job.file_path.rsplit(".", 1)[0] + "-rejected.csv"
        ImportJob.objects.filter(pk=job.pk).update(rejected_path=job.rejected_path)
    path = _abs(job.rejected_path)
    handle = open(path, "a+b")  # noqa: SIM115 - closed by the caller
    handle.truncate(job.rejected_bytes)  # drop what an interrupted chunk wrote but never committed
    handle.seek(job.rejected_bytes)
    if job.rejected_bytes == 0:
        handle.write(b"\xef\xbb\xbf" + _csv_line([*headers, "error"]))
    return handle


def _process_chunk(job: ImportJob, plan: ColumnPlan, chunk, rejected) -> None:
    """Writes one chunk and its checkpoint in one transaction. ``chunk`` is a list of (row number, cells),
    or on PostgreSQL a :class:`PreparedChunk` (rows already cleaned, possibly by a parse worker)."""
    if _set_based():
        if not isinstance(chunk, PreparedChunk):
            chunk = _prepare_local(job, plan, chunk)
        _write_prepared(job, chunk, rejected)
    else:
        _write_orm(job, plan, chunk, rejected)


def _write_orm(job: ImportJob, plan: ColumnPlan, chunk: list[tuple[int, list[str]]], rejected) -> None:
    """The portable path (SQLite): model instances, ``bulk_create`` and ``bulk_update``."""
    org = job.org
    outcomes = [_clean(plan, number, cells, job.default_region) for number, cells in chunk]
    invalid = Counter()
    rejected_lines: list[bytes] = []
    unique: dict[str, RowOutcome] = {}
    duplicates = suppressed_count = 0
    for row in outcomes:
        if row.error:
            if row.error == "blank":
                continue
            invalid[row.error] += 1
            rejected_lines.append(_csv_line([*row.cells, row.message]))
        elif row.phone in unique:
            duplicates += 1
            rejected_lines.append(
                _csv_line([*row.cells, _("Duplicate: this number is already earlier in the file")])
            )
        else:
            unique[row.phone] = row

    now = timezone.now()
    contexts = services.ContextCache()
    with transaction.atomic():
        locked = (
            ImportJob.objects.select_for_update().filter(pk=job.pk).values("processed_rows", "status").first()
        )
        if (
            locked is None
            or locked["processed_rows"] != job.processed_rows
            or locked["status"] != ImportStatus.RUNNING
        ):
            raise _Superseded
        phones = list(unique)
        suppressed = suppressed_numbers(org, phones)
        existing = {
            c.phone: c
            for c in Contact.objects.filter(org=org, phone__in=phones).only(
                "id",
                "phone",
                "opted_out",
                "last_import_id",
                "consent_basis",
                "consent_source",
                "consent_collected_at",
                "attributes",
                "region",
                "timezone",
                "calendar",
                *MERGE_FIELDS,
            )
        }
        to_create: list[Contact] = []
        to_update: list[Contact] = []
        touched: list[int] = []
        flag_opted_out: list[int] = []
        imported: list[RowOutcome] = []
        for phone, row in unique.items():
            contact = existing.get(phone)
            if phone in suppressed:
                suppressed_count += 1
                rejected_lines.append(
                    _csv_line([*row.cells, _("Opted out: this number asked not to receive SMS")])
                )
                if contact is not None and not contact.opted_out:
                    flag_opted_out.append(contact.pk)
                continue
            if contact is not None and contact.last_import_id == job.pk:
                duplicates += 1
                rejected_lines.append(
                    _csv_line([*row.cells, _("Duplicate: this number is already earlier in the file")])
                )
                continue
            imported.append(row)
            values = row.values or {}
            if contact is None:
                fields = {k: values[k] for k in MERGE_FIELDS if k in values}
                region, tz, calendar = contexts.get(phone, fields.get("postal_code", ""))
                to_create.append(
                    Contact(
                        org=org,
                        phone=phone,
                        attributes=row.attributes,
                        consent_basis=job.consent_basis,
                        consent_source=ConsentSource.IMPORT,
                        consent_collected_at=job.attested_at or now,
                        region=region,
                        timezone=tz,
                        calendar=calendar,
                        last_import_id=job.pk,
                        created_at=now,
                        updated_at=now,
                        **fields,
                    )
                )
            else:
                changed = _merge(contact, values, row.attributes, job, contexts, now)
                if changed:
                    to_update.append(contact)
                else:
                    touched.append(contact.pk)

        if to_create:
            bulk_insert(Contact, to_create, skip_conflicts=True)
        if to_update:
            Contact.objects.bulk_update(to_update, UPDATE_FIELDS, batch_size=500)
        if touched:
            Contact.objects.filter(org=org, pk__in=touched).update(last_import_id=job.pk, updated_at=now)
        if flag_opted_out:
            Contact.objects.filter(org=org, pk__in=flag_opted_out).update(opted_out=True, updated_at=now)

        ids = {c.phone: c.pk for c in to_update}
        touched_ids = set(touched)
        ids.update((c.phone, c.pk) for c in existing.values() if c.pk in touched_ids)
        new_phones = [c.phone for c in to_create]
        if new_phones:
            ids.update(Contact.objects.filter(org=org, phone__in=new_phones).values_list("phone", "id"))
        created = sum(1 for c in to_create if c.phone in ids)
        _link(job, imported, ids, now)

        rejected.write(b"".join(rejected_lines))
        rejected.flush()
        os.fsync(rejected.fileno())
        merged_invalid = dict(job.invalid_by_reason)
        for code, n in invalid.items():
            merged_invalid[code] = merged_invalid.get(code, 0) + n
        job.processed_rows += len(chunk)
        job.created += created
        job.updated += len(imported) - created
        job.invalid += sum(invalid.values())
        job.duplicates += duplicates
        job.suppressed += suppressed_count
        job.invalid_by_reason = merged_invalid
        job.rejected_bytes = rejected.tell()
        job.heartbeat_at = timezone.now()
        job.save(
            update_fields=[
                "processed_rows", "created", "updated", "invalid", "duplicates", "suppressed",
                "invalid_by_reason", "rejected_bytes", "heartbeat_at",
            ]
        )  # fmt: skip


# --- the set-based path (PostgreSQL) -----------------------------------------------------------------
#
# A chunk is cleaned into one COPY payload (one CSV line per distinct valid number, with its suppression
# hash and recipient context) plus its rejected rows; on PostgreSQL the rows are then written by a few
# set-based statements on a staging table, never as model instances. Cleaning is the CPU-bound part: for
# a file of more than one chunk it runs in ``IMPORT_PARSE_PROCESSES`` forked processes (default 2), a
# few chunks ahead of the main process, which reads the file and writes to the database. Workers never
# touch the database; the chunks are written in file order, each with its checkpoint, as before.

STAGE_COLUMNS = (
    "idx", "phone", "phone_hash", "first_name", "last_name", "email", "gender", "birth_date", "postal_code",
    "city", "attributes", "tags", "region", "timezone", "calendar",
)  # fmt: skip
STAGE_TEXT = tuple(c for c in STAGE_COLUMNS if c not in ("idx", "birth_date", "attributes"))
TAG_SEPARATOR = "\x1f"  # whitespace to tags_clean, so never inside a tag name
IN_FLIGHT = 3  # chunks handed to the parse workers ahead of the one being written


@dataclass
class PreparedChunk:
    """A chunk cleaned for the set-based path. ``copy`` holds the staging rows (CSV); ``rejected`` the
    rejected-rows lines of its invalid rows and in-chunk duplicates; ``cells`` (set in the main process
    only) the raw rows, for the rejected lines of suppressed numbers and earlier-chunk duplicates."""

    rows: int
    staged: int
    copy: str
    rejected: bytes
    invalid: dict[str, int]
    duplicates: int
    tags: list[str]
    cells: list[list[str]] | None = None


@dataclass(frozen=True)
class _PrepareParams:
    fields: tuple[tuple[int, str], ...]
    attributes: tuple[tuple[int, str], ...]
    region: str
    language: str


def _set_based() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql" and bool(getattr(settings, "IMPORT_SET_BASED", True))


def parse_processes() -> int:
    return max(0, int(getattr(settings, "IMPORT_PARSE_PROCESSES", 2)))


def _params(job: ImportJob, plan: ColumnPlan) -> _PrepareParams:
    return _PrepareParams(
        fields=tuple(plan.fields),
        attributes=tuple(plan.attributes),
        region=job.default_region,
        language=translation.get_language() or settings.LANGUAGE_CODE,
    )


def _prepare_local(job: ImportJob, plan: ColumnPlan, chunk: list[tuple[int, list[str]]]) -> PreparedChunk:
    prepared = prepare_chunk(_params(job, plan), [cells for _n, cells in chunk])
    prepared.cells = [cells for _n, cells in chunk]
    return prepared


def _prepared_chunks(
    job: ImportJob, plan: ColumnPlan, chunks: Iterator[list[tuple[int, list[str]]]], *, parallel: bool
) -> Iterator[PreparedChunk]:
    """The chunks of the file, cleaned, in order: by a pool of forked workers when the file has more than
    one chunk left (at most ``IN_FLIGHT`` chunks ahead, so memory stays bounded), else in this process."""
    processes = parse_processes() if parallel else 0
    pool = None
    if processes:
        import multiprocessing

        try:
            pool = multiprocessing.get_context("fork").Pool(processes)
        except (AssertionError, OSError, ValueError) as exc:  # e.g. a daemonic worker may not fork
            logger.info("Import job %s parses in-process: %s", job.pk, exc)
    if pool is None:
        for chunk in chunks:
            yield _prepare_local(job, plan, chunk)
        return
    params = _params(job, plan)
    pending: deque = deque()
    try:
        for chunk in chunks:
            cells = [c for _n, c in chunk]
            pending.append((pool.apply_async(prepare_chunk, (params, cells)), cells))
            if len(pending) > IN_FLIGHT:
                yield _collected(pending.popleft())
        while pending:
            yield _collected(pending.popleft())
    finally:
        pool.terminate()
        pool.join()


def _collected(item) -> PreparedChunk:
    result, cells = item
    prepared = result.get()
    prepared.cells = cells
    return prepared


def prepare_chunk(params: _PrepareParams, chunk: list[list[str]]) -> PreparedChunk:
    """Cleans the rows of a chunk (pure: no database) into the staging COPY payload and rejected lines.
    Runs in a parse worker or in the job's process."""
    import hmac

    if translation.get_language() != params.language:
        translation.activate(params.language)
    clean_row, row_error = rowmod.clean_row, rowmod.RowError
    key = _hash_key(settings.SECRET_KEY)
    digest = hmac.digest
    contexts = _worker_contexts()
    region = params.region
    fields = params.fields
    attributes = params.attributes
    limits = _limits()
    buffer = io.StringIO()
    write = csv.writer(buffer, lineterminator="\n").writerow
    rejected = io.StringIO()
    reject = csv.writer(rejected, delimiter=";", lineterminator="\r\n").writerow
    invalid: Counter = Counter()
    messages: dict[str, str] = {}
    seen: set[str] = set()
    tag_names: dict[str, str] = {}
    duplicates = staged = 0
    dup_message = _("Duplicate: this number is already earlier in the file")
    for idx, cells in enumerate(chunk):
        mapped = {name: cells[i] for i, name in fields}
        result = clean_row(mapped, region)
        if type(result) is row_error:
            if not any(c.strip() for c in cells):
                continue  # a blank row says nothing
            code = result.reason
            invalid[code] += 1
            message = messages.get(code)
            if message is None:
                message = messages[code] = str(result.message or code)
            reject([*map(safe_cell, cells), message])
            continue
        phone = result.phone_e164
        if phone in seen:
            duplicates += 1
            reject([*map(safe_cell, cells), dup_message])
            continue
        seen.add(phone)
        tags = ""
        if result.tags:
            names = services.tags_clean(result.tags)
            keys = []
            for name in names:
                folded = name.casefold()
                tag_names.setdefault(folded, name)
                keys.append(folded)
            tags = TAG_SEPARATOR.join(keys)
        attrs = "{}"
        if attributes:
            found = {}
            for i, name in attributes:
                value = cells[i].strip() if i < len(cells) else ""
                if value:
                    found[name] = value
            if found:
                attrs = json.dumps(found, ensure_ascii=False)
        postal = result.postal_code.strip()[: limits["postal_code"]]
        context = contexts.get(phone, postal)
        birth = result.birth_date
        write(
            (
                idx,
                phone,
                digest(key, phone.encode(), "sha256").hex(),
                result.first_name.strip()[: limits["first_name"]],
                result.last_name.strip()[: limits["last_name"]],
                result.email.strip()[: limits["email"]],
                result.gender.strip()[: limits["gender"]],
                birth.isoformat() if birth is not None else "",
                postal,
                result.city.strip()[: limits["city"]],
                attrs,
                tags,
                *context,
            )
        )
        staged += 1
    return PreparedChunk(
        rows=len(chunk),
        staged=staged,
        copy=buffer.getvalue(),
        rejected=rejected.getvalue().encode("utf-8"),
        invalid=dict(invalid),
        duplicates=duplicates,
        tags=list(tag_names.values()),
    )


_CONTEXTS: services.ContextCache | None = None


def _worker_contexts() -> services.ContextCache:
    """Recipient contexts by (number prefix, postal-code prefix), kept for the life of the process."""
    global _CONTEXTS
    if _CONTEXTS is None:
        _CONTEXTS = services.ContextCache()
    return _CONTEXTS


def _limits() -> dict[str, int]:
    names = ("first_name", "last_name", "email", "gender", "postal_code", "city")
    return {name: Contact._meta.get_field(name).max_length for name in names}


_STRENGTH_SQL = "(CASE {col} WHEN 'opt_in' THEN 3 WHEN 'soft_opt_in' THEN 2 WHEN 'none' THEN 1 ELSE 0 END)"


def _write_prepared(job: ImportJob, prepared: PreparedChunk, rejected) -> None:
    """Writes a prepared chunk with set-based statements: COPY into a staging table; one DELETE that
    takes the suppressed numbers out; one ``INSERT ... ON CONFLICT DO UPDATE`` that creates the new
    contacts, merges the existing ones (empty cells never erase, attributes merged, consent never
    weakened), skips the numbers this job already wrote (duplicates of an earlier chunk), and records a
    consent proof and the list membership of each imported contact; one INSERT for the tags. The chunk
    commits with its checkpoint, as on the portable path."""
    from django.db import connection

    org_id = job.org_id
    now = timezone.now()
    cells = prepared.cells or []
    lines = [prepared.rejected]
    duplicates = prepared.duplicates
    suppressed_count = created = imported = 0
    nested = connection.in_atomic_block  # then the staging rows are not deleted by a commit of ours
    with transaction.atomic():
        locked = (
            ImportJob.objects.select_for_update().filter(pk=job.pk).values("processed_rows", "status").first()
        )
        if (
            locked is None
            or locked["processed_rows"] != job.processed_rows
            or locked["status"] != ImportStatus.RUNNING
        ):
            raise _Superseded
        if prepared.staged:
            with connection.cursor() as cursor:
                # A lost commit after a server crash only rewinds the checkpoint with the data (they are
                # in the same transaction, and the rejected file is cut back to the checkpoint): no need
                # to wait for the WAL flush of every chunk. The job's final report commits normally.
                cursor.execute("SET LOCAL synchronous_commit TO off")
                cursor.execute(
                    "CREATE TEMP TABLE IF NOT EXISTS import_stage (idx integer, phone text, phone_hash text, "
                    "first_name text, last_name text, email text, gender text, birth_date date, "
                    "postal_code text, city text, attributes jsonb, tags text, region text, timezone text, "
                    "calendar text) ON COMMIT DELETE ROWS"
                )
                cursor.cursor.copy_expert(
                    f"COPY import_stage ({', '.join(STAGE_COLUMNS)}) FROM STDIN "
                    f"WITH (FORMAT csv, FORCE_NOT_NULL ({', '.join(STAGE_TEXT)}))",
                    io.StringIO(prepared.copy),
                )
                cursor.execute(
                    "DELETE FROM import_stage s USING compliance_suppression sp "
                    "WHERE sp.org_id = %s AND sp.phone_hash = s.phone_hash RETURNING s.idx, s.phone",
                    [org_id],
                )
                suppressed = cursor.fetchall()
                if suppressed:
                    message = _("Opted out: this number asked not to receive SMS")
                    for idx, _phone in sorted(suppressed):
                        lines.append(_csv_line([*cells[idx], message]))
                    suppressed_count = len(suppressed)
                    cursor.execute(
                        "UPDATE contacts_contact SET opted_out = true, updated_at = %s "
                        "WHERE org_id = %s AND phone = ANY(%s) AND NOT opted_out",
                        [now, org_id, [phone for _idx, phone in suppressed]],
                    )
                if prepared.staged > suppressed_count:
                    created, imported, again, recontext = _upsert(cursor, job, org_id, now)
                    if again:
                        message = _("Duplicate: this number is already earlier in the file")
                        for idx in sorted(again):
                            lines.append(_csv_line([*cells[idx], message]))
                        duplicates += len(again)
                    for cid, phone, postal in recontext or ():
                        region, tz, calendar = services.recipient_context_tuple(phone, postal)
                        cursor.execute(
                            "UPDATE contacts_contact SET region = %s, timezone = %s, calendar = %s "
                            "WHERE org_id = %s AND id = %s",
                            [region, tz, calendar, org_id, cid],
                        )
                    if prepared.tags or job.tags:
                        _tag(cursor, job, org_id, prepared.tags)
                if nested:
                    cursor.execute("DELETE FROM import_stage")

        rejected.write(b"".join(lines))
        rejected.flush()
        os.fsync(rejected.fileno())
        merged_invalid = dict(job.invalid_by_reason)
        for code, n in prepared.invalid.items():
            merged_invalid[code] = merged_invalid.get(code, 0) + n
        job.processed_rows += prepared.rows
        job.created += created
        job.updated += imported - created
        job.invalid += sum(prepared.invalid.values())
        job.duplicates += duplicates
        job.suppressed += suppressed_count
        job.invalid_by_reason = merged_invalid
        job.rejected_bytes = rejected.tell()
        job.heartbeat_at = timezone.now()
        job.save(
            update_fields=[
                "processed_rows", "created", "updated", "invalid", "duplicates", "suppressed",
                "invalid_by_reason", "rejected_bytes", "heartbeat_at",
            ]
        )  # fmt: skip


def _upsert(cursor, job: ImportJob, org_id: int, now) -> tuple[int, int, list[int], list[tuple]]:
    """Creates the new contacts and merges the existing ones in ONE statement, with a consent proof (and
    the list membership) per imported contact. Returns (created, imported, staging indexes of the
    numbers this job had already written, contacts whose region must be computed from their stored
    postal code)."""
    note = _("Import of %(file)s; declared source: %(source)s") % {
        "file": job.original_filename,
        "source": job.consent_source,
    }
    keep = "CASE WHEN EXCLUDED.{f} <> '' THEN EXCLUDED.{f} ELSE c.{f} END"
    merge = ", ".join(
        f"{name} = "
        + (keep.format(f=name) if name != "birth_date" else "COALESCE(EXCLUDED.birth_date, c.birth_date)")
        for name in MERGE_FIELDS
    )
    # The row's postal code refines the context; a contact without a region gets one. When neither the
    # row nor the contact's region helps but the contact has a postal code, the region is left empty
    # here and computed from that postal code below (rare: contacts always get a region when created).
    context = ", ".join(
        f"{name} = CASE WHEN EXCLUDED.postal_code <> '' THEN EXCLUDED.{name} "
        f"WHEN c.region <> '' THEN c.{name} WHEN c.postal_code <> '' THEN '' ELSE EXCLUDED.{name} END"
        for name in ("region", "timezone", "calendar")
    )
    current = _STRENGTH_SQL.format(col="c.consent_basis")
    stronger = f"(c.consent_basis <> %(basis)s AND %(strength)s >= {current})"
    consent = ", ".join(
        f"{name} = CASE WHEN {stronger} THEN EXCLUDED.{name} ELSE c.{name} END"
        for name in ("consent_basis", "consent_source", "consent_collected_at")
    )
    membership = ""
    if job.contact_list_id:
        membership = (
            ", members AS (INSERT INTO contacts_listmembership "
            "(org_id, contact_list_id, contact_id, added_at) "
            "SELECT %(org)s, %(list)s, id, %(now)s FROM ins ON CONFLICT DO NOTHING)"
        )
    fields = ", ".join(MERGE_FIELDS)
    staged_fields = ", ".join(f"s.{name}" for name in MERGE_FIELDS)
    # Every name below is a constant of this module; the values are parameters.
    cursor.execute(
        "WITH ins AS ("  # noqa: S608
        f"INSERT INTO contacts_contact AS c (org_id, phone, {fields}, attributes, consent_basis, "
        "consent_source, consent_collected_at, opted_out, region, timezone, calendar, last_import_id, "
        "created_at, updated_at) "
        f"SELECT %(org)s, s.phone, {staged_fields}, s.attributes, %(basis)s, %(source)s, %(attested)s, "
        "false, s.region, s.timezone, s.calendar, %(job)s, %(now)s, %(now)s FROM import_stage s "
        f"ON CONFLICT (org_id, phone) DO UPDATE SET {merge}, "
        "attributes = c.attributes || EXCLUDED.attributes, "
        f"{context}, {consent}, last_import_id = EXCLUDED.last_import_id, updated_at = EXCLUDED.updated_at "
        "WHERE c.last_import_id IS DISTINCT FROM %(job)s "
        "RETURNING id, phone, postal_code, region, (xmax = 0) AS created), "
        "proofs AS (INSERT INTO contacts_consentproof (org_id, contact_id, basis, source, collected_at, "
        "wording_version, wording, ip_address, import_job_id, note, recorded_by_id, recorded_by_label) "
        "SELECT %(org)s, id, %(basis)s, %(source)s, %(attested)s, '', '', NULL, %(job)s, %(note)s, %(user)s, "
        f"%(label)s FROM ins){membership} "
        "SELECT count(*) FILTER (WHERE created), count(*), "
        "(SELECT array_agg(s.idx) FROM import_stage s WHERE NOT EXISTS "
        "(SELECT 1 FROM ins WHERE ins.phone = s.phone)), "
        "array_agg(ARRAY[id::text, phone, postal_code]) FILTER (WHERE region = '') FROM ins",
        {
            "org": org_id,
            "basis": job.consent_basis,
            "strength": BASIS_STRENGTH.get(job.consent_basis, 0),
            "source": ConsentSource.IMPORT,
            "attested": job.attested_at or now,
            "job": job.pk,
            "now": now,
            "note": note[:300],
            "user": job.created_by_id,
            "label": job.created_by_label,
            "list": job.contact_list_id,
        },
    )
    created, imported, again, recontext = cursor.fetchone()
    recontext = [(int(cid), phone, postal) for cid, phone, postal in recontext or ()]
    return created or 0, imported or 0, again or [], recontext


def _tag(cursor, job: ImportJob, org_id: int, names: list[str]) -> None:
    """Tags of the file's rows and of the job, merged into the imported contacts' tags (one INSERT)."""
    wanted = [*names, *job.tags]
    if not wanted:
        return
    ensured = services.tags_ensure(org=job.org, names=wanted)
    ids = {name.casefold(): tid for name, tid in ensured.items()}
    if not ids:
        return
    job_keys = [name.casefold() for name in job.tags if name.casefold() in ids]
    cursor.execute(
        "INSERT INTO contacts_contacttag (org_id, contact_id, tag_id) "
        "SELECT DISTINCT %s, c.id, m.tag_id FROM import_stage s "
        "JOIN contacts_contact c ON c.org_id = %s AND c.phone = s.phone "
        "CROSS JOIN LATERAL unnest(string_to_array(s.tags, %s) || %s::text[]) AS k(key) "
        "JOIN unnest(%s::text[], %s::bigint[]) AS m(key, tag_id) ON m.key = k.key "
        "ON CONFLICT DO NOTHING",
        [org_id, org_id, TAG_SEPARATOR, job_keys, list(ids), list(ids.values())],
    )


def _merge(contact: Contact, values: dict, attributes: dict, job: ImportJob, contexts, now) -> bool:
    """Copies the row's non-empty cells onto an existing contact; empty cells never erase data, and an
    import never weakens the current consent. Returns whether anything but the job marker changed."""
    changed = False
    for name in MERGE_FIELDS:
        if name in values and getattr(contact, name) != values[name]:
            setattr(contact, name, values[name])
            changed = True
    if attributes:
        merged = {**(contact.attributes or {}), **attributes}
        if merged != contact.attributes:
            contact.attributes = merged
            changed = True
    if "postal_code" in values and changed:
        region, tz, calendar = contexts.get(contact.phone, contact.postal_code)
        contact.region, contact.timezone, contact.calendar = region, tz, calendar
    elif not contact.region:
        contact.region, contact.timezone, contact.calendar = contexts.get(contact.phone, contact.postal_code)
        changed = True
    if job.consent_basis != contact.consent_basis and services.stronger_basis(
        contact.consent_basis, job.consent_basis
    ):
        contact.consent_basis = job.consent_basis
        contact.consent_source = ConsentSource.IMPORT
        contact.consent_collected_at = job.attested_at or now
        changed = True
    contact.last_import_id = job.pk
    contact.updated_at = now
    return changed


def _link(job: ImportJob, imported: list[RowOutcome], ids: dict[str, int], now) -> None:
    """Consent proofs, tags and list membership of a chunk's imported contacts: a few bulk queries."""
    org = job.org
    rows = [(ids[r.phone], r) for r in imported if r.phone in ids]
    if not rows:
        return
    note = _("Import of %(file)s; declared source: %(source)s") % {
        "file": job.original_filename,
        "source": job.consent_source,
    }
    bulk_insert(
        ConsentProof,
        [
            ConsentProof(
                org=org,
                contact_id=cid,
                basis=job.consent_basis,
                source=ConsentSource.IMPORT,
                collected_at=job.attested_at or now,
                import_job_id=job.pk,
                note=note[:300],
                recorded_by_id=job.created_by_id,
                recorded_by_label=job.created_by_label,
            )
            for cid, _row in rows
        ],
    )
    all_tags = {t for _cid, r in rows for t in r.tags} | set(job.tags)
    if all_tags:
        tag_ids = {
            name.casefold(): tid
            for name, tid in services.tags_ensure(org=org, names=sorted(all_tags)).items()
        }
        links = []
        for cid, row in rows:
            for name in {*row.tags, *job.tags}:
                tid = tag_ids.get(name.casefold())
                if tid:
                    links.append(ContactTag(org=org, contact_id=cid, tag_id=tid))
        ContactTag.objects.bulk_create(links, ignore_conflicts=True, batch_size=2000)
    if job.contact_list_id:
        ListMembership.objects.bulk_create(
            [
                ListMembership(org=org, contact_list_id=job.contact_list_id, contact_id=cid, added_at=now)
                for cid, _r in rows
            ],
            ignore_conflicts=True,
            batch_size=2000,
        )


def _finish(job: ImportJob, status: str, message: str) -> None:
    now = timezone.now()
    with transaction.atomic():
        fields: dict[str, Any] = {"status": status, "error_message": message[:2000], "finished_at": now}
        if status == ImportStatus.DONE:
            fields["total_rows"] = job.processed_rows
        ImportJob.objects.filter(pk=job.pk).update(**fields)
        for key, value in fields.items():
            setattr(job, key, value)
        audit_record(
            org=job.org,
            actor=None,
            action=f"import.{status}",
            target=job,
            data={
                "created": job.created,
                "updated": job.updated,
                "invalid": job.invalid,
                "duplicates": job.duplicates,
                "suppressed": job.suppressed,
                "error": message[:300],
            },
        )
    if status == ImportStatus.DONE:
        # The source file holds personal data the report does not need: keep only the rejected rows.
        import_file_discard(job.file_path)


def import_job_resume(*, org: Organisation, actor: Any, job: ImportJob) -> ImportJob:
    """Queues a failed or stalled job again; it continues after its last committed chunk."""
    if job.org_id != org.pk:
        raise ValueError("job of another organisation")
    if job.status == ImportStatus.DONE:
        raise ValidationError(_("This import is finished."))
    if not _abs(job.file_path).exists():
        raise ValidationError(_("The file of this import is no longer available: upload it again."))
    with transaction.atomic():
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportStatus.QUEUED, error_message="", finished_at=None
        )
        job.status, job.error_message, job.finished_at = ImportStatus.QUEUED, "", None
        audit_record(
            org=org, actor=actor, action="import.resumed", target=job, data={"from_row": job.processed_rows}
        )
        import_job_dispatch(job)
    return job


def import_jobs_requeue_stalled() -> dict[str, int]:
    """Re-queues jobs whose worker died (no heartbeat for ``STALLED_AFTER``); for the beat schedule.
    The broker redelivers most of them already (late acks); this catches the rest."""
    limit = timezone.now() - STALLED_AFTER
    stalled = list(
        ImportJob.objects.filter(status=ImportStatus.RUNNING, heartbeat_at__lt=limit).values_list(
            "pk", flat=True
        )[:100]
    )
    for pk in stalled:
        ImportJob.objects.filter(pk=pk).update(heartbeat_at=timezone.now())
        enqueue.enqueue_import_job(pk)
    return {"requeued": len(stalled)}


def rejected_rows_file(job: ImportJob) -> Path | None:
    """The rejected-rows CSV of a job (original columns + ``error``), when it has one."""
    if not job.rejected_path:
        return None
    path = _abs(job.rejected_path)
    return path if path.exists() else None
