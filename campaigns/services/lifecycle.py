"""Pause, resume, cancel, and the settlement of the credits once a campaign is over."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from billing.services import credits_settle
from smsplatform.audit import audit_record
from smsplatform.models import Organisation

from .. import enqueue
from ..models import SPENT_STATUSES, Campaign, Message, MessageStatus
from ._common import S, _check, _locked, _now


def campaign_pause(*, org: Organisation, actor: Any, campaign: Campaign) -> Campaign:
    """Stops dispatch: batch tasks skip the messages of a campaign that is not ``sending``, so at most the
    batch already claimed leaves after this."""
    with transaction.atomic():
        locked = _locked(org, campaign)
        _check(locked, "paused")
        Campaign.objects.filter(pk=locked.pk).update(status=S.PAUSED, updated_at=timezone.now())
        locked.status = S.PAUSED
        audit_record(org=org, actor=actor, action="campaign.paused", target=locked)
    return locked


def campaign_resume(*, org: Organisation, actor: Any, campaign: Campaign) -> Campaign:
    """Sends what is left of a paused campaign (the gate is evaluated again, at the new dispatch time)."""
    with transaction.atomic():
        locked = _locked(org, campaign)
        _check(locked, "resumed")
        Campaign.objects.filter(pk=locked.pk).update(status=S.SENDING, updated_at=timezone.now())
        locked.status = S.SENDING
        audit_record(org=org, actor=actor, action="campaign.resumed", target=locked)
        transaction.on_commit(lambda: enqueue.enqueue_dispatch(locked.pk))
    return locked


def campaign_cancel(
    *, org: Organisation, actor: Any, campaign: Campaign, now: datetime | None = None
) -> Campaign:
    """Cancels what was not sent and gives its credits back.

    Messages not yet claimed become ``cancelled``; when none is in flight the reservation is settled at
    once (spent = what the provider took), otherwise the settle task does it when the last in-flight
    message has its answer.
    """
    now = _now(now)
    with transaction.atomic():
        locked = _locked(org, campaign)
        _check(locked, "cancelled")
        cancelled = Message.objects.filter(
            org=org, campaign=locked, status__in=(MessageStatus.PENDING, MessageStatus.DEFERRED)
        ).update(status=MessageStatus.CANCELLED)
        Campaign.objects.filter(pk=locked.pk).update(status=S.CANCELLED, updated_at=now, completed_at=now)
        locked.status, locked.completed_at = S.CANCELLED, now
        audit_record(
            org=org, actor=actor, action="campaign.cancelled", target=locked, data={"messages": cancelled}
        )
        if locked.launched_at is not None:
            campaign_settle(org=org, campaign=locked, now=now)
    return locked


def campaign_settle(*, org: Organisation, campaign: Campaign, now: datetime | None = None) -> bool:
    """Ends the credit reservation of a finished or cancelled campaign: spent = credits of the messages the
    provider took; the rest goes back to the balance. Waits (returns False) while a message is in flight;
    idempotent (``credits_settle`` with the same ``spent`` is a no-op)."""
    from django.db.models import Sum

    now = _now(now)
    with transaction.atomic():
        locked = _locked(org, campaign)
        if locked.settled_at is not None:
            return True
        open_statuses = (MessageStatus.SENDING,)
        if locked.status == S.SENDING:
            open_statuses = (MessageStatus.PENDING, MessageStatus.DEFERRED, MessageStatus.SENDING)
        elif locked.status not in (S.CANCELLED, S.COMPLETED, S.FAILED):
            return False
        if Message.objects.filter(org=org, campaign=locked, status__in=open_statuses).exists():
            return False
        spent = (
            Message.objects.filter(org=org, campaign=locked, status__in=SPENT_STATUSES).aggregate(
                t=Sum("credits")
            )["t"]
            or 0
        )
        if locked.launched_at is not None:
            credits_settle(org=org, reference=locked.reference, spent=spent)
        update = {"settled_at": now, "credits_spent": spent, "updated_at": now}
        if locked.status == S.SENDING:
            update.update(status=S.COMPLETED, completed_at=now)
        Campaign.objects.filter(pk=locked.pk).update(**update)
        audit_record(
            org=org,
            actor=None,
            action="campaign.completed" if locked.status == S.SENDING else "campaign.settled",
            target=locked,
            data={"credits_spent": spent},
        )
    return True
