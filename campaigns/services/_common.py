"""What every write on a campaign shares: the state machine and the locked re-read of the row."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from smsplatform.models import Organisation

from ..errors import InvalidTransition
from ..models import Campaign, CampaignStatus

S = CampaignStatus
# The state machine: action -> statuses it may start from (the target is fixed by the action).
TRANSITIONS: dict[str, frozenset[str]] = {
    "edited": frozenset({S.DRAFT, S.SCHEDULED}),
    "deleted": frozenset({S.DRAFT, S.SCHEDULED}),
    "scheduled": frozenset({S.DRAFT, S.SCHEDULED}),
    "launched": frozenset({S.DRAFT, S.SCHEDULED}),
    "paused": frozenset({S.SENDING}),
    "resumed": frozenset({S.PAUSED}),
    "cancelled": frozenset({S.DRAFT, S.SCHEDULED, S.SENDING, S.PAUSED}),
    "completed": frozenset({S.SENDING}),
    "failed": frozenset({S.SCHEDULED, S.SENDING}),
}


def _check(campaign: Campaign, action: str) -> None:
    if campaign.status not in TRANSITIONS[action]:
        raise InvalidTransition(campaign.status, action)


def _locked(org: Organisation, campaign: Campaign | int) -> Campaign:
    """The campaign row, locked until the end of the transaction, re-read so its status is current."""
    pk = campaign.pk if isinstance(campaign, Campaign) else campaign
    return Campaign.objects.select_for_update().get(org=org, pk=pk)


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()
