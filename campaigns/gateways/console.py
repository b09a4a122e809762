"""The ``console`` gateway: logs what would be sent, for development without any server running."""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING

from .base import ACCEPTED, Gateway, InboundSms, OutboundSms, Receipt, SendResult

if TYPE_CHECKING:
    from django.http import HttpRequest

logger = logging.getLogger(__name__)


class ConsoleGateway(Gateway):
    """Accepts everything and writes each message to the log; no receipts, no replies, no webhooks."""

    name = "console"
    max_batch_size = 10_000

    def send_batch(self, messages: list[OutboundSms]) -> list[SendResult]:
        """Log each message and accept it with a generated provider id."""
        results = []
        for message in messages:
            provider_id = f"console-{uuid.uuid4().hex}"
            logger.info(
                "SMS %s from %s to %s (ref %s): %s",
                provider_id,
                message.sender,
                message.to,
                message.client_ref,
                message.text,
            )
            results.append(SendResult(message.client_ref, provider_id, ACCEPTED))
        return results

    def parse_receipts(self, request: HttpRequest) -> list[Receipt]:
        """The console never posts receipts."""
        return []

    def parse_inbound(self, request: HttpRequest) -> list[InboundSms]:
        """The console never posts replies."""
        return []

    def verify_webhook(self, request: HttpRequest) -> bool:
        """Nobody may post webhooks in the console's name, so nothing verifies."""
        return False
