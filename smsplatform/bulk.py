"""Bulk writes with PostgreSQL's COPY, for the two places that write rows by the hundred thousand: a
contact import and a campaign launch; and per-row updates in one statement, for the sending pipeline.

The ORM's multi-row INSERT prepares every value through its field (``get_db_prep_save``) and builds one
placeholder per value: for a campaign of 100,000 recipients that preparation alone took 13 s of a 23 s
launch. COPY takes one text stream instead; values are formatted here once, constants once per call.

Per-row updates (:func:`rows_update`) and transaction-scoped locks (:func:`transaction_lock`) go
through a backend chosen once per database vendor: callers never test the vendor themselves.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import connection
from django.db.models import Case, F, JSONField, Value, When
from django.db.models.functions import Coalesce

# COPY's text format: tab-separated, ``\N`` for NULL, and these four characters escaped inside values.
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
NULL = "\\N"


def copy_text(value: Any) -> str:
    """One value in COPY's text format."""
    if value is None:
        return NULL
    if isinstance(value, str):
        return value.translate(_ESCAPES)
    if isinstance(value, bool):  # before int: a bool is an int
        return "t" if value else "f"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False).translate(_ESCAPES)
    return str(value).translate(_ESCAPES)


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(connection.ops.quote_name(name) for name in names)


def copy_rows(
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    constants: Mapping[str, Any] | None = None,
    skip_conflicts: bool = False,
) -> None:
    """Inserts ``rows`` (one value per name in ``columns``) into ``table`` on PostgreSQL, in the caller's
    transaction. ``constants`` are columns with the same value on every row, formatted once.

    ``skip_conflicts`` goes through a temporary table and ``INSERT ... SELECT ... ON CONFLICT DO
    NOTHING`` (COPY alone cannot skip a row that breaks a unique constraint); without it, rows go
    straight into the table and a conflict aborts the statement. Table and column names come from model
    metadata, never from input; values travel in the COPY stream, never in the SQL.
    """
    constants = dict(constants or {})
    names = [*columns, *constants]
    suffix = "".join("\t" + copy_text(value) for value in constants.values()) + "\n"
    buffer = io.StringIO()
    write = buffer.write
    for row in rows:
        write("\t".join([copy_text(value) for value in row]) + suffix)
    buffer.seek(0)
    target = connection.ops.quote_name(table)
    # The raw cursor's COPY bypasses Django's error translation: restore it, so that callers catch
    # django.db.IntegrityError as for any other write.
    with connection.cursor() as cursor, connection.wrap_database_errors:
        if not skip_conflicts:
            cursor.cursor.copy_expert(f"COPY {target} ({_quoted(names)}) FROM STDIN", buffer)
            return
        stage = connection.ops.quote_name(f"tmp_{table}")
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {target}) ON COMMIT DELETE ROWS")
        cursor.execute(f"ALTER TABLE {stage} ALTER COLUMN id DROP NOT NULL")
        cursor.cursor.copy_expert(f"COPY {stage} ({_quoted(names)}) FROM STDIN", buffer)
        cursor.execute(
            f"INSERT INTO {target} ({_quoted(names)}) SELECT {_quoted(names)} FROM {stage} "  # noqa: S608
            "ON CONFLICT DO NOTHING"
        )
        cursor.execute(f"TRUNCATE {stage}")


def bulk_insert(model, objs: list, *, skip_conflicts: bool = False) -> None:
    """Inserts model instances: COPY on PostgreSQL (see :func:`copy_rows`), ``bulk_create`` elsewhere.
    With ``skip_conflicts``, a row that breaks a unique constraint (created meanwhile by someone else)
    is skipped, never duplicated."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs, batch_size=1000, ignore_conflicts=skip_conflicts)
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    copy_rows(
        model._meta.db_table,
        [f.column for f in fields],
        ([getattr(obj, f.attname) for f in fields] for obj in objs),
        skip_conflicts=skip_conflicts,
    )


#: Autovacuum's default ``autovacuum_analyze_scale_factor``: the share of a table that must change
#: before its statistics are refreshed.
ANALYZE_SHARE = 0.1
#: Below this many rows a write cannot mislead the planner enough to matter.
ANALYZE_MIN_ROWS = 10_000


def analyze_if_grown(table: str, written: int) -> bool:
    """Refreshes the planner's statistics of ``table`` at once after a bulk write of ``written`` rows
    that changed it by at least :data:`ANALYZE_SHARE`, as autovacuum would, but only a minute later.

    Why it matters: right after a 100,000-recipient launch the statistics still describe the table
    before it; the planner then reads a batch of 1,000 messages by scanning the organisation's whole
    index (98 ms instead of 3 ms) and the frequency-cap count the same way (108 ms instead of 1 ms),
    for every batch of the campaign. Call it outside a transaction (after commit): ANALYZE then holds
    its lock only for the fraction of a second it takes. Returns whether it ran."""
    if connection.vendor != "postgresql" or written < ANALYZE_MIN_ROWS:
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
        row = cursor.fetchone()
        estimated = row[0] if row else -1
        if 0 <= estimated and written < ANALYZE_SHARE * estimated:
            return False
        cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
    return True


# --- per-row updates --------------------------------------------------------------------------------


@dataclass(frozen=True)
class IfNull:
    """An assignment that keeps the column's value and sets ``value`` only where it is NULL."""

    value: Any


@dataclass(frozen=True)
class WhenIn:
    """An assignment that sets ``value`` where the column holds one of ``current`` and keeps it otherwise
    (a state that moved on meanwhile, say a receipt that arrived first, is not overwritten)."""

    current: tuple
    value: Any


@dataclass(frozen=True)
class RowsUpdate:
    """What :func:`rows_update` was asked, handed as is to the backend of the database."""

    model: Any
    rows: Sequence[Sequence[Any]]
    fields: Sequence[str]
    assign: Mapping[str, Any]
    where: Mapping[str, Any]


class PortableBulk:
    """Any database: per-row values as ``CASE WHEN pk = .. THEN ..`` in one ORM ``update()``; no locks,
    since the databases it serves (SQLite) let one writer at a time anyway."""

    def rows_update(self, update: RowsUpdate) -> int:
        meta, rows = update.model._meta, update.rows
        updates: dict[str, Any] = {}
        for index, name in enumerate(update.fields, start=1):
            field = meta.get_field(name)
            whens = [When(pk=row[0], then=Value(row[index], output_field=field)) for row in rows]
            updates[name] = Case(*whens, default=None, output_field=field)
        for name, value in update.assign.items():
            updates[name] = self._assignment(meta.get_field(name), value)
        return update.model.objects.filter(pk__in=[row[0] for row in rows], **update.where).update(**updates)

    @staticmethod
    def _assignment(field, value: Any) -> Any:
        if isinstance(value, IfNull):
            return Coalesce(F(field.name), Value(value.value, output_field=field))
        if isinstance(value, WhenIn):
            return Case(
                When(**{f"{field.name}__in": value.current}, then=Value(value.value)),
                default=F(field.name),
                output_field=field,
            )
        return value

    def transaction_lock(self, space: int, key: int) -> None:
        return None


class PostgresBulk:
    """PostgreSQL: ``UPDATE t AS m SET ... FROM (VALUES (pk, ...), ...) AS v WHERE m.pk = v.pk``, per-row
    values in a single statement and a hash join on the database's side.

    It replaces the ``CASE`` of one branch per row, which costs the ORM a resolved ``Q`` per branch
    (most of a pipeline batch's time at 500 rows) and the database a scan of the branches for every row.
    Table and column names come from model metadata; every value is a parameter."""

    def rows_update(self, update: RowsUpdate) -> int:
        meta, rows = update.model._meta, update.rows
        quote = connection.ops.quote_name
        targets = [meta.pk, *(meta.get_field(name) for name in update.fields)]
        row_sql = "(" + ", ".join(f"%s::{_sql_type(field)}" for field in targets) + ")"
        names = ", ".join(quote(field.column) for field in targets)
        sets = [f"{quote(field.column)} = v.{quote(field.column)}" for field in targets[1:]]
        set_params: list[Any] = []
        for name, value in update.assign.items():
            sql, params = self._assignment_sql(quote(meta.get_field(name).column), value)
            sets.append(sql)
            set_params += params
        pk = quote(meta.pk.column)
        sql = (
            f"UPDATE {quote(meta.db_table)} AS m SET {', '.join(sets)} "  # noqa: S608 - names and placeholders
            f"FROM (VALUES {', '.join([row_sql] * len(rows))}) AS v({names}) WHERE m.{pk} = v.{pk}"
        )
        conditions, where_params = self._where_sql(meta, update.where)
        sql += "".join(f" AND ({condition})" for condition in conditions)
        json_at = [i for i, field in enumerate(targets) if isinstance(field, JSONField)]
        if json_at:
            rows = [[json.dumps(v) if i in json_at else v for i, v in enumerate(row)] for row in rows]
        with connection.cursor() as cursor:
            cursor.execute(sql, [*set_params, *(value for row in rows for value in row), *where_params])
            return cursor.rowcount

    @staticmethod
    def _assignment_sql(column: str, value: Any) -> tuple[str, list[Any]]:
        if isinstance(value, IfNull):
            return f"{column} = COALESCE(m.{column}, %s)", [value.value]
        if isinstance(value, WhenIn):
            placeholders = ", ".join(["%s"] * len(value.current))
            sql = f"{column} = CASE WHEN m.{column} IN ({placeholders}) THEN %s ELSE m.{column} END"
            return sql, [*value.current, value.value]
        return f"{column} = %s", [value]

    @staticmethod
    def _where_sql(meta, where: Mapping[str, Any]) -> tuple[list[str], list[Any]]:
        conditions: list[str] = []
        params: list[Any] = []
        for lookup, value in where.items():
            name, _, operator = lookup.partition("__")
            column = "m." + connection.ops.quote_name(meta.get_field(name).column)
            if operator == "in":
                conditions.append(f"{column} IN ({', '.join(['%s'] * len(value))})")
                params += list(value)
            elif not operator:
                conditions.append(f"{column} = %s")
                params.append(value)
            else:
                raise ValueError(f"rows_update supports only = and __in conditions, not {lookup!r}")
        return conditions, params

    def transaction_lock(self, space: int, key: int) -> None:
        with connection.cursor() as cursor:
            # Two int4 keys; a key beyond them shares a lock with another one: harmless, just slower.
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [space, key % 2**31])


_PORTABLE = PortableBulk()
_BACKENDS: dict[str, PortableBulk | PostgresBulk] = {"postgresql": PostgresBulk()}


def _backend() -> PortableBulk | PostgresBulk:
    return _BACKENDS.get(connection.vendor, _PORTABLE)


def _sql_type(field) -> str:
    """The type a VALUES parameter is cast to: the column's, without a length (a ``varchar(64)`` cast
    would silently cut a longer value instead of letting the column refuse it)."""
    return re.sub(r"\(.*\)", "", field.db_type(connection))


def rows_update(
    model,
    rows: Sequence[Sequence[Any]],
    fields: Sequence[str],
    *,
    assign: Mapping[str, Any] | None = None,
    where: Mapping[str, Any] | None = None,
) -> int:
    """Updates many rows of ``model`` with per-row values in one statement; returns the rows changed.

    ``rows`` are ``(pk, value, ...)`` tuples, one value per name in ``fields``. ``assign`` sets columns
    to the same value on every row: a plain value, :class:`IfNull` or :class:`WhenIn`. ``where`` adds
    conditions on the rows' current values, as ``{"field": value}`` or ``{"field__in": values}``."""
    if not rows:
        return 0
    return _backend().rows_update(RowsUpdate(model, rows, fields, assign or {}, where or {}))


def transaction_lock(space: int, key: int) -> None:
    """Holds the lock ``(space, key)`` until the current transaction ends, waiting for whoever holds it:
    an advisory lock on PostgreSQL; nothing on databases that run one writer at a time."""
    _backend().transaction_lock(space, key)
