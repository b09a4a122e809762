"""The periodic work of the pipeline (docs/architecture.md, "Periodic work"), wired into Celery beat by
``smsplatform/celery.py`` (``BEAT_MODULES``). Intervals in seconds;
each task holds a non-blocking lock, so a run that overlaps the previous one does nothing."""

from __future__ import annotations

BEAT_SCHEDULE: dict[str, dict] = {
    "campaigns-launch-due": {"task": "campaigns.campaigns_launch_due", "schedule": 30.0},
    "campaigns-release-deferred": {"task": "campaigns.messages_release_deferred", "schedule": 60.0},
    "campaigns-reconcile": {"task": "campaigns.messages_reconcile", "schedule": 120.0},
    "campaigns-settle": {"task": "campaigns.campaigns_settle", "schedule": 30.0},
}
