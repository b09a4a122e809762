"""The cleaning of the set-based path, in forked parse workers.

A chunk is cleaned into one COPY payload (one CSV line per distinct valid number, with its suppression
hash and recipient context) plus its rejected rows; :mod:`contacts.jobs.set_writer` then writes it with a
few set-based statements. Cleaning is the CPU-bound part: for a file of more than one chunk it runs in
``IMPORT_PARSE_PROCESSES`` forked processes (default 2), a few chunks ahead of the main process, which
reads the file and writes to the database. Workers never touch the database; the chunks are written in
file order, each with its checkpoint. ``prepare_chunk`` and ``_PrepareParams`` are what a worker receives
by pickle: they stay at module level.
"""

from __future__ import annotations

import csv
import hmac
import io
import json
import logging
import multiprocessing
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.utils import translation

from compliance.models import _hash_key

from .. import services
from ..importing import rows as rowmod
from ..importing.csvsafe import spreadsheet_cell
from ..models import Contact, ImportJob
from .plan import ColumnPlan
from .rejected import DUPLICATE, INVALID
from .writer import Rows

logger = logging.getLogger(__name__)

STAGE_COLUMNS = (
    "idx", "phone", "phone_hash", "first_name", "last_name", "email", "gender", "birth_date", "postal_code",
    "city", "attributes", "tags", "region", "timezone", "calendar",
)  # fmt: skip
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


def parse_processes() -> int:
    return max(0, settings.IMPORT_PARSE_PROCESSES)


def _params(job: ImportJob, plan: ColumnPlan) -> _PrepareParams:
    return _PrepareParams(
        fields=tuple(plan.fields),
        attributes=tuple(plan.attributes),
        region=job.default_region,
        language=translation.get_language() or settings.LANGUAGE_CODE,
    )


def _prepare_local(job: ImportJob, plan: ColumnPlan, chunk: Rows) -> PreparedChunk:
    prepared = prepare_chunk(_params(job, plan), [cells for _n, cells in chunk])
    prepared.cells = [cells for _n, cells in chunk]
    return prepared


def _prepared_chunks(
    job: ImportJob, plan: ColumnPlan, chunks: Iterator[Rows], *, parallel: bool
) -> Iterator[PreparedChunk]:
    """The chunks of the file, cleaned, in order: by a pool of forked workers when the file has more than
    one chunk left (at most ``IN_FLIGHT`` chunks ahead, so memory stays bounded), else in this process."""
    processes = parse_processes() if parallel else 0
    pool = None
    if processes:
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
    if translation.get_language() != params.language:
        translation.activate(params.language)
    buffer = io.StringIO()
    rejected = io.StringIO()
    invalid: Counter = Counter()
    tag_names: dict[str, str] = {}
    staged, duplicates = _stage_rows(params, chunk, buffer, rejected, invalid, tag_names)
    return PreparedChunk(
        rows=len(chunk),
        staged=staged,
        copy=buffer.getvalue(),
        rejected=rejected.getvalue().encode("utf-8"),
        invalid=dict(invalid),
        duplicates=duplicates,
        tags=list(tag_names.values()),
    )


def _stage_rows(
    params: _PrepareParams,
    chunk: list[list[str]],
    buffer: io.StringIO,
    rejected: io.StringIO,
    invalid: Counter,
    tag_names: dict[str, str],
) -> tuple[int, int]:
    """The hot loop of :func:`prepare_chunk` (a million rows per file): everything it calls per row is
    bound to a local name first. Returns (staged rows, duplicates)."""
    clean_row, row_error = rowmod.clean_row, rowmod.RowError
    key, digest = _hash_key(settings.SECRET_KEY), hmac.digest
    contexts, limits = _worker_contexts(), _limits()
    region, fields, attributes = params.region, params.fields, params.attributes
    write = csv.writer(buffer, lineterminator="\n").writerow
    reject = csv.writer(rejected, delimiter=";", lineterminator="\r\n").writerow
    seen: set[str] = set()
    duplicates = staged = 0
    for idx, cells in enumerate(chunk):
        mapped = {name: cells[i] for i, name in fields}
        result = clean_row(mapped, region)
        if type(result) is row_error:
            if not any(c.strip() for c in cells):
                continue  # a blank row says nothing
            code = result.reason
            invalid[code] += 1
            reject([*map(spreadsheet_cell, cells), code, INVALID])
            continue
        phone = result.phone_e164
        if phone in seen:
            duplicates += 1
            reject([*map(spreadsheet_cell, cells), DUPLICATE, DUPLICATE])
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
    return staged, duplicates


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
