"""The periodic work of the pipeline (docs/architecture.md, "Periodic work"), wired into Celery beat by
``smsplatform/celery.py`` (``BEAT_MODULES``). Intervals in seconds;
each task holds a non-blocking lock, so a run that overlaps the previous one does nothing."""

from __future__ import annotations

BEAT_SCHEDULE: dict[str, dict] = {
    "campaigns-launch-due": {"task": "campaigns.launch_due_campaigns", "schedule": 30.0},
    "campaigns-release-deferred": {"task": "campaigns.release_deferred_messages", "schedule": 60.0},
    "campaigns-reconcile": {"task": "campaigns.reconcile_messages", "schedule": 120.0},
    "campaigns-settle": {"task": "campaigns.settle_campaigns", "schedule": 30.0},
}
