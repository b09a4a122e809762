"""One batch: the gate, the claim, and the gateway calls, one per chunk."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

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
from smsplatform.bulk import rows_update, transaction_lock
from smsplatform.models import Organisation

from ..gateways import GatewayConfigurationError, OutboundSms, SendResult, get_gateway, ratelimit
from ..models import CampaignStatus, Message, MessageCategory, MessageStatus
from ..selectors import marketing_counts
from .results import apply_results, release_unsent

logger = logging.getLogger(__name__)

M = MessageStatus

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


def _write_outcomes(rows_decisions: list[tuple[dict, Decision]], now: datetime) -> None:
    """Stores deferred and blocked outcomes of a batch in ONE update (per-row values)."""
    rows_update(
        Message,
        [
            (
                r["id"],
                M.BLOCKED if d.outcome == BLOCK else M.DEFERRED,
                d.next_allowed_at,
                d.reason if d.outcome == BLOCK else "",
                _reasons_json(d),
            )
            for r, d in rows_decisions
        ],
        ["status", "deferred_until", "block_reason", "reasons"],
    )


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
            release_unsent(org, blocked)
    # The claim is committed: from here a crash leaves the rows in ``sending`` for the reconciliation.
    if claimed:
        outcome = _send(org, claimed, now)
        for key in ("sent", "retry", "failed"):
            counts[key] = outcome[key]
    return counts


#: First key of the locks of :func:`_serialise_frequency_checks` (the second is the org id).
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
    transaction_lock(FREQUENCY_LOCK_SPACE, org_id)


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
        by_gateway[row["gateway"] or settings.SMS_GATEWAY].append(row)
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
        known = _already_accepted(gateway, name, group)
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


def _already_accepted(gateway, name: str, group: list[dict[str, Any]]) -> list[SendResult]:
    """A message tried before may have been accepted by a call whose answer we lost (a timeout): the
    provider is asked first rather than sent it twice. Answers for the retried messages it knows, and a
    transient error for all of them when it cannot be asked now."""
    retried = [row for row in group if row["attempts"] > 0]
    known: list[SendResult] = []
    if not (retried and gateway.supports_lookup):
        return known
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
    return known


def _add(totals: dict[str, int], more: dict[str, int]) -> None:
    for key, value in more.items():
        totals[key] = totals.get(key, 0) + value
