"""A gateway's answers recorded on the messages of a batch, and the credits of those never sent."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import transaction

from billing.services import ReservationError, credits_release, credits_settle
from smsplatform.bulk import IfNull, WhenIn, rows_update
from smsplatform.models import Organisation

from .. import enqueue
from ..gateways import SendResult
from ..models import CampaignStatus, Message, MessageStatus
from .limits import max_attempts, retry_delay

logger = logging.getLogger(__name__)

M = MessageStatus


def release_unsent(org: Organisation, rows: Iterable[dict[str, Any]]) -> None:
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
        if accepted:
            _record_accepted(org, rows, accepted, now)
        if retry:
            _record_retry(org, rows, retry, now)
        if failed:
            _record_failed(org, rows, failed)
    return {"sent": len(accepted), "retry": len(retry), "failed": len(failed)}


def _record_accepted(
    org: Organisation, rows: dict[str, dict[str, Any]], accepted: list[SendResult], now: datetime
) -> None:
    rows_update(
        Message,
        [(int(r.client_ref), r.provider_id) for r in accepted],
        ["provider_id"],
        # A receipt may have arrived before this answer: keep delivered/undelivered then.
        assign={"status": WhenIn((M.SENDING, M.PENDING), M.SENT), "sent_at": IfNull(now), "error_code": ""},
    )
    standalone = [
        rows[r.client_ref] for r in accepted if rows[r.client_ref]["credit_reference"].startswith("message:")
    ]
    for row in standalone:
        credits_settle(org=org, reference=row["credit_reference"], spent=row["credits"])


def _record_retry(
    org: Organisation, rows: dict[str, dict[str, Any]], retry: list[SendResult], now: datetime
) -> None:
    ids = [int(r.client_ref) for r in retry]
    rows_update(
        Message,
        [(int(r.client_ref), r.error_code[:64]) for r in retry],
        ["error_code"],
        assign={"status": M.PENDING, "queued_at": now},
        where={"status": M.SENDING},
    )
    # A retry of a campaign cancelled meanwhile is not sent: it is cancelled like the others.
    Message.objects.filter(pk__in=ids, status=M.PENDING, campaign__status=CampaignStatus.CANCELLED).update(
        status=M.CANCELLED
    )
    delay = retry_delay(min(rows[r.client_ref]["attempts"] + 1 for r in retry))
    transaction.on_commit(lambda: enqueue.enqueue_batch(org.pk, ids, countdown=delay))


def _record_failed(org: Organisation, rows: dict[str, dict[str, Any]], failed: list[SendResult]) -> None:
    rows_update(
        Message,
        [(int(r.client_ref), r.provider_id, r.error_code[:64], r.error_message[:255]) for r in failed],
        ["provider_id", "error_code", "error_message"],
        assign={"status": M.FAILED},
        where={"status": M.SENDING},
    )
    release_unsent(org, [rows[r.client_ref] for r in failed])
