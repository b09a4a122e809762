"""The set-based import path (PostgreSQL): a chunk cleaned by :mod:`contacts.jobs.parallel` is written by
a few set-based statements on a staging table, never as model instances.

Per chunk: COPY into the staging table; one DELETE that takes the suppressed numbers out; one
``INSERT ... ON CONFLICT DO UPDATE`` that creates the new contacts, merges the existing ones (empty cells
never erase, attributes merged, consent never weakened), skips the numbers this job already wrote
(duplicates of an earlier chunk), and records a consent proof and the list membership of each imported
contact; one INSERT for the tags.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import services
from ..models import BASIS_STRENGTH, ConsentSource, ImportJob
from .parallel import STAGE_COLUMNS, TAG_SEPARATOR, PreparedChunk, _prepared_chunks
from .plan import MERGE_FIELDS, ColumnPlan
from .rejected import DUPLICATE, OPTED_OUT, rejected_line
from .writer import ChunkCounts, Rows, chunk_rows

STAGE_TEXT = tuple(c for c in STAGE_COLUMNS if c not in ("idx", "birth_date", "attributes"))

_STRENGTH_SQL = "(CASE {col} WHEN 'opt_in' THEN 3 WHEN 'soft_opt_in' THEN 2 WHEN 'none' THEN 1 ELSE 0 END)"


class SetWriter:
    """The :class:`~contacts.jobs.writer.ChunkWriter` of PostgreSQL. ``nested``: the job runs inside a
    transaction of its caller (a test), so the staging table's ``ON COMMIT DELETE ROWS`` never fires
    between chunks and its rows are deleted by hand."""

    def __init__(self, *, nested: bool) -> None:
        self.nested = nested

    def ready(self, job: ImportJob, plan: ColumnPlan, chunks: Iterator[Rows]) -> Iterator[PreparedChunk]:
        remaining = max(job.total_rows - job.processed_rows, 0)
        return _prepared_chunks(job, plan, chunks, parallel=remaining > chunk_rows())

    def write(self, job: ImportJob, prepared: PreparedChunk) -> ChunkCounts:
        counts = ChunkCounts(
            rows=prepared.rows,
            invalid=prepared.invalid,
            duplicates=prepared.duplicates,
            rejected=[prepared.rejected],
        )
        if not prepared.staged:
            return counts
        now = timezone.now()
        cells = prepared.cells or []
        with connection.cursor() as cursor:
            # A lost commit after a server crash only rewinds the checkpoint with the data (they are
            # in the same transaction, and the rejected file is cut back to the checkpoint): no need
            # to wait for the WAL flush of every chunk. The job's final report commits normally.
            cursor.execute("SET LOCAL synchronous_commit TO off")
            _stage(cursor, prepared)
            _suppress(cursor, job.org_id, cells, counts, now)
            if prepared.staged > counts.suppressed:
                _import(cursor, job, prepared, cells, counts, now)
            if self.nested:
                cursor.execute("DELETE FROM import_stage")
        return counts


def _stage(cursor, prepared: PreparedChunk) -> None:
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


def _suppress(cursor, org_id: int, cells: list[list[str]], counts: ChunkCounts, now) -> None:
    """Takes the suppressed numbers out of the staging table (rejected), and flags their contacts."""
    cursor.execute(
        "DELETE FROM import_stage s USING compliance_suppression sp "
        "WHERE sp.org_id = %s AND sp.phone_hash = s.phone_hash RETURNING s.idx, s.phone",
        [org_id],
    )
    suppressed = cursor.fetchall()
    if not suppressed:
        return
    for idx, _phone in sorted(suppressed):
        counts.rejected.append(rejected_line(cells[idx], OPTED_OUT, OPTED_OUT))
    counts.suppressed = len(suppressed)
    cursor.execute(
        "UPDATE contacts_contact SET opted_out = true, updated_at = %s "
        "WHERE org_id = %s AND phone = ANY(%s) AND NOT opted_out",
        [now, org_id, [phone for _idx, phone in suppressed]],
    )


def _import(
    cursor, job: ImportJob, prepared: PreparedChunk, cells: list[list[str]], counts: ChunkCounts, now
) -> None:
    """Writes the staged numbers left: contacts, consent proofs, list membership, then tags."""
    org_id = job.org_id
    counts.created, counts.imported, again, recontext = _upsert(cursor, job, org_id, now)
    if again:
        for idx in sorted(again):
            counts.rejected.append(rejected_line(cells[idx], DUPLICATE, DUPLICATE))
        counts.duplicates += len(again)
    for cid, phone, postal in recontext or ():
        region, tz, calendar = services.recipient_context_tuple(phone, postal)
        cursor.execute(
            "UPDATE contacts_contact SET region = %s, timezone = %s, calendar = %s "
            "WHERE org_id = %s AND id = %s",
            [region, tz, calendar, org_id, cid],
        )
    if prepared.tags or job.tags:
        _tag(cursor, job, org_id, prepared.tags)


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
    # Every name below is a constant of this package; the values are parameters.
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
