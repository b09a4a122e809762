"""The allauth adapter: where allauth asks the platform a question."""

from __future__ import annotations

import logging
import smtplib

from allauth.account.adapter import DefaultAccountAdapter
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from smsplatform.client_ip import client_ip

logger = logging.getLogger(__name__)


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

    # allauth's notices that the page after them already says: the dashboard greets a new owner and asks
    # for the verification itself, and a log-in lands on the shop's own dashboard.
    QUIET_AFTER_SIGNUP = {"account/messages/email_confirmation_sent.txt", "account/messages/logged_in.txt"}
    QUIET = {"account/messages/logged_in.txt"}

    def add_message(self, request, level, message_template=None, *args, **kwargs) -> None:
        quiet = self.QUIET_AFTER_SIGNUP if request.path == reverse("account_signup") else self.QUIET
        if message_template in quiet:
            return
        super().add_message(request, level, message_template, *args, **kwargs)

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        """An email that cannot leave (the SMTP server down) must not turn the sign-up or the reset into an
        error page: the account is there, and the dashboard's button or the reset form sends it again."""
        try:
            super().send_mail(template_prefix, email, context)
        except (OSError, smtplib.SMTPException):
            logger.exception("The account email %s could not be sent", template_prefix)

    def get_client_ip(self, request) -> str:
        """The address the rate limits count: REMOTE_ADDR, or the client a trusted proxy relays for
        (settings.TRUSTED_PROXIES). allauth reduces an IPv6 address to its /64 itself."""
        address = client_ip(request)
        if not address:
            raise PermissionDenied("Unable to determine the client's address")
        return address
