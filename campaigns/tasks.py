"""Celery tasks of the sending pipeline: thin (ids in, one service call), never one task per message.

``now`` may be passed as an ISO string (JSON serialisation) so that tests and the benchmark can run the
pipeline at a frozen instant; workers leave it empty.
"""

from __future__ import annotations

from datetime import datetime

from celery import shared_task
from django.utils.dateparse import parse_datetime

from . import periodic, pipeline
from .locks import periodic_lock


def _at(now: str | None) -> datetime | None:
    return parse_datetime(now) if now else None


@shared_task(name="campaigns.campaign_dispatch", ignore_result=True)
def campaign_dispatch(campaign_id: int, now: str | None = None) -> int:
    """Coordinator: splits a sending campaign into batch tasks."""
    return pipeline.campaign_dispatch(campaign_id=campaign_id, now=_at(now))


@shared_task(name="campaigns.batch_send", ignore_result=True)
def batch_send(org_id: int, message_ids: list[int], now: str | None = None) -> dict[str, int]:
    """One batch: the gate, the claim, one gateway call per chunk. Safe to deliver twice."""
    return pipeline.batch_send(org_id=org_id, message_ids=message_ids, now=_at(now))


@shared_task(name="campaigns.campaigns_launch_due", ignore_result=True)
@periodic_lock("campaigns.launch_due", timeout=300)
def campaigns_launch_due(now: str | None = None) -> dict[str, int]:
    """Beat: launches scheduled campaigns whose time has come."""
    return periodic.campaigns_launch_due(now=_at(now))


@shared_task(name="campaigns.messages_release_deferred", ignore_result=True)
@periodic_lock("campaigns.release_deferred", timeout=300)
def messages_release_deferred(now: str | None = None) -> dict[str, int]:
    """Beat: sends again the messages deferred to an instant that has come."""
    return pipeline.messages_release_deferred(now=_at(now))


@shared_task(name="campaigns.messages_reconcile", ignore_result=True)
@periodic_lock("campaigns.reconcile", timeout=600)
def messages_reconcile(now: str | None = None) -> dict[str, int]:
    """Beat: settles messages stuck in ``sending`` and re-queues pending ones whose task was lost."""
    return pipeline.messages_reconcile(now=_at(now))


@shared_task(name="campaigns.campaigns_settle", ignore_result=True)
@periodic_lock("campaigns.settle", timeout=300)
def campaigns_settle(now: str | None = None) -> dict[str, int]:
    """Beat: completes finished campaigns and settles their credits."""
    return periodic.campaigns_settle(now=_at(now))
