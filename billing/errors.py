"""The errors billing raises on purpose, in one place (re-exported by ``billing.services``).

A refusal that the API or the pages answer is a :class:`~smsplatform.errors.DomainError`, so that it
carries its own ``code``, HTTP status and ``detail``. The others are contracts between our own modules
(:class:`ReservationError`), signals to the payment provider (:class:`EventNotReady`) or the provider's
own failures (:class:`PaymentError`, :class:`WebhookRejected`): no person reads their text.
"""

from __future__ import annotations

from smsplatform.errors import DomainError


class InsufficientCredits(DomainError):
    """Raised when a debit would take the balance below zero; nothing is written."""

    code = "insufficient_credits"
    http_status = 402

    def __init__(self, needed: int, available: int):
        self.needed = needed
        self.available = available
        super().__init__(f"This launch needs {needed} credits; {available} are available.")

    def __str__(self) -> str:
        # The operator's adjustment form and the logs show this too, where there is no launch.
        return f"{self.needed} credits needed, {self.available} available."


class ReservationError(ValueError):
    """A release or settlement that does not match what the reference holds; nothing is written."""


class PurchaseError(DomainError):
    """A purchase that cannot move to the requested state; nothing is written."""

    code = "purchase_refused"
    http_status = 409


class EventNotReady(Exception):
    """A provider event that refers to something we have not seen yet (events arrive out of order):
    nothing is recorded, the provider is asked to deliver it again later."""


class PaymentError(Exception):
    """The provider refused or could not be reached; nothing was charged."""


class WebhookRejected(Exception):
    """A webhook whose signature or body cannot be trusted: answered 400, nothing is done."""
