"""The portable import path (SQLite): model instances, ``bulk_create`` and ``bulk_update``.

Per chunk it loads the existing numbers and the suppressions with one query each, bulk-inserts the new
contacts, bulk-updates the existing ones (tags merged, empty cells never erase data), never re-subscribes
an opted-out number, and records a consent proof per imported row referencing the job.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext as _

from compliance.selectors import suppressed_numbers
from smsplatform.bulk import bulk_insert
from smsplatform.models import Organisation

from .. import services
from ..models import ConsentProof, ConsentSource, Contact, ContactTag, ImportJob, ListMembership
from .plan import MERGE_FIELDS, ColumnPlan, RowOutcome, _clean
from .rejected import DUPLICATE, INVALID, OPTED_OUT, rejected_line
from .writer import ChunkCounts, Rows

UPDATE_FIELDS = (
    *MERGE_FIELDS, "attributes", "region", "timezone", "calendar", "consent_basis", "consent_source",
    "consent_collected_at", "last_import_id", "updated_at",
)  # fmt: skip


@dataclass
class CleanChunk:
    """A chunk cleaned in memory: its distinct valid numbers (first row of each) and what it rejected."""

    rows: int
    unique: dict[str, RowOutcome]
    invalid: Counter
    duplicates: int
    rejected: list[bytes]


@dataclass
class _Changes:
    """What a chunk does to the contacts table."""

    create: list[Contact] = field(default_factory=list)
    update: list[Contact] = field(default_factory=list)
    touched: list[int] = field(default_factory=list)  # existing contacts the row left as they were
    opt_out: list[int] = field(default_factory=list)  # contacts whose flag lags behind the suppression list
    imported: list[RowOutcome] = field(default_factory=list)


class OrmWriter:
    """The :class:`~contacts.jobs.writer.ChunkWriter` of the portable path."""

    def ready(self, job: ImportJob, plan: ColumnPlan, chunks: Iterator[Rows]) -> Iterator[CleanChunk]:
        for chunk in chunks:
            yield _clean_chunk(job, plan, chunk)

    def write(self, job: ImportJob, chunk: CleanChunk) -> ChunkCounts:
        org = job.org
        now = timezone.now()
        counts = ChunkCounts(
            rows=chunk.rows, invalid=dict(chunk.invalid), duplicates=chunk.duplicates, rejected=chunk.rejected
        )
        phones = list(chunk.unique)
        suppressed = suppressed_numbers(org, phones)
        existing = _existing(org, phones)
        changes = _changes(job, chunk.unique, suppressed, existing, counts, now)
        ids = _apply(org, job, changes, existing, now)
        counts.created = sum(1 for c in changes.create if c.phone in ids)
        counts.imported = len(changes.imported)
        _link(job, changes.imported, ids, now)
        return counts


def _clean_chunk(job: ImportJob, plan: ColumnPlan, chunk: Rows) -> CleanChunk:
    outcomes = [_clean(plan, number, cells, job.default_region) for number, cells in chunk]
    invalid = Counter()
    rejected_lines: list[bytes] = []
    unique: dict[str, RowOutcome] = {}
    duplicates = 0
    for row in outcomes:
        if row.error:
            if row.error == "blank":
                continue
            invalid[row.error] += 1
            rejected_lines.append(rejected_line(row.cells, INVALID, row.error))
        elif row.phone in unique:
            duplicates += 1
            rejected_lines.append(rejected_line(row.cells, DUPLICATE, DUPLICATE))
        else:
            unique[row.phone] = row
    return CleanChunk(len(chunk), unique, invalid, duplicates, rejected_lines)


def _existing(org: Organisation, phones: list[str]) -> dict[str, Contact]:
    return {
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


def _changes(
    job: ImportJob,
    unique: dict[str, RowOutcome],
    suppressed: set[str],
    existing: dict[str, Contact],
    counts: ChunkCounts,
    now,
) -> _Changes:
    """Sorts the chunk's numbers: suppressed (rejected), already written by this job (duplicates), new,
    or existing contacts to merge the row into."""
    contexts = services.ContextCache()
    changes = _Changes()
    for phone, row in unique.items():
        contact = existing.get(phone)
        if phone in suppressed:
            counts.suppressed += 1
            counts.rejected.append(rejected_line(row.cells, OPTED_OUT, OPTED_OUT))
            if contact is not None and not contact.opted_out:
                changes.opt_out.append(contact.pk)
            continue
        if contact is not None and contact.last_import_id == job.pk:
            counts.duplicates += 1
            counts.rejected.append(rejected_line(row.cells, DUPLICATE, DUPLICATE))
            continue
        changes.imported.append(row)
        values = row.values or {}
        if contact is None:
            changes.create.append(_new_contact(job, row, values, contexts, now))
        elif _merge(contact, values, row.attributes, job, contexts, now):
            changes.update.append(contact)
        else:
            changes.touched.append(contact.pk)
    return changes


def _new_contact(job: ImportJob, row: RowOutcome, values: dict, contexts, now) -> Contact:
    fields = {k: values[k] for k in MERGE_FIELDS if k in values}
    region, tz, calendar = contexts.get(row.phone, fields.get("postal_code", ""))
    return Contact(
        org=job.org,
        phone=row.phone,
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


def _apply(
    org: Organisation, job: ImportJob, changes: _Changes, existing: dict[str, Contact], now
) -> dict[str, int]:
    """Writes the changes; returns the contact id of each imported number."""
    if changes.create:
        bulk_insert(Contact, changes.create, skip_conflicts=True)
    if changes.update:
        Contact.objects.bulk_update(changes.update, UPDATE_FIELDS, batch_size=500)
    if changes.touched:
        Contact.objects.filter(org=org, pk__in=changes.touched).update(last_import_id=job.pk, updated_at=now)
    if changes.opt_out:
        Contact.objects.filter(org=org, pk__in=changes.opt_out).update(opted_out=True, updated_at=now)

    ids = {c.phone: c.pk for c in changes.update}
    touched_ids = set(changes.touched)
    ids.update((c.phone, c.pk) for c in existing.values() if c.pk in touched_ids)
    new_phones = [c.phone for c in changes.create]
    if new_phones:
        ids.update(Contact.objects.filter(org=org, phone__in=new_phones).values_list("phone", "id"))
    return ids


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
