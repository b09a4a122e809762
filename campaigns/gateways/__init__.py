"""SMS gateways: one interface (:class:`Gateway`), adapters chosen by ``settings.SMS_GATEWAY``.

The pipeline imports from here only; adapters are loaded lazily by :func:`get_gateway`, so the ``twilio``
package is imported only where Twilio is used.
"""

from .base import (
    ACCEPTED,
    PERMANENT_ERROR,
    TRANSIENT_ERROR,
    Gateway,
    GatewayConfigurationError,
    InboundSms,
    OutboundSms,
    Receipt,
    SendResult,
    WebhookError,
    available_gateways,
    get_gateway,
    register_gateway,
    reset_gateways,
    webhook_url,
)

__all__ = [
    "ACCEPTED",
    "PERMANENT_ERROR",
    "TRANSIENT_ERROR",
    "Gateway",
    "GatewayConfigurationError",
    "InboundSms",
    "OutboundSms",
    "Receipt",
    "SendResult",
    "WebhookError",
    "available_gateways",
    "get_gateway",
    "register_gateway",
    "reset_gateways",
    "webhook_url",
]
