"""Periodic work of the contacts module (add "contacts.beat" to BEAT_MODULES in smsplatform/celery.py)."""

from __future__ import annotations

BEAT_SCHEDULE: dict[str, dict] = {
    "contacts-requeue-stalled-imports": {"task": "contacts.import_jobs_requeue_stalled", "schedule": 300.0},
}
