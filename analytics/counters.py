"""Message counters and opt-out attribution kept by the database itself, with triggers.

Why triggers rather than a call in every service: message rows change in many places (the launch, the
gate's outcomes, the claim, the gateway's answers, receipts, cancellation, reconciliation), mostly through
bulk ``UPDATE`` statements. A trigger sees every one of them, so the counters cannot drift from the rows,
and no worker ever updates a shared counter row: each statement inserts its own small delta rows
(PostgreSQL: one statement-level trigger with transition tables, so a batch UPDATE of 1,000 messages adds
a handful of rows; SQLite, the development default: row-level triggers).

The key of a count: organisation, campaign (null for standalone messages), status, reason (the gate's
code for a blocked or deferred message) and the UTC hour the message left or was delivered.

Opt-outs: a trigger on the inbound messages attributes each STOP (or near miss) as it is recorded to the
campaign whose message the number received last within ``ATTRIBUTION_DAYS`` (one indexed lookup per
reply), so a report counts attributed rows instead of redoing that lookup for thousands of replies.
"""

# ruff: noqa: S608 - every statement is built from constants of this module, never from input

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

COUNT_TABLE = "analytics_messagecount"
MESSAGE_TABLE = "campaigns_message"
INBOUND_TABLE = "campaigns_inboundmessage"
OPT_OUT_TABLE = "analytics_optout"
TRIGGER_NAMES = ("analytics_msgcount_ins", "analytics_msgcount_upd", "analytics_msgcount_del")
PG_FUNCTION = "analytics_msgcount_delta"
PG_OPT_OUT_FUNCTION = "analytics_optout_attribute"
# The attribution window of opt-outs (product rule: the campaign received last within 7 days).
ATTRIBUTION_DAYS = 7
OPT_OUT_KINDS_SQL = "('opt_out', 'near_miss_opt_out')"

_COLUMNS = "org_id, campaign_id, status, reason, bucket, count, credits, is_squashed"


def _pg_key(alias: str) -> str:
    """The key columns of a message row, in PostgreSQL (``alias`` is a transition table)."""
    return f"""{alias}.org_id, {alias}.campaign_id, {alias}.status,
        CASE {alias}.status WHEN 'blocked' THEN {alias}.block_reason
             WHEN 'deferred' THEN coalesce({alias}.reasons::jsonb -> 0 ->> 'code', '')
             ELSE '' END AS reason,
        CASE WHEN {alias}.status = 'delivered'
                  THEN date_trunc('hour', coalesce({alias}.delivered_at, {alias}.sent_at) AT TIME ZONE 'UTC')
                       AT TIME ZONE 'UTC'
             WHEN {alias}.status IN ('sent', 'undelivered')
                  THEN date_trunc('hour', {alias}.sent_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
             ELSE NULL END AS bucket"""


PG_INSTALL = f"""
CREATE OR REPLACE FUNCTION {PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO {COUNT_TABLE} ({_COLUMNS})
    SELECT org_id, campaign_id, status, reason, bucket, count(*), coalesce(sum(credits), 0), false
    FROM (SELECT {_pg_key("n")}, n.credits FROM new_rows n) d
    GROUP BY 1, 2, 3, 4, 5;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO {COUNT_TABLE} ({_COLUMNS})
    SELECT org_id, campaign_id, status, reason, bucket, -count(*), -coalesce(sum(credits), 0), false
    FROM (SELECT {_pg_key("o")}, o.credits FROM old_rows o) d
    GROUP BY 1, 2, 3, 4, 5;
  ELSE
    -- An UPDATE that changes nothing counted (a provider id, an attempt) nets to zero: no row at all.
    INSERT INTO {COUNT_TABLE} ({_COLUMNS})
    SELECT org_id, campaign_id, status, reason, bucket, sum(n), sum(c), false
    FROM (
      SELECT {_pg_key("o")}, -1 AS n, -o.credits AS c FROM old_rows o
      UNION ALL
      SELECT {_pg_key("w")}, 1 AS n, w.credits AS c FROM new_rows w
    ) d
    GROUP BY 1, 2, 3, 4, 5
    HAVING sum(n) <> 0 OR sum(c) <> 0;
  END IF;
  RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS analytics_msgcount_ins ON {MESSAGE_TABLE};
DROP TRIGGER IF EXISTS analytics_msgcount_upd ON {MESSAGE_TABLE};
DROP TRIGGER IF EXISTS analytics_msgcount_del ON {MESSAGE_TABLE};
CREATE TRIGGER analytics_msgcount_ins AFTER INSERT ON {MESSAGE_TABLE}
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {PG_FUNCTION}();
CREATE TRIGGER analytics_msgcount_upd AFTER UPDATE ON {MESSAGE_TABLE}
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {PG_FUNCTION}();
CREATE TRIGGER analytics_msgcount_del AFTER DELETE ON {MESSAGE_TABLE}
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {PG_FUNCTION}();
"""

_PG_ATTRIBUTE_SELECT = f"""
SELECT n.org_id, n.id, m.campaign_id, m.id, n.from_number, n.received_at
FROM {{source}} n
LEFT JOIN LATERAL (
  SELECT mm.id, mm.campaign_id FROM {MESSAGE_TABLE} mm
  WHERE mm.org_id = n.org_id AND mm."to" = n.from_number AND mm.campaign_id IS NOT NULL
    AND mm.sent_at <= n.received_at AND mm.sent_at > n.received_at - interval '{ATTRIBUTION_DAYS} days'
  ORDER BY mm.sent_at DESC, mm.id DESC LIMIT 1
) m ON true
WHERE n.org_id IS NOT NULL AND n.kind IN {OPT_OUT_KINDS_SQL}
ON CONFLICT (inbound_id) DO NOTHING
"""
_OPT_OUT_COLUMNS = "org_id, inbound_id, campaign_id, message_id, phone, at"

PG_OPT_OUT_INSTALL = f"""
CREATE OR REPLACE FUNCTION {PG_OPT_OUT_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO {OPT_OUT_TABLE} ({_OPT_OUT_COLUMNS}) {_PG_ATTRIBUTE_SELECT.format(source="new_rows")};
  RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS analytics_optout_ins ON {INBOUND_TABLE};
CREATE TRIGGER analytics_optout_ins AFTER INSERT ON {INBOUND_TABLE}
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {PG_OPT_OUT_FUNCTION}();
"""
PG_OPT_OUT_BACKFILL = f"INSERT INTO {OPT_OUT_TABLE} ({_OPT_OUT_COLUMNS}) " + _PG_ATTRIBUTE_SELECT.format(
    source=INBOUND_TABLE
)


def _lite_last_message(column: str, inbound: str) -> str:
    return (
        f"(SELECT m.{column} FROM {MESSAGE_TABLE} m WHERE m.org_id = {inbound}.org_id "
        f'AND m."to" = {inbound}.from_number AND m.campaign_id IS NOT NULL '
        f"AND m.sent_at <= {inbound}.received_at "
        f"AND m.sent_at > datetime({inbound}.received_at, '-{ATTRIBUTION_DAYS} days') "
        "ORDER BY m.sent_at DESC, m.id DESC LIMIT 1)"
    )


SQLITE_OPT_OUT_INSTALL = [
    "DROP TRIGGER IF EXISTS analytics_optout_ins",
    f"""CREATE TRIGGER analytics_optout_ins AFTER INSERT ON {INBOUND_TABLE}
        WHEN NEW.org_id IS NOT NULL AND NEW.kind IN {OPT_OUT_KINDS_SQL} BEGIN
        INSERT OR IGNORE INTO {OPT_OUT_TABLE} ({_OPT_OUT_COLUMNS}) VALUES (NEW.org_id, NEW.id,
          {_lite_last_message("campaign_id", "NEW")}, {_lite_last_message("id", "NEW")}, NEW.from_number,
          NEW.received_at); END""",
]
SQLITE_OPT_OUT_BACKFILL = (
    f"INSERT OR IGNORE INTO {OPT_OUT_TABLE} ({_OPT_OUT_COLUMNS}) SELECT n.org_id, n.id, "
    f"{_lite_last_message('campaign_id', 'n')}, {_lite_last_message('id', 'n')}, "
    "n.from_number, n.received_at "
    f"FROM {INBOUND_TABLE} n WHERE n.org_id IS NOT NULL AND n.kind IN {OPT_OUT_KINDS_SQL}"
)

PG_UNINSTALL = f"""
DROP TRIGGER IF EXISTS analytics_optout_ins ON {INBOUND_TABLE};
DROP FUNCTION IF EXISTS {PG_OPT_OUT_FUNCTION}();
DROP TRIGGER IF EXISTS analytics_msgcount_ins ON {MESSAGE_TABLE};
DROP TRIGGER IF EXISTS analytics_msgcount_upd ON {MESSAGE_TABLE};
DROP TRIGGER IF EXISTS analytics_msgcount_del ON {MESSAGE_TABLE};
DROP FUNCTION IF EXISTS {PG_FUNCTION}();
"""


def _lite_reason(alias: str) -> str:
    return (
        f"CASE {alias}.status WHEN 'blocked' THEN {alias}.block_reason "
        f"WHEN 'deferred' THEN coalesce(json_extract({alias}.reasons, '$[0].code'), '') ELSE '' END"
    )


def _lite_bucket(alias: str) -> str:
    return (
        f"CASE WHEN {alias}.status = 'delivered' "
        f"THEN strftime('%Y-%m-%d %H:00:00', coalesce({alias}.delivered_at, {alias}.sent_at)) "
        f"WHEN {alias}.status IN ('sent', 'undelivered') THEN strftime('%Y-%m-%d %H:00:00', {alias}.sent_at) "
        "ELSE NULL END"
    )


def _lite_values(alias: str, sign: int) -> str:
    return (
        f"({alias}.org_id, {alias}.campaign_id, {alias}.status, {_lite_reason(alias)}, "
        f"{_lite_bucket(alias)}, {sign}, {sign} * {alias}.credits, 0)"
    )


_LITE_CHANGED = " OR ".join(
    [
        "OLD.status IS NOT NEW.status",
        "OLD.credits IS NOT NEW.credits",
        "OLD.org_id IS NOT NEW.org_id",
        "OLD.campaign_id IS NOT NEW.campaign_id",
        f"({_lite_reason('OLD')}) IS NOT ({_lite_reason('NEW')})",
        f"({_lite_bucket('OLD')}) IS NOT ({_lite_bucket('NEW')})",
    ]
)

SQLITE_INSTALL = [
    "DROP TRIGGER IF EXISTS analytics_msgcount_ins",
    "DROP TRIGGER IF EXISTS analytics_msgcount_upd",
    "DROP TRIGGER IF EXISTS analytics_msgcount_del",
    f"""CREATE TRIGGER analytics_msgcount_ins AFTER INSERT ON {MESSAGE_TABLE} BEGIN
        INSERT INTO {COUNT_TABLE} ({_COLUMNS}) VALUES {_lite_values("NEW", 1)}; END""",
    f"""CREATE TRIGGER analytics_msgcount_upd AFTER UPDATE ON {MESSAGE_TABLE} WHEN {_LITE_CHANGED} BEGIN
        INSERT INTO {COUNT_TABLE} ({_COLUMNS}) VALUES {_lite_values("OLD", -1)};
        INSERT INTO {COUNT_TABLE} ({_COLUMNS}) VALUES {_lite_values("NEW", 1)}; END""",
    f"""CREATE TRIGGER analytics_msgcount_del AFTER DELETE ON {MESSAGE_TABLE} BEGIN
        INSERT INTO {COUNT_TABLE} ({_COLUMNS}) VALUES {_lite_values("OLD", -1)}; END""",
]

SQLITE_UNINSTALL = [f"DROP TRIGGER IF EXISTS {name}" for name in (*TRIGGER_NAMES, "analytics_optout_ins")]

# Counts of the rows that exist when the triggers are installed (a database with messages already).
PG_BACKFILL = f"""
INSERT INTO {COUNT_TABLE} ({_COLUMNS})
SELECT org_id, campaign_id, status, reason, bucket, count(*), coalesce(sum(credits), 0), true
FROM (SELECT {_pg_key("m")}, m.credits FROM {MESSAGE_TABLE} m) d
GROUP BY 1, 2, 3, 4, 5
"""

SQLITE_BACKFILL = f"""
INSERT INTO {COUNT_TABLE} ({_COLUMNS})
SELECT m.org_id, m.campaign_id, m.status, {_lite_reason("m")}, {_lite_bucket("m")}, count(*),
       coalesce(sum(m.credits), 0), 1
FROM {MESSAGE_TABLE} m
GROUP BY 1, 2, 3, 4, 5
"""


def install(connection: BaseDatabaseWrapper, *, backfill: bool = True) -> None:
    """Creates the triggers (then counts the rows already there, in the same transaction)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(PG_INSTALL)
            cursor.execute(PG_OPT_OUT_INSTALL)
            if backfill:
                cursor.execute(PG_BACKFILL)
                cursor.execute(PG_OPT_OUT_BACKFILL)
        elif connection.vendor == "sqlite":
            for statement in (*SQLITE_INSTALL, *SQLITE_OPT_OUT_INSTALL):
                cursor.execute(statement)
            if backfill:
                cursor.execute(SQLITE_BACKFILL)
                cursor.execute(SQLITE_OPT_OUT_BACKFILL)
        else:  # pragma: no cover - the project runs on PostgreSQL and SQLite only
            raise NotImplementedError(f"message counters need triggers on {connection.vendor}")


def uninstall(connection: BaseDatabaseWrapper) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(PG_UNINSTALL)
        elif connection.vendor == "sqlite":
            for statement in SQLITE_UNINSTALL:
                cursor.execute(statement)
