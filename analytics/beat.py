"""Periodic work of the analytics app, merged into Celery beat by ``smsplatform/celery.py``.

Reports are exact without the squash (they add up delta rows too); squashing every 30 s only keeps the
number of rows a report reads small, whatever the sending rate.
"""

from __future__ import annotations

BEAT_SCHEDULE: dict[str, dict] = {
    "analytics-squash-message-counts": {"task": "analytics.message_counts_squash", "schedule": 30.0},
}
