"""Celery tasks of the contacts module: thin, they take ids and call one service."""

from __future__ import annotations

from celery import shared_task

from . import jobs


@shared_task(
    name="contacts.import_job_run",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=None,
    time_limit=None,
)
def import_job_run(job_id: int) -> None:
    """Runs or resumes an import job. A worker killed half-way gets the task redelivered (late ack) and
    the job continues after its last committed chunk; the service refuses to run a chunk twice. No time
    limit: a million-row file takes longer than the default limit, and the job checkpoints anyway."""
    jobs.import_job_run(job_id=job_id)


@shared_task(name="contacts.import_jobs_requeue_stalled", ignore_result=True)
def import_jobs_requeue_stalled() -> dict[str, int]:
    """Periodic: re-queues import jobs whose worker died without the broker redelivering the task.
    A non-blocking lock keeps two overlapping runs from both acting."""
    from django.core.cache import cache

    if not cache.add("contacts:import_jobs_requeue_stalled", 1, 300):
        return {"skipped": 1}
    try:
        return jobs.import_jobs_requeue_stalled()
    finally:
        cache.delete("contacts:import_jobs_requeue_stalled")
