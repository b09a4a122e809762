"""Creating and running import jobs: the job row and its consent attestation, the background run chunk
by chunk, the end of a job, and its resumption after a failure or a dead worker."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import timedelta
from itertools import islice
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from smsplatform.audit import audit_record
from smsplatform.models import Organisation

from .. import enqueue, services
from ..importing.errors import ImportFileError
from ..importing.isolation import run_isolated
from ..importing.reader import open_table
from ..models import ConsentBasis, ContactList, ImportJob, ImportStatus
from .files import (
    _abs,
    _count_rows,
    _open_rejected,
    file_error_message,
    file_refusal,
    import_file_discard,
    import_file_inspect,
    parse_memory_bytes,
)
from .orm_writer import OrmWriter
from .plan import ColumnPlan, mapping_clean
from .set_writer import SetWriter
from .writer import ChunkWriter, Rows, _Superseded, chunk_rows, chunk_write

logger = logging.getLogger(__name__)

STALLED_AFTER = timedelta(minutes=20)


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
    list_by_default: bool = False,
) -> ImportJob:
    """Records an import and its consent attestation, then starts it in the background after commit.

    ``list_by_default`` (the wizard): without a list chosen or named, the contacts go to a new list named
    after the file, so that the next step ("write a campaign for these contacts") can target them.

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
        if contact_list is None and not list_name.strip() and list_by_default:
            list_name = default_list_name(original_filename)
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


def default_list_name(filename: str) -> str:
    """The list an import fills when none was chosen: "Import caisse.csv of 03/12/2026"."""
    today = formats.date_format(timezone.localdate(), "SHORT_DATE_FORMAT")
    name = _("Import %(file)s of %(date)s") % {"file": (filename or "import.csv")[:60], "date": today}
    return name[:100]


def import_job_dispatch(job: ImportJob) -> None:
    """Queues the job's task once the transaction that created or re-queued it has committed."""
    job_id = job.pk
    transaction.on_commit(lambda: enqueue.enqueue_import_job(job_id))


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

    writer = _writer()
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
            chunks: Iterator[Rows] = iter(lambda: list(islice(stream, size)), [])
            for chunk in writer.ready(job, plan, chunks):
                chunk_write(job, writer, chunk, rejected)
        finally:
            rejected.close()
    _refresh_planner_statistics()
    _finish(job, ImportStatus.DONE, "")


def _set_based() -> bool:
    return connection.vendor == "postgresql" and settings.IMPORT_SET_BASED


def _writer() -> ChunkWriter:
    """The job's import path, chosen once: set-based statements on PostgreSQL, model instances elsewhere."""
    if _set_based():
        return SetWriter(nested=connection.in_atomic_block)
    return OrmWriter()


def _refresh_planner_statistics() -> None:
    """A large import changes the contact tables faster than autovacuum notices; a campaign launched
    right after it would be planned on stale statistics (measured: a quadratic audience plan, 311 s for
    2,000 recipients). ANALYZE of the tables the import writes costs a fraction of a second."""
    if connection.vendor != "postgresql":
        return
    tables = ("contacts_contact", "contacts_listmembership", "contacts_contacttag", "contacts_consentproof")
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE {table}")  # noqa: S608 - fixed table names


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
        # A fresh heartbeat: the stalled-job check waits a full STALLED_AFTER before queuing it again.
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportStatus.QUEUED, error_message="", finished_at=None, heartbeat_at=timezone.now()
        )
        job.status, job.error_message, job.finished_at = ImportStatus.QUEUED, "", None
        audit_record(
            org=org, actor=actor, action="import.resumed", target=job, data={"from_row": job.processed_rows}
        )
        import_job_dispatch(job)
    return job


def import_jobs_requeue_stalled() -> dict[str, int]:
    """Re-queues jobs whose worker died (no heartbeat for ``STALLED_AFTER``), and queued jobs whose task
    never ran (a broker emptied by a restart, a task name changed by an upgrade); for the beat schedule.
    The broker redelivers most of them already (late acks); this catches the rest. A job queued twice is
    harmless: its chunks are claimed against the checkpoint, a finished job is left alone."""
    limit = timezone.now() - STALLED_AFTER
    lost = Q(status__in=[ImportStatus.RUNNING, ImportStatus.QUEUED], heartbeat_at__lt=limit) | Q(
        status=ImportStatus.QUEUED, heartbeat_at__isnull=True, created_at__lt=limit
    )
    stalled = list(ImportJob.objects.filter(lost).values_list("pk", flat=True)[:100])
    for pk in stalled:
        ImportJob.objects.filter(pk=pk).update(heartbeat_at=timezone.now())
        enqueue.enqueue_import_job(pk)
    return {"requeued": len(stalled)}
