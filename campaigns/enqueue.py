"""Hands the pipeline's work to Celery: the one place that puts campaign tasks on the queue.

The services (launch, resume, a transactional message) and the pipeline (batches, retries) both
enqueue, and the tasks call the pipeline and the services, so this module stays a leaf: it imports the
task module inside each function, at call time. Tests stand in for the broker by replacing
``enqueue_dispatch`` and ``enqueue_batch`` on this module, so callers reach them through the module
(``enqueue.enqueue_batch(...)``), never by importing the names.
"""

from __future__ import annotations


def enqueue_dispatch(campaign_id: int) -> None:
    # Lazy: campaigns.tasks imports the pipeline and the services, which import this module.
    from .tasks import campaign_dispatch

    campaign_dispatch.delay(campaign_id)


def enqueue_batch(org_id: int, message_ids: list[int], countdown: int | None = None) -> None:
    # Lazy: campaigns.tasks imports the pipeline and the services, which import this module.
    from .tasks import batch_send

    batch_send.apply_async((org_id, list(message_ids)), countdown=countdown)
