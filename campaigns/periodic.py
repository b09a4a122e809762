"""The beat's entry points that finish what the campaign services start: launching the scheduled
campaigns that are due, and settling the finished ones.

They read the pipeline's state and call the campaign services, which enqueue pipeline work, so they
live here, above both, rather than in the pipeline (which the services would then depend on in a
circle). The pipeline's own periodic work (deferred messages, reconciliation) stays in pipeline/upkeep.py;
campaigns/tasks.py maps every beat task to its function.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from .models import Campaign, CampaignStatus, Message, MessageStatus
from .services import campaign_settle, campaign_start_scheduled

M = MessageStatus


def campaigns_launch_due(*, now: datetime | None = None, limit: int = 100) -> dict[str, int]:
    """Launches the scheduled campaigns whose time has come (each in its own transaction, skipping a
    campaign that another worker is launching)."""
    now = now or timezone.now()
    ids = list(
        Campaign.objects.filter(status=CampaignStatus.SCHEDULED, scheduled_at__lte=now)
        .order_by("scheduled_at", "id")
        .values_list("id", flat=True)[:limit]
    )
    counts = {"launched": 0, "failed": 0, "skipped": 0}
    for campaign_id in ids:
        counts[campaign_start_scheduled(campaign_id=campaign_id, now=now)] += 1
    return counts


def campaigns_settle(*, now: datetime | None = None, limit: int = 200) -> dict[str, int]:
    """Completes sending campaigns whose messages are all final and settles their credits; settles
    cancelled or failed campaigns once nothing is in flight. Idempotent."""
    now = now or timezone.now()
    open_messages = Message.objects.filter(
        campaign_id=OuterRef("pk"), status__in=(M.PENDING, M.DEFERRED, M.SENDING)
    )
    in_flight = Message.objects.filter(campaign_id=OuterRef("pk"), status=M.SENDING)
    candidates = list(
        Campaign.objects.filter(settled_at__isnull=True)
        .filter(
            Q(status=CampaignStatus.SENDING, launched_at__isnull=False) & ~Exists(open_messages)
            | Q(status__in=(CampaignStatus.CANCELLED, CampaignStatus.FAILED)) & ~Exists(in_flight)
        )
        .select_related("org")
        .order_by("id")[:limit]
    )
    counts = {"settled": 0, "waiting": 0}
    for campaign in candidates:
        if campaign_settle(org=campaign.org, campaign=campaign, now=now):
            counts["settled"] += 1
        else:
            counts["waiting"] += 1
    return counts
