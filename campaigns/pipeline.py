"""The sending pipeline after launch: dispatch, batches, gateway results, receipts, periodic work.

Exactly-once, through crashes and retries, rests on three things:

* a message is handed to a gateway only by the batch task that moved it from ``pending``/``deferred`` to
  ``sending`` (rows locked with ``SELECT ... FOR UPDATE SKIP LOCKED``, then a conditional UPDATE that also
  re-checks the suppression list), so a batch delivered twice, or two overlapping runs, send nothing
  twice: the second finds the rows locked or no longer pending;
* the claim is committed before the gateway call, so a worker killed after it leaves the rows in
  ``sending`` with ``claimed_at``; the reconciliation asks the provider, by client reference (the message
  id), whether it got them (see :func:`messages_reconcile`) before anything is sent again;
* a message retried after an ambiguous failure (``attempts`` > 0) is looked up the same way before it
  is sent again, so a gateway that timed out after accepting a batch is not sent the batch twice.

Credits: a campaign's are reserved at launch; blocked and permanently failed messages release theirs in
the batch that decided it; the settlement at the end keeps what the provider took (sent, delivered,
undelivered) and releases the rest, so nothing stays reserved. Every function takes ``now`` so tests
freeze time by passing it rather than patching the clock.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, CharField, DateTimeField, Exists, F, OuterRef, Q, Value, When
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from billing.services import ReservationError, credits_release, credits_settle
from compliance.checker import org_policy
from compliance.context import RecipientContext, recipient_context
from compliance.gate import (
    ALLOW,
    BLOCK,
    SUPPRESSED,
    Decision,
    GateItem,
    Reason,
    evaluate,
)
from compliance.models import Suppression
from compliance.selectors import suppressed_numbers
from smsplatform.models import Organisation

from . import enqueue
from .gateways import GatewayConfigurationError, OutboundSms, SendResult, get_gateway, ratelimit
from .models import Campaign, CampaignStatus, Message, MessageCategory, MessageStatus
from .selectors import marketing_counts

logger = logging.getLogger(__name__)

M = MessageStatus


def batch_size() -> int:
    """Messages per batch task. 1,000 measured best in bench/pipeline.py: each batch has a fixed cost (a
    dozen queries, one gateway call, two commits) that smaller batches pay more often, while larger ones
    gain little more and leave fewer tasks to share between worker processes at the end of a campaign."""
    return int(getattr(settings, "CAMPAIGN_BATCH_SIZE", 1000))


def max_attempts() -> int:
    return int(getattr(settings, "CAMPAIGN_MAX_ATTEMPTS", 5))


def retry_delay(attempts: int) -> int:
    """Exponential backoff of a transient gateway error: 30 s, 60 s, 120 s... capped at 30 minutes."""
    base = int(getattr(settings, "CAMPAIGN_RETRY_BASE_SECONDS", 30))
    return min(base * 2 ** max(0, attempts - 1), 1800)


def sending_timeout() -> timedelta:
    """How long a claimed message may stay in ``sending`` before the reconciliation looks at it. Longer
    than a task's hard time limit, so that the batch which claimed it is certainly dead by then."""
    return timedelta(seconds=int(getattr(settings, "CAMPAIGN_SENDING_TIMEOUT", 20 * 60)))


def requeue_after() -> timedelta:
    """A pending message queued longer ago than this lost its batch task (a broker restart): re-queue."""
    return timedelta(seconds=int(getattr(settings, "CAMPAIGN_REQUEUE_AFTER", 15 * 60)))


#: A message queued more recently than this needs no new ``queued_at`` from the dispatch.
DISPATCH_FRESH = timedelta(minutes=1)


def _chunks(items: Sequence, size: int) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- enqueueing -------------------------------------------------------------------------------------


def _enqueue_batches(org_id: int, ids: Sequence[int], countdown: int | None = None) -> int:
    n = 0
    for chunk in _chunks(list(ids), batch_size()):
        enqueue.enqueue_batch(org_id, list(chunk), countdown)
        n += 1
    return n


def campaign_dispatch(*, campaign_id: int, now: datetime | None = None) -> int:
    """The coordinator: splits a sending campaign's due messages into batches, one task per batch.

    Safe to run twice (a resume, a redelivered task): a message enqueued in two batches is claimed by
    one only. Returns the number of batches enqueued.
    """
    now = now or timezone.now()
    org_id = (
        Campaign.objects.filter(pk=campaign_id, status=CampaignStatus.SENDING)
        .values_list("org_id", flat=True)
        .first()
    )
    if org_id is None:
        return 0
    due = Message.objects.filter(org_id=org_id, campaign_id=campaign_id).filter(
        Q(status=M.PENDING) | Q(status=M.DEFERRED, deferred_until__lte=now)
    )
    ids = list(due.order_by("id").values_list("id", flat=True))
    if not ids:
        return 0
    # ``queued_at`` tells the reconciliation when a pending message's task could have been lost. The launch
    # has just set it on every row: rewriting 100,000 rows here would delay the first batch for nothing.
    # A resume, or a dispatch of deferred rows, finds it older and refreshes it.
    due.filter(Q(queued_at__isnull=True) | Q(queued_at__lt=now - DISPATCH_FRESH)).update(queued_at=now)
    batches = _enqueue_batches(org_id, ids)
    logger.info("campaign %s: %s messages in %s batches", campaign_id, len(ids), batches)
    return batches


# --- one batch --------------------------------------------------------------------------------------

_LOAD_FIELDS = (
    "id",
    "campaign_id",
    "contact_id",
    "category",
    "to",
    "sender",
    "body",
    "credits",
    "credit_reference",
    "attempts",
    "gateway",
    "contact__consent_basis",
    "contact__region",
    "contact__timezone",
    "contact__calendar",
    "contact__postal_code",
)
_FALLBACK_CONTEXT = RecipientContext("FR", "Europe/Paris", "FR")


def _context_of(row: dict[str, Any]) -> RecipientContext:
    if row["contact__region"] and row["contact__timezone"]:
        return RecipientContext(
            row["contact__region"],
            row["contact__timezone"],
            row["contact__calendar"] or row["contact__region"],
        )
    try:
        return recipient_context(row["to"], row["contact__postal_code"] or "")
    except ValueError:
        return _FALLBACK_CONTEXT


def _gate_items(org: Organisation, rows: list[dict[str, Any]], now: datetime) -> list[GateItem]:
    """What the gate needs for the whole batch: two queries (suppressions, frequency counts)."""
    policy = org_policy(org)
    suppressed = suppressed_numbers(org, [r["to"] for r in rows])
    marketing_contacts = [r["contact_id"] for r in rows if r["category"] == "marketing" and r["contact_id"]]
    counts = marketing_counts(org, marketing_contacts, now) if marketing_contacts else {}
    items = []
    for row in rows:
        d1, d7 = counts.get(row["contact_id"], (0, 0))
        items.append(
            GateItem(
                context=_context_of(row),
                policy=policy,
                category=row["category"],
                # A standalone transactional message has no contact: consent does not apply to it.
                consent=row["contact__consent_basis"] or "unknown",
                suppressed=row["to"] in suppressed,
                sent_last_24h=d1,
                sent_last_7d=d7,
            )
        )
    return items


def _reasons_json(decision: Decision) -> list[dict[str, str]]:
    return [{"code": r.code, "fr": r.fr, "en": r.en} for r in decision.reasons]


def _case(pairs: Iterable[tuple[int, Any]], field, default=None):
    """``CASE WHEN id = .. THEN ..`` for per-row values in one UPDATE (no query per row)."""
    whens = [When(pk=pk, then=Value(value, output_field=field)) for pk, value in pairs]
    case = Case(*whens, default=default, output_field=field)
    # PostgreSQL types a CASE of parameters as text: cast it to the column's type. Not on SQLite, whose
    # CAST would store datetimes in another text format than Django's (and break comparisons).
    if isinstance(field, CharField) or connection.vendor != "postgresql":
        return case
    return Cast(case, output_field=field)


def _values_sql() -> bool:
    """Per-row values go through ``UPDATE ... FROM (VALUES ...)`` on PostgreSQL (see :func:`_set_rows`);
    other databases get the portable ``CASE`` of :func:`_case`."""
    return connection.vendor == "postgresql"


def _set_rows(
    rows: Sequence[Sequence[Any]],
    columns: Sequence[tuple[str, str]],
    assignments: str,
    *,
    assignment_params: Sequence[Any] = (),
    condition: str = "",
    condition_params: Sequence[Any] = (),
) -> int:
    """One ``UPDATE campaigns_message AS m SET ... FROM (VALUES (id, ...), ...) AS v WHERE m.id = v.id``:
    per-row values in a single statement, a hash join on the database's side.

    It replaces a ``CASE WHEN id = .. THEN ..`` of one branch per row, which costs the ORM a resolved
    ``Q`` per branch (most of a batch's time at 500 rows) and the database a scan of the branches for
    every row. ``rows`` are ``(id, value, ...)`` tuples typed by ``columns`` (``(name, SQL type)`` of
    each value); ``assignments`` and ``condition`` are SQL written in this module, naming the message as
    ``m`` and the values as ``v``; every value is a parameter. Returns the number of rows changed.
    """
    if not rows:
        return 0
    table = connection.ops.quote_name(Message._meta.db_table)
    row_sql = "(" + ", ".join(["%s::bigint", *(f"%s::{sql_type}" for _, sql_type in columns)]) + ")"
    names = ", ".join(["id", *(name for name, _ in columns)])
    sql = (
        f"UPDATE {table} AS m SET {assignments} "  # noqa: S608 - names and placeholders only
        f"FROM (VALUES {', '.join([row_sql] * len(rows))}) AS v({names}) WHERE m.id = v.id"
    )
    if condition:
        sql += f" AND ({condition})"
    params = [*assignment_params, *(value for row in rows for value in row), *condition_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _write_outcomes(rows_decisions: list[tuple[dict, Decision]], now: datetime) -> None:
    """Stores deferred and blocked outcomes of a batch in ONE update (per-row values)."""
    from django.db.models import JSONField

    if _values_sql():
        _set_rows(
            [
                (
                    r["id"],
                    M.BLOCKED if d.outcome == BLOCK else M.DEFERRED,
                    d.next_allowed_at,
                    d.reason if d.outcome == BLOCK else "",
                    json.dumps(_reasons_json(d)),
                )
                for r, d in rows_decisions
            ],
            [
                ("status", "varchar"),
                ("deferred_until", "timestamptz"),
                ("block_reason", "varchar"),
                ("reasons", "jsonb"),
            ],  # fmt: skip
            "status = v.status, deferred_until = v.deferred_until, block_reason = v.block_reason, "
            "reasons = v.reasons",
        )
        return
    ids = [row["id"] for row, _ in rows_decisions]
    Message.objects.filter(pk__in=ids).update(
        status=_case(
            ((r["id"], M.BLOCKED if d.outcome == BLOCK else M.DEFERRED) for r, d in rows_decisions),
            CharField(),
        ),
        deferred_until=_case(((r["id"], d.next_allowed_at) for r, d in rows_decisions), DateTimeField()),
        block_reason=_case(
            ((r["id"], d.reason if d.outcome == BLOCK else "") for r, d in rows_decisions), CharField()
        ),
        reasons=_case(((r["id"], _reasons_json(d)) for r, d in rows_decisions), JSONField()),
    )


def _release(org: Organisation, rows: Iterable[dict[str, Any]]) -> None:
    """Gives back the credits of messages that will not be sent: one release per campaign reservation; a
    standalone message's own reservation is closed with nothing spent."""
    per_reference: dict[str, int] = defaultdict(int)
    for row in rows:
        if row["credits"] and row["credit_reference"]:
            per_reference[row["credit_reference"]] += row["credits"]
    for reference, amount in per_reference.items():
        try:
            if reference.startswith("message:"):
                credits_settle(org=org, reference=reference, spent=0)
            else:
                credits_release(org=org, amount=amount, reference=reference)
        except ReservationError:
            # Already settled (a campaign cancelled meanwhile): the settlement released them.
            logger.warning("credits of %s already settled, %s not released again", reference, amount)


_SUPPRESSED_REASON = Reason(
    SUPPRESSED,
    "Numéro désinscrit (STOP) : aucun SMS ne lui est envoyé.",
    "Number opted out (STOP): no SMS is sent to it.",
)


def batch_send(*, org_id: int, message_ids: Sequence[int], now: datetime | None = None) -> dict[str, int]:
    """Evaluates a batch with the gate and sends what is allowed, in one gateway call per chunk.

    A constant number of queries whatever the batch size: the organisation and its policy, one locking
    read of the messages (with their contacts), suppressions, frequency counts, one update for deferred
    and blocked rows, one claim, the credit release, and one update per gateway chunk for the results.
    """
    now = now or timezone.now()
    org = Organisation.objects.get(pk=org_id)
    counts = {"loaded": 0, "allowed": 0, "deferred": 0, "blocked": 0, "sent": 0, "retry": 0, "failed": 0}
    with transaction.atomic():
        rows = list(
            Message.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(org_id=org_id, pk__in=list(message_ids), status__in=(M.PENDING, M.DEFERRED))
            .filter(Q(campaign__isnull=True) | Q(campaign__status=CampaignStatus.SENDING))
            .filter(Q(status=M.PENDING) | Q(deferred_until__lte=now))
            .order_by("id")
            .values(*_LOAD_FIELDS)
        )
        counts["loaded"] = len(rows)
        if not rows:
            return counts
        if any(row["category"] == MessageCategory.MARKETING for row in rows):
            _serialise_frequency_checks(org_id)
        decisions = evaluate(_gate_items(org, rows, now), now)
        allowed = [row for row, d in zip(rows, decisions, strict=True) if d.outcome == ALLOW]
        others = [(row, d) for row, d in zip(rows, decisions, strict=True) if d.outcome != ALLOW]
        blocked = [row for row, d in others if d.outcome == BLOCK]
        counts["deferred"] = len(others) - len(blocked)
        if others:
            _write_outcomes(others, now)
        claimed = allowed
        if allowed:
            claimed = _claim(org_id, allowed, now)
            if len(claimed) < len(allowed):
                # Opted out while this batch was being evaluated: blocked, never sent.
                late = [row for row in allowed if row["id"] not in {c["id"] for c in claimed}]
                decision = Decision(BLOCK, (_SUPPRESSED_REASON,))
                _write_outcomes([(row, decision) for row in late], now)
                blocked += late
        counts["blocked"] = len(blocked)
        counts["allowed"] = len(claimed)
        if blocked:
            _release(org, blocked)
    # The claim is committed: from here a crash leaves the rows in ``sending`` for the reconciliation.
    if claimed:
        outcome = _send(org, claimed, now)
        for key in ("sent", "retry", "failed"):
            counts[key] = outcome[key]
    return counts


#: First key of the advisory locks of :func:`_serialise_frequency_checks` (the second is the org id).
FREQUENCY_LOCK_SPACE = 0x534D5346  # "SMSF"


def _serialise_frequency_checks(org_id: int) -> None:
    """Makes an organisation's batches count and claim marketing messages one at a time, until commit.

    A frequency cap is a count of what was already claimed: two batches of two campaigns sending to the
    same contact at the same moment would both count zero and both claim, and the contact would get two
    marketing SMS in a day where the cap allows one. With this transaction-scoped lock the second batch
    counts after the first has committed its claims. Only the gate and the claim are serialised (a few
    milliseconds per batch); the gateway calls, most of a batch's time, still run in parallel. Row locks
    are taken before it with SKIP LOCKED, which never waits, so the two kinds of locks cannot deadlock.
    SQLite needs nothing: it lets one writer at a time anyway.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        # Two int4 keys; an id beyond them shares a lock with another organisation: harmless, just slower.
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [FREQUENCY_LOCK_SPACE, org_id % 2**31])


def _claim(org_id: int, rows: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Moves the allowed rows to ``sending`` in one conditional UPDATE that re-reads the suppression list,
    so that a STOP recorded after the batch loaded its suppressions still stops the message."""
    ids = [row["id"] for row in rows]
    not_suppressed = Q(category=MessageCategory.OPT_OUT_CONFIRMATION) | ~Exists(
        Suppression.objects.filter(org_id=org_id, phone_hash=OuterRef("to_hash"))
    )
    changed = (
        Message.objects.filter(pk__in=ids, status__in=(M.PENDING, M.DEFERRED))
        .filter(not_suppressed)
        .update(
            status=M.SENDING, claimed_at=now, attempts=F("attempts") + 1, deferred_until=None, error_code=""
        )
    )
    if changed == len(ids):
        return rows
    still = set(
        Message.objects.filter(pk__in=ids, status=M.SENDING, claimed_at=now).values_list("id", flat=True)
    )
    return [row for row in rows if row["id"] in still]


def _send(org: Organisation, rows: list[dict[str, Any]], now: datetime) -> dict[str, int]:
    """Hands claimed rows to their gateway, chunked by its batch size and rate limit, and records each
    chunk's results as soon as it returns (so a crash loses at most the chunk in flight, which the
    reconciliation then finds in ``sending``)."""
    totals = {"sent": 0, "retry": 0, "failed": 0}
    by_gateway: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_gateway[row["gateway"] or getattr(settings, "SMS_GATEWAY", "loopback")].append(row)
    for name, group in by_gateway.items():
        by_id = {str(row["id"]): row for row in group}
        try:
            gateway = get_gateway(name)
        except GatewayConfigurationError as exc:
            # A gateway switched off or misconfigured: retried with backoff, then failed, never lost.
            logger.error("gateway %s unusable: %s", name, exc)
            unusable = [
                SendResult(ref, None, "transient_error", "gateway_unavailable", str(exc)[:200])
                for ref in by_id
            ]
            _add(totals, apply_results(org=org, rows=by_id, results=unusable, gateway=name, now=now))
            continue
        # A message tried before may have been accepted by a call whose answer we lost (a timeout):
        # ask the provider first rather than send it twice.
        retried = [row for row in group if row["attempts"] > 0]
        known: list[SendResult] = []
        if retried and gateway.supports_lookup:
            try:
                found = gateway.lookup_sent([str(row["id"]) for row in retried])
            except Exception as exc:  # noqa: BLE001 - unreachable provider: retry later, send nothing
                logger.warning("gateway %s lookup failed: %s", name, exc)
                found = None
            for row in retried:
                ref = str(row["id"])
                if found is None:
                    known.append(SendResult(ref, None, "transient_error", "lookup_failed", ""))
                elif ref in found:
                    known.append(SendResult(ref, found[ref], "accepted"))
        if known:
            _add(totals, apply_results(org=org, rows=by_id, results=known, gateway=name, now=now))
        done = {r.client_ref for r in known}
        outbound = [
            OutboundSms(client_ref=str(row["id"]), to=row["to"], sender=row["sender"], text=row["body"])
            for row in group
            if str(row["id"]) not in done
        ]
        for chunk in ratelimit.throttled_chunks(gateway.name, outbound, gateway.max_batch_size):
            results = gateway.send_batch(chunk)
            _add(totals, apply_results(org=org, rows=by_id, results=results, gateway=name, now=now))
    return totals


def _add(totals: dict[str, int], more: dict[str, int]) -> None:
    for key, value in more.items():
        totals[key] = totals.get(key, 0) + value


def apply_results(
    *,
    org: Organisation,
    rows: dict[str, dict[str, Any]],
    results: Sequence[SendResult],
    gateway: str,
    now: datetime,
) -> dict[str, int]:
    """Records a gateway's answers: accepted -> sent (a receipt that arrived first is kept); transient ->
    back to pending with a retry after a backoff, or failed after ``CAMPAIGN_MAX_ATTEMPTS``; permanent ->
    failed with the provider's code and the credits released. A few queries per chunk, none per row."""
    accepted = [r for r in results if r.accepted and r.client_ref in rows]
    transient = [r for r in results if r.retryable and r.client_ref in rows]
    limit = max_attempts()
    permanent = [r for r in results if not r.accepted and not r.retryable and r.client_ref in rows]
    exhausted = [r for r in transient if rows[r.client_ref]["attempts"] + 1 >= limit]
    retry = [r for r in transient if rows[r.client_ref]["attempts"] + 1 < limit]
    failed = permanent + exhausted
    with transaction.atomic():
        if accepted and _values_sql():
            # A receipt may have arrived before this answer: keep delivered/undelivered then.
            _set_rows(
                [(int(r.client_ref), r.provider_id) for r in accepted],
                [("provider_id", "varchar")],
                "provider_id = v.provider_id, "
                "status = CASE WHEN m.status IN (%s, %s) THEN %s ELSE m.status END, "
                "sent_at = COALESCE(m.sent_at, %s), error_code = ''",
                assignment_params=[M.SENDING, M.PENDING, M.SENT, now],
            )
        elif accepted:
            ids = [int(r.client_ref) for r in accepted]
            Message.objects.filter(pk__in=ids).update(
                provider_id=_case(((int(r.client_ref), r.provider_id) for r in accepted), CharField()),
                # A receipt may have arrived before this answer: keep delivered/undelivered then.
                status=Case(
                    When(status__in=(M.SENDING, M.PENDING), then=Value(M.SENT)),
                    default=F("status"),
                    output_field=CharField(),
                ),
                sent_at=Coalesce(F("sent_at"), Value(now, output_field=DateTimeField())),
                error_code="",
            )
        if accepted:
            standalone = [
                rows[r.client_ref]
                for r in accepted
                if rows[r.client_ref]["credit_reference"].startswith("message:")
            ]
            for row in standalone:
                credits_settle(org=org, reference=row["credit_reference"], spent=row["credits"])
        if retry:
            ids = [int(r.client_ref) for r in retry]
            if _values_sql():
                _set_rows(
                    [(int(r.client_ref), r.error_code[:64]) for r in retry],
                    [("error_code", "varchar")],
                    "status = %s, queued_at = %s, error_code = v.error_code",
                    assignment_params=[M.PENDING, now],
                    condition="m.status = %s",
                    condition_params=[M.SENDING],
                )
            else:
                Message.objects.filter(pk__in=ids, status=M.SENDING).update(
                    status=M.PENDING,
                    queued_at=now,
                    error_code=_case(((int(r.client_ref), r.error_code[:64]) for r in retry), CharField()),
                )
            # A retry of a campaign cancelled meanwhile is not sent: it is cancelled like the others.
            Message.objects.filter(
                pk__in=ids, status=M.PENDING, campaign__status=CampaignStatus.CANCELLED
            ).update(status=M.CANCELLED)
            delay = retry_delay(min(rows[r.client_ref]["attempts"] + 1 for r in retry))
            transaction.on_commit(lambda: enqueue.enqueue_batch(org.pk, ids, countdown=delay))
        if failed:
            ids = [int(r.client_ref) for r in failed]
            if _values_sql():
                _set_rows(
                    [
                        (int(r.client_ref), r.provider_id, r.error_code[:64], r.error_message[:255])
                        for r in failed
                    ],
                    [("provider_id", "varchar"), ("error_code", "varchar"), ("error_message", "varchar")],
                    "status = %s, provider_id = v.provider_id, error_code = v.error_code, "
                    "error_message = v.error_message",
                    assignment_params=[M.FAILED],
                    condition="m.status = %s",
                    condition_params=[M.SENDING],
                )
            else:
                Message.objects.filter(pk__in=ids, status=M.SENDING).update(
                    status=M.FAILED,
                    provider_id=_case(((int(r.client_ref), r.provider_id) for r in failed), CharField()),
                    error_code=_case(((int(r.client_ref), r.error_code[:64]) for r in failed), CharField()),
                    error_message=_case(
                        ((int(r.client_ref), r.error_message[:255]) for r in failed), CharField()
                    ),
                )
            _release(org, [rows[r.client_ref] for r in failed])
    return {"sent": len(accepted), "retry": len(retry), "failed": len(failed)}


# --- receipts ---------------------------------------------------------------------------------------

_RECEIPT_STATUS = {
    "delivered": M.DELIVERED,
    "undelivered": M.UNDELIVERED,
    "failed": M.UNDELIVERED,
    "sent": M.SENT,
}


def receipts_apply(*, gateway: str, receipts: Sequence[Any], now: datetime | None = None) -> int:
    """Applies delivery receipts, matched by the provider's id (or by our client reference when the
    receipt arrives before the send result). Idempotent: a receipt only moves a message forward from
    ``sending``/``sent`` (``sent`` receipts only from ``sending``), so a replay changes nothing. Returns the
    number of messages changed. Three queries per status present, whatever the number of receipts."""
    now = now or timezone.now()
    if not receipts:
        return 0
    pids = [r.provider_id for r in receipts]
    matched = dict(
        Message.objects.filter(gateway=gateway, provider_id__in=pids).values_list("provider_id", "id")
    )
    refs = [
        int(r.client_ref) for r in receipts if r.provider_id not in matched and (r.client_ref or "").isdigit()
    ]
    by_ref = (
        set(Message.objects.filter(gateway=gateway, pk__in=refs).values_list("id", flat=True))
        if refs
        else set()
    )
    groups: dict[str, list[tuple[int, Any]]] = defaultdict(list)
    for receipt in receipts:
        status = _RECEIPT_STATUS.get(receipt.status)
        message_id = matched.get(receipt.provider_id)
        if message_id is None and (receipt.client_ref or "").isdigit() and int(receipt.client_ref) in by_ref:
            message_id = int(receipt.client_ref)
        if status is None or message_id is None:
            continue
        groups[status].append((message_id, receipt))
    changed = 0
    with transaction.atomic():
        for status, items in groups.items():
            ids = [pk for pk, _ in items]
            previous = (M.SENDING,) if status == M.SENT else (M.SENDING, M.SENT)
            if _values_sql():
                changed += _set_rows(
                    [
                        (pk, r.provider_id, r.occurred_at or now, (r.error_code or "undelivered")[:64])
                        for pk, r in items
                    ],
                    [("provider_id", "varchar"), ("occurred_at", "timestamptz"), ("error_code", "varchar")],
                    "status = %s, provider_id = v.provider_id, sent_at = COALESCE(m.sent_at, %s)"
                    + (", delivered_at = v.occurred_at" if status == M.DELIVERED else "")
                    + (", error_code = v.error_code" if status == M.UNDELIVERED else ""),
                    assignment_params=[status, now],
                    condition="m.status IN (" + ", ".join(["%s"] * len(previous)) + ")",
                    condition_params=list(previous),
                )
                continue
            fields: dict[str, Any] = {
                "status": status,
                "provider_id": _case(((pk, r.provider_id) for pk, r in items), CharField()),
                "sent_at": Coalesce(F("sent_at"), Value(now, output_field=DateTimeField())),
            }
            if status == M.DELIVERED:
                fields["delivered_at"] = _case(
                    ((pk, r.occurred_at or now) for pk, r in items), DateTimeField()
                )
            if status == M.UNDELIVERED:
                fields["error_code"] = _case(
                    ((pk, (r.error_code or "undelivered")[:64]) for pk, r in items), CharField()
                )
            changed += Message.objects.filter(pk__in=ids, status__in=previous).update(**fields)
    return changed


# --- periodic work ----------------------------------------------------------------------------------


def messages_release_deferred(*, now: datetime | None = None, limit: int = 100_000) -> dict[str, int]:
    """Enqueues the deferred messages whose instant has come (the batch evaluates them again: a window
    may still be closed for some, who are then deferred further)."""
    now = now or timezone.now()
    due = (
        Message.objects.filter(status=M.DEFERRED, deferred_until__lte=now)
        .filter(Q(campaign__isnull=True) | Q(campaign__status=CampaignStatus.SENDING))
        .filter(
            Q(queued_at__isnull=True)
            | Q(queued_at__lt=F("deferred_until"))
            | Q(queued_at__lt=now - requeue_after())
        )
    )
    rows = list(due.order_by("org_id", "id").values_list("org_id", "id")[:limit])
    return {"released": len(rows), "batches": _enqueue_rows(rows, now)}


def _enqueue_rows(rows: list[tuple[int, int]], now: datetime) -> int:
    by_org: dict[int, list[int]] = defaultdict(list)
    for org_id, pk in rows:
        by_org[org_id].append(pk)
    batches = 0
    for org_id, ids in by_org.items():
        for chunk in _chunks(ids, 5000):
            Message.objects.filter(pk__in=list(chunk)).update(queued_at=now)
        batches += _enqueue_batches(org_id, ids)
    return batches


def messages_reconcile(*, now: datetime | None = None, limit: int = 5000) -> dict[str, int]:
    """Settles messages stuck in ``sending`` (claimed, but the worker died before recording the answer)
    and re-queues pending messages whose batch task was lost.

    The choice for stuck messages: ask the provider, by client reference, whether it accepted them
    (``Gateway.lookup_sent``; the loopback gateway answers ``GET /messages?client_ref=``). Accepted ->
    ``sent`` with its provider id; confirmed unknown -> back to ``pending`` and sent again. When the
    provider cannot be asked (no lookup in its API), the message is marked ``sent`` with error code
    ``unconfirmed``: a recipient must never get a message twice, and a receipt corrects the status if
    one comes. When the provider is unreachable, nothing is decided until the next run.
    """
    now = now or timezone.now()
    counts = {
        "stuck": 0,
        "confirmed_sent": 0,
        "requeued": 0,
        "unconfirmed": 0,
        "unreachable": 0,
        "stale_pending": 0,
    }
    cutoff = now - sending_timeout()
    stuck = list(
        Message.objects.filter(status=M.SENDING, claimed_at__lt=cutoff)
        .order_by("id")
        .values("id", "org_id", "gateway", "campaign_id")[:limit]
    )
    counts["stuck"] = len(stuck)
    by_gateway: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in stuck:
        by_gateway[row["gateway"] or getattr(settings, "SMS_GATEWAY", "loopback")].append(row)
    requeue: list[tuple[int, int]] = []
    for name, group in by_gateway.items():
        ids = [row["id"] for row in group]
        try:
            gateway = get_gateway(name)
        except GatewayConfigurationError as exc:
            logger.warning("reconciliation: gateway %s unusable: %s", name, exc)
            counts["unreachable"] += len(ids)
            continue
        if not gateway.supports_lookup:
            counts["unconfirmed"] += Message.objects.filter(pk__in=ids, status=M.SENDING).update(
                status=M.SENT, sent_at=now, error_code="unconfirmed"
            )
            continue
        try:
            found = gateway.lookup_sent([str(pk) for pk in ids])
        except Exception as exc:  # noqa: BLE001 - decide nothing without the provider's answer
            logger.warning("reconciliation: gateway %s unreachable: %s", name, exc)
            counts["unreachable"] += len(ids)
            continue
        sent = [(pk, found[str(pk)]) for pk in ids if str(pk) in found]
        if sent and _values_sql():
            counts["confirmed_sent"] += _set_rows(
                sent,
                [("provider_id", "varchar")],
                "status = %s, provider_id = v.provider_id, sent_at = %s",
                assignment_params=[M.SENT, now],
                condition="m.status = %s",
                condition_params=[M.SENDING],
            )
        elif sent:
            counts["confirmed_sent"] += Message.objects.filter(
                pk__in=[pk for pk, _ in sent], status=M.SENDING
            ).update(status=M.SENT, provider_id=_case(sent, CharField()), sent_at=now)
        never = [row for row in group if str(row["id"]) not in found]
        if never:
            never_ids = [row["id"] for row in never]
            counts["requeued"] += Message.objects.filter(
                pk__in=never_ids, status=M.SENDING, claimed_at__lt=cutoff
            ).update(status=M.PENDING, queued_at=now)
            Message.objects.filter(
                pk__in=never_ids, status=M.PENDING, campaign__status=CampaignStatus.CANCELLED
            ).update(status=M.CANCELLED)
            requeue += [(row["org_id"], row["id"]) for row in never]
    stale = list(
        Message.objects.filter(status=M.PENDING, queued_at__lt=now - requeue_after())
        .filter(Q(campaign__isnull=True) | Q(campaign__status=CampaignStatus.SENDING))
        .order_by("org_id", "id")
        .values_list("org_id", "id")[: limit * 10]
    )
    counts["stale_pending"] = len(stale)
    _enqueue_rows(requeue + stale, now)
    return counts
