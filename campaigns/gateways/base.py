"""The one interface every SMS gateway adapter implements, and the registry that picks one by name.

The sending pipeline only ever talks to :class:`Gateway`; it never imports an adapter directly, so the
sandbox (loopback), the development console and a real provider are interchangeable by settings. Nothing
here knows about campaign or message models: a message is identified to the gateway by an opaque
``client_ref`` (the pipeline uses its message id) and everything comes back keyed by it.
"""

from __future__ import annotations

import abc
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from django.http import HttpRequest

SendStatus = Literal["accepted", "transient_error", "permanent_error"]
ReceiptStatus = Literal["delivered", "undelivered", "failed", "sent"]

ACCEPTED: SendStatus = "accepted"
TRANSIENT_ERROR: SendStatus = "transient_error"
PERMANENT_ERROR: SendStatus = "permanent_error"


@dataclass(frozen=True, slots=True)
class OutboundSms:
    """One message handed to a gateway; ``client_ref`` lets a retried call be reconciled with the first."""

    client_ref: str
    to: str  # E.164
    sender: str  # a validated sender id (alphanumeric) or an E.164 number
    text: str


@dataclass(frozen=True, slots=True)
class SendResult:
    """What the provider said about one :class:`OutboundSms`, so the pipeline can settle that message.

    ``transient_error`` means "retry later with backoff"; ``permanent_error`` means "fail the message and
    release its credits", with the provider's own ``error_code`` kept for the report.
    """

    client_ref: str
    provider_id: str | None
    status: SendStatus
    error_code: str = ""
    error_message: str = ""

    @property
    def accepted(self) -> bool:
        """True when the provider took the message (a receipt will follow)."""
        return self.status == ACCEPTED

    @property
    def retryable(self) -> bool:
        """True when sending the same message again later may succeed."""
        return self.status == TRANSIENT_ERROR


@dataclass(frozen=True, slots=True)
class Receipt:
    """A delivery report, matched to our message by ``provider_id`` (and ``client_ref`` when the provider
    echoes it back, which lets a receipt be matched even if the send response was lost)."""

    provider_id: str
    client_ref: str | None
    status: ReceiptStatus
    error_code: str = ""
    occurred_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class InboundSms:
    """A reply from a handset (STOP, START, free text), as the webhook layer records it."""

    provider_id: str
    from_: str  # E.164
    to: str
    text: str
    received_at: datetime | None = None


class WebhookError(ValueError):
    """Raised by ``parse_*`` when a webhook body is malformed; the view answers 400 and the provider
    retries or gives up, which is right for a body we cannot read."""


class GatewayConfigurationError(RuntimeError):
    """Raised when a gateway is selected without the settings it needs (e.g. Twilio credentials)."""


class Gateway(abc.ABC):
    """The contract between the sending pipeline and an SMS provider.

    Adapters must be safe to share between threads of one process (the registry caches one instance per
    name so HTTP connections are pooled) and must never raise from :meth:`send_batch` for a provider or
    network problem: every input gets exactly one :class:`SendResult`.
    """

    #: registry name, also the ``<gateway>`` segment of the webhook URLs
    name: str = ""
    #: how many messages one :meth:`send_batch` call should carry at most; the pipeline chunks by it
    max_batch_size: int = 1000
    #: whether :meth:`lookup_sent` is implemented (reconciling a call that timed out after acceptance)
    supports_lookup: bool = False

    @abc.abstractmethod
    def send_batch(self, messages: list[OutboundSms]) -> list[SendResult]:
        """Send ``messages``, one provider call per batch where the provider allows it.

        Returns one result per input, in input order (also keyed by ``client_ref``). A network error is a
        ``transient_error`` for every message it affected.
        """

    @abc.abstractmethod
    def parse_receipts(self, request: HttpRequest) -> list[Receipt]:
        """Delivery receipts carried by a (verified) status webhook; intermediate states are skipped."""

    @abc.abstractmethod
    def parse_inbound(self, request: HttpRequest) -> list[InboundSms]:
        """Replies carried by a (verified) inbound webhook."""

    @abc.abstractmethod
    def verify_webhook(self, request: HttpRequest) -> bool:
        """True when the webhook really comes from this provider (signature checked in constant time)."""

    def lookup_sent(self, client_refs: Iterable[str]) -> dict[str, str]:
        """Map each ``client_ref`` the provider already accepted to its provider id.

        Lets the reconciliation of messages stuck in ``sending`` (a call that timed out after the provider
        accepted it) avoid sending twice. Only meaningful when :attr:`supports_lookup` is true.
        """
        raise NotImplementedError(f"gateway {self.name!r} cannot look messages up by client_ref")

    def webhook_url(self, kind: Literal["status", "inbound"], base: str | None = None) -> str:
        """The platform URL this gateway posts ``kind`` webhooks to (``/webhooks/sms/<name>/<kind>``)."""
        return webhook_url(self.name, kind, base)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


def webhook_url(gateway_name: str, kind: str, base: str | None = None) -> str:
    """The public webhook URL (docs/api.md, "Webhooks"), on ``SITE_URL`` unless another base is given."""
    root = (base if base is not None else settings.SITE_URL).rstrip("/")
    return f"{root}/webhooks/sms/{gateway_name}/{kind}"


@dataclass
class _Registry:
    classes: dict[str, str | type[Gateway]] = field(default_factory=dict)
    instances: dict[str, Gateway] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


_registry = _Registry(
    classes={
        "console": "campaigns.gateways.console.ConsoleGateway",
        "loopback": "campaigns.gateways.loopback.LoopbackGateway",
        "twilio": "campaigns.gateways.twilio_gateway.TwilioGateway",
    }
)


def register_gateway(name: str, cls: str | type[Gateway]) -> None:
    """Make another adapter selectable by name (a dotted path is imported lazily, on first use)."""
    with _registry.lock:
        _registry.classes[name] = cls
        _registry.instances.pop(name, None)


def available_gateways() -> list[str]:
    """Names accepted by :func:`get_gateway`, for settings validation and the operator's admin."""
    return sorted(_registry.classes)


def get_gateway(name: str | None = None) -> Gateway:
    """The adapter called ``name`` (default ``settings.SMS_GATEWAY``), one shared instance per process.

    Instances are cached because adapters hold HTTP connection pools; the cache is dropped whenever a
    setting changes (``override_settings`` in tests).
    """
    name = name or settings.SMS_GATEWAY
    with _registry.lock:
        gateway = _registry.instances.get(name)
        if gateway is not None:
            return gateway
        try:
            cls = _registry.classes[name]
        except KeyError:
            raise GatewayConfigurationError(
                f"unknown SMS gateway {name!r}; choose one of {', '.join(sorted(_registry.classes))}"
            )
        if isinstance(cls, str):
            cls = import_string(cls)
        gateway = cls()
        _registry.instances[name] = gateway
        return gateway


def reset_gateways() -> None:
    """Forget cached adapter instances so the next :func:`get_gateway` reads the settings again."""
    with _registry.lock:
        _registry.instances.clear()


@receiver(setting_changed)
def _reset_on_setting_change(**kwargs: object) -> None:
    reset_gateways()
