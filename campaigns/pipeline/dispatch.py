"""Enqueueing: a sending campaign's due messages split into batch tasks."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from .. import enqueue
from ..models import Campaign, CampaignStatus, Message, MessageStatus
from .limits import DISPATCH_FRESH, batch_size

logger = logging.getLogger(__name__)

M = MessageStatus


def chunks(items: Sequence, size: int) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def enqueue_batches(org_id: int, ids: Sequence[int], countdown: int | None = None) -> int:
    n = 0
    for chunk in chunks(list(ids), batch_size()):
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
    batches = enqueue_batches(org_id, ids)
    logger.info("campaign %s: %s messages in %s batches", campaign_id, len(ids), batches)
    return batches
