"""Delivery receipts: a provider's later word on messages it accepted."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from smsplatform.bulk import IfNull, rows_update

from ..models import Message, MessageStatus

M = MessageStatus

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
    groups = _by_status(gateway, receipts)
    changed = 0
    with transaction.atomic():
        for status, items in groups.items():
            changed += _apply_status(status, items, now)
    return changed


def _by_status(gateway: str, receipts: Sequence[Any]) -> dict[str, list[tuple[int, Any]]]:
    """The receipts that name one of the gateway's messages, as ``(message id, receipt)`` per status."""
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
    return groups


def _apply_status(status: str, items: list[tuple[int, Any]], now: datetime) -> int:
    previous = (M.SENDING,) if status == M.SENT else (M.SENDING, M.SENT)
    if status == M.DELIVERED:
        rows = [(pk, r.provider_id, r.occurred_at or now) for pk, r in items]
        fields = ["provider_id", "delivered_at"]
    elif status == M.UNDELIVERED:
        rows = [(pk, r.provider_id, (r.error_code or "undelivered")[:64]) for pk, r in items]
        fields = ["provider_id", "error_code"]
    else:
        rows = [(pk, r.provider_id) for pk, r in items]
        fields = ["provider_id"]
    return rows_update(
        Message,
        rows,
        fields,
        assign={"status": status, "sent_at": IfNull(now)},
        where={"status__in": previous},
    )
