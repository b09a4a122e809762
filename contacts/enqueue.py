"""Puts import jobs on the Celery queue.

contacts.tasks runs the jobs (it imports contacts.jobs), and the jobs re-queue themselves, so this
module stays a leaf: it imports the task module inside the function, at call time.
"""

from __future__ import annotations


def enqueue_import_job(job_id: int) -> None:
    # Lazy: contacts.tasks imports contacts.jobs, which imports this module.
    from .tasks import import_job_run

    import_job_run.delay(job_id)
