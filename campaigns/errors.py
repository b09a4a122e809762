"""Domain errors of campaigns. Each carries the HTTP status it stands for (:class:`DomainError`): the
API's exception handler renders it, the pages show its message with the same status."""

from __future__ import annotations

from smsplatform.errors import DomainError


class CampaignError(DomainError):
    """Base class: ``code`` is the machine code the API returns beside ``detail``."""

    code = "campaign_error"
    http_status = 400


class InvalidTransition(CampaignError):
    """The campaign is not in a state that allows this action (API: 409)."""

    code = "invalid_state"
    http_status = 409

    def __init__(self, current: str, action: str):
        super().__init__(
            f"A campaign in status '{current}' cannot be {action}.", code=f"invalid_state_{current}"
        )
        self.current = current
        self.action = action


class EmptyAudience(CampaignError):
    """A launch with no recipient at all (API: 400)."""

    code = "empty_audience"
