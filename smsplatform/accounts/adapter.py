"""The allauth adapter: where allauth asks the platform a question."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from smsplatform.client_ip import client_ip


class AccountAdapter(DefaultAccountAdapter):
    error_messages = {
        **DefaultAccountAdapter.error_messages,
        # What to do next, not only what is wrong (docs/accounts.md, "What the sign-up reveals, and why").
        "email_taken": _(
            "This address already has an account. Log in, or reset your password if you forgot it."
        ),
        # allauth's own words say neither how long nor why; a locked-out owner wants both.
        "too_many_login_attempts": _(
            "Too many failed log-in attempts for this account or from this network. Wait 15 minutes, or "
            "reset your password by email: that unlocks the account at once."
        ),
    }

    def get_client_ip(self, request) -> str:
        """The address the rate limits count: REMOTE_ADDR, or the client a trusted proxy relays for
        (settings.TRUSTED_PROXIES). allauth reduces an IPv6 address to its /64 itself."""
        address = client_ip(request)
        if not address:
            raise PermissionDenied("Unable to determine the client's address")
        return address
