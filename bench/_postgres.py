"""A benchmark's own PostgreSQL database, on the server of ``DATABASE_URL``: created when missing, kept
between runs, and Django set up on it. Imported first by the benchmarks that generate large data sets,
so that they never write into the database the tests or the product use."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]


def use_database(name: str, script: str) -> str:
    """Points Django at the database ``name`` (created when missing) and sets Django up; returns its URL.
    ``script`` names the benchmark in the message shown when ``DATABASE_URL`` is not PostgreSQL."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsplatform.settings")
    base = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/"
    parts = urlsplit(base)
    if not parts.scheme.startswith("postgres"):
        sys.exit(f"{script} needs PostgreSQL: set DATABASE_URL=postgres://user@host:port/any")
    url = urlunsplit(parts._replace(path=f"/{name}"))
    ensure_database(url, name)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", f"{name}-not-secret")

    import django

    django.setup()
    return url


def ensure_database(url: str, name: str) -> None:
    import psycopg2

    admin = psycopg2.connect(urlunsplit(urlsplit(url)._replace(path="/postgres")))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def insert_select(model, overrides: dict[str, str], source: str) -> None:
    """``INSERT INTO <table> SELECT ... FROM <source>``: every column is either an SQL expression from
    ``overrides`` or the field's default as a literal (data generated in the server, in seconds)."""
    import json

    from django.db import connection, models

    columns, exprs, values = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        column = field.column
        columns.append(f'"{column}"')
        if column in overrides:
            exprs.append(overrides[column].replace("%", "%%"))  # literal modulo, not a parameter
            continue
        default = field.get_default()
        if isinstance(field, models.JSONField):
            default = json.dumps(default)
        exprs.append("%s")
        values.append(default)
    sql = (
        f'INSERT INTO "{model._meta.db_table}" ({", ".join(columns)}) '
        f"SELECT {', '.join(exprs)} FROM {source.replace('%', '%%')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)


def vacuum_analyze() -> float:
    """VACUUM ANALYZE after generating data (outside a transaction, as PostgreSQL requires); seconds."""
    import time

    from django.db import connection

    started = time.perf_counter()
    autocommit = connection.get_autocommit()
    connection.set_autocommit(True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    connection.set_autocommit(autocommit)
    return time.perf_counter() - started
