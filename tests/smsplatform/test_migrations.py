"""Migrations on the zero-setup default, SQLite: what `make run` applies on a fresh machine. CI's suite
runs on PostgreSQL, so this is the only place where SQLite's way of altering a table (rebuild it) meets
the analytics triggers, which such a rebuild would drop or break."""

from __future__ import annotations

import sqlite3

from .test_settings import run_manage

TRIGGERS = {"analytics_msgcount_ins", "analytics_msgcount_upd", "analytics_msgcount_del"}


def test_fresh_sqlite_database_migrates_forwards_and_back_keeping_the_counter_triggers(tmp_path):
    database = tmp_path / "fresh.sqlite3"
    env = {"DATABASE_URL": f"sqlite:///{database}", "REDIS_URL": "", "CELERY_BROKER_URL": ""}

    def triggers() -> set[str]:
        with sqlite3.connect(database) as db:
            rows = db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'campaigns_message'"
            )
            return {name for (name,) in rows}

    result = run_manage("migrate", "--noinput", **env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert triggers() == TRIGGERS
    back = run_manage("migrate", "campaigns", "0002", "--noinput", **env)
    assert back.returncode == 0, back.stderr[-3000:]
    again = run_manage("migrate", "--noinput", **env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert triggers() == TRIGGERS
    check = run_manage("makemigrations", "--check", "--dry-run", **env)
    assert check.returncode == 0, check.stdout + check.stderr
