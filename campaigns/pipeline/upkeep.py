"""The pipeline's own periodic work: deferred messages whose instant has come, and the reconciliation
of messages a crash or a lost task left behind."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from smsplatform.bulk import rows_update

from ..gateways import GatewayConfigurationError, get_gateway
from ..models import CampaignStatus, Message, MessageStatus
from .dispatch import chunks, enqueue_batches
from .limits import requeue_after, sending_timeout

logger = logging.getLogger(__name__)

M = MessageStatus


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
        for chunk in chunks(ids, 5000):
            Message.objects.filter(pk__in=list(chunk)).update(queued_at=now)
        batches += enqueue_batches(org_id, ids)
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
        by_gateway[row["gateway"] or settings.SMS_GATEWAY].append(row)
    requeue: list[tuple[int, int]] = []
    for name, group in by_gateway.items():
        requeue += _reconcile_stuck(name, group, counts, now, cutoff)
    stale = list(
        Message.objects.filter(status=M.PENDING, queued_at__lt=now - requeue_after())
        .filter(Q(campaign__isnull=True) | Q(campaign__status=CampaignStatus.SENDING))
        .order_by("org_id", "id")
        .values_list("org_id", "id")[: limit * 10]
    )
    counts["stale_pending"] = len(stale)
    _enqueue_rows(requeue + stale, now)
    return counts


def _reconcile_stuck(
    name: str, group: list[dict[str, Any]], counts: dict[str, int], now: datetime, cutoff: datetime
) -> list[tuple[int, int]]:
    """Settles one gateway's stuck messages as its provider answers, adding to ``counts``; returns the
    ``(org id, message id)`` of those to send again."""
    ids = [row["id"] for row in group]
    try:
        gateway = get_gateway(name)
    except GatewayConfigurationError as exc:
        logger.warning("reconciliation: gateway %s unusable: %s", name, exc)
        counts["unreachable"] += len(ids)
        return []
    if not gateway.supports_lookup:
        counts["unconfirmed"] += Message.objects.filter(pk__in=ids, status=M.SENDING).update(
            status=M.SENT, sent_at=now, error_code="unconfirmed"
        )
        return []
    try:
        found = gateway.lookup_sent([str(pk) for pk in ids])
    except Exception as exc:  # noqa: BLE001 - decide nothing without the provider's answer
        logger.warning("reconciliation: gateway %s unreachable: %s", name, exc)
        counts["unreachable"] += len(ids)
        return []
    counts["confirmed_sent"] += rows_update(
        Message,
        [(pk, found[str(pk)]) for pk in ids if str(pk) in found],
        ["provider_id"],
        assign={"status": M.SENT, "sent_at": now},
        where={"status": M.SENDING},
    )
    never = [row for row in group if str(row["id"]) not in found]
    if never:
        counts["requeued"] += _requeue_unsent([row["id"] for row in never], now, cutoff)
    return [(row["org_id"], row["id"]) for row in never]


def _requeue_unsent(ids: list[int], now: datetime, cutoff: datetime) -> int:
    """Back to ``pending`` the stuck messages the provider never got (cancelled if their campaign was)."""
    requeued = Message.objects.filter(pk__in=ids, status=M.SENDING, claimed_at__lt=cutoff).update(
        status=M.PENDING, queued_at=now
    )
    Message.objects.filter(pk__in=ids, status=M.PENDING, campaign__status=CampaignStatus.CANCELLED).update(
        status=M.CANCELLED
    )
    return requeued
