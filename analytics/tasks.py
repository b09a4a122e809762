"""Celery tasks of the analytics app: thin, each calls one service under a non-blocking lock."""

from __future__ import annotations

from celery import shared_task

from campaigns.locks import periodic_lock

from . import services


@shared_task(name="analytics.message_counts_squash", ignore_result=True)
@periodic_lock("analytics.squash_message_counts", timeout=300)
def message_counts_squash() -> dict[str, int]:
    """Beat: folds the counters' delta rows so that a report keeps reading a few hundred rows."""
    return services.message_counts_squash()
