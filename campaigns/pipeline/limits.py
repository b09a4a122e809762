"""The pipeline's sizes and delays, read from the settings at call time (tests override them)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings


def batch_size() -> int:
    """Messages per batch task. 1,000 measured best in bench/pipeline.py: each batch has a fixed cost (a
    dozen queries, one gateway call, two commits) that smaller batches pay more often, while larger ones
    gain little more and leave fewer tasks to share between worker processes at the end of a campaign."""
    return settings.CAMPAIGN_BATCH_SIZE


def max_attempts() -> int:
    return settings.CAMPAIGN_MAX_ATTEMPTS


def retry_delay(attempts: int) -> int:
    """Exponential backoff of a transient gateway error: 30 s, 60 s, 120 s... capped at 30 minutes."""
    base = settings.CAMPAIGN_RETRY_BASE_SECONDS
    return min(base * 2 ** max(0, attempts - 1), 1800)


def sending_timeout() -> timedelta:
    """How long a claimed message may stay in ``sending`` before the reconciliation looks at it. Longer
    than a task's hard time limit, so that the batch which claimed it is certainly dead by then."""
    return timedelta(seconds=settings.CAMPAIGN_SENDING_TIMEOUT)


def requeue_after() -> timedelta:
    """A pending message queued longer ago than this lost its batch task (a broker restart): re-queue."""
    return timedelta(seconds=settings.CAMPAIGN_REQUEUE_AFTER)


#: A message queued more recently than this needs no new ``queued_at`` from the dispatch.
DISPATCH_FRESH = timedelta(minutes=1)
