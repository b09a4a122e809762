"""One chunk, one transaction: the interface of the two import paths and the checkpoint they share.

A job streams its file in chunks of ``IMPORT_CHUNK_ROWS`` rows. Whichever path writes the rows, a chunk
commits together with the job's counters and checkpoint (``processed_rows``, ``rejected_bytes``): a job
killed half-way resumes after its last committed chunk, and a chunk is never written twice.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any, Protocol

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..models import ImportJob, ImportStatus
from .plan import ColumnPlan

Rows = list[tuple[int, list[str]]]  # a chunk as the reader gives it: (row number, cells)


def chunk_rows() -> int:
    return settings.IMPORT_CHUNK_ROWS


class _Superseded(Exception):
    """Another worker advanced this job (a redelivered task): this one stops without writing."""


@dataclass
class ChunkCounts:
    """What writing a chunk did: the job's counters to add, and the chunk's lines of the rejected-rows
    file, in the order they are written."""

    rows: int
    invalid: dict[str, int]
    duplicates: int
    rejected: list[bytes]
    created: int = 0
    imported: int = 0
    suppressed: int = 0


class ChunkWriter(Protocol):
    """An import path, chosen once per job. ``ready`` turns the file's chunks into what ``write`` takes:
    the cleaning, CPU-bound, runs there, outside any transaction. ``write`` writes one chunk inside the
    chunk's transaction, once the job is claimed, and returns its counts for the checkpoint."""

    def ready(self, job: ImportJob, plan: ColumnPlan, chunks: Iterator[Rows]) -> Iterator[Any]: ...

    def write(self, job: ImportJob, chunk: Any) -> ChunkCounts: ...


def chunk_write(job: ImportJob, writer: ChunkWriter, chunk: Any, rejected: IO[bytes]) -> None:
    """Writes one chunk and its checkpoint in one transaction."""
    with transaction.atomic():
        _claim(job)
        counts = writer.write(job, chunk)
        _checkpoint(job, counts, rejected)


def _claim(job: ImportJob) -> None:
    """Locks the job's row; raises _Superseded when another worker committed a chunk since we read it."""
    locked = (
        ImportJob.objects.select_for_update().filter(pk=job.pk).values("processed_rows", "status").first()
    )
    if (
        locked is None
        or locked["processed_rows"] != job.processed_rows
        or locked["status"] != ImportStatus.RUNNING
    ):
        raise _Superseded


def _checkpoint(job: ImportJob, counts: ChunkCounts, rejected: IO[bytes]) -> None:
    # The rejected lines reach the disk before the checkpoint that counts them commits: a resumed job cuts
    # the file back to ``rejected_bytes``, so it never keeps a line of an uncommitted chunk.
    rejected.write(b"".join(counts.rejected))
    rejected.flush()
    os.fsync(rejected.fileno())
    merged_invalid = dict(job.invalid_by_reason)
    for code, n in counts.invalid.items():
        merged_invalid[code] = merged_invalid.get(code, 0) + n
    job.processed_rows += counts.rows
    job.created += counts.created
    job.updated += counts.imported - counts.created
    job.invalid += sum(counts.invalid.values())
    job.duplicates += counts.duplicates
    job.suppressed += counts.suppressed
    job.invalid_by_reason = merged_invalid
    job.rejected_bytes = rejected.tell()
    job.heartbeat_at = timezone.now()
    job.save(
        update_fields=[
            "processed_rows", "created", "updated", "invalid", "duplicates", "suppressed",
            "invalid_by_reason", "rejected_bytes", "heartbeat_at",
        ]
    )  # fmt: skip
