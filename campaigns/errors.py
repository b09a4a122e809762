"""Domain errors of campaigns; the API maps them to HTTP (409, 400), pages to a message."""

from __future__ import annotations


class CampaignError(Exception):
    """Base class: ``code`` is the machine code the API returns beside ``detail``."""

    code = "campaign_error"

    def __init__(self, detail: str, code: str | None = None):
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code


class InvalidTransition(CampaignError):
    """The campaign is not in a state that allows this action (API: 409)."""

    code = "invalid_state"

    def __init__(self, current: str, action: str):
        super().__init__(f"A campaign in status '{current}' cannot be {action}.", f"invalid_state_{current}")
        self.current = current
        self.action = action


class EmptyAudience(CampaignError):
    """A launch with no recipient at all (API: 400)."""

    code = "empty_audience"
