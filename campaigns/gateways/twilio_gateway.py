"""The ``twilio`` gateway: Twilio's Programmable Messaging through the official ``twilio`` package.

Twilio has no batch endpoint, so :meth:`TwilioGateway.send_batch` makes one ``Messages.json`` request per
message (a few in parallel). Our ``client_ref`` travels in the StatusCallback URL's query string, which
Twilio calls back verbatim, so a receipt can be matched even when the send response was lost. Webhooks are
authenticated with Twilio's own scheme (``X-Twilio-Signature``, checked by ``RequestValidator``).

Settings: ``TWILIO_ACCOUNT_SID``, ``TWILIO_AUTH_TOKEN``, optional ``TWILIO_MESSAGING_SERVICE_SID`` (used
when a message has no sender), ``TWILIO_BASE_URL`` (points the client at a local fake in tests),
``TWILIO_TIMEOUT`` (seconds per request), ``TWILIO_SEND_CONCURRENCY`` (parallel requests per batch).
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.utils import timezone
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import SIGNATURE_SETTINGS_HEADER, RequestValidator, get_signature_algorithm
from twilio.rest import Client

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
    SendStatus,
    WebhookError,
    webhook_url,
)

if TYPE_CHECKING:
    from django.http import HttpRequest

logger = logging.getLogger(__name__)

#: Twilio error codes that say "this message will never go through as it is": fail it, release credits.
PERMANENT_ERROR_CODES = frozenset(
    {
        21211,  # invalid 'To' phone number
        21212,  # invalid 'From' number
        21214,  # 'To' number cannot be reached
        21217,  # phone number does not appear to be valid
        21401,  # invalid phone number
        21408,  # permission to send to this region not enabled
        21601,  # phone number is not a valid SMS-capable number
        21602,  # message body is required
        21604,  # 'To' is required
        21606,  # 'From' is not a valid, SMS-capable number for this account
        21610,  # recipient unsubscribed (replied STOP to this sender)
        21612,  # cannot route to this number from this sender
        21614,  # 'To' is not a mobile number
        21617,  # body exceeds the concatenated-message limit
        21635,  # 'To' is a landline
        30003,  # unreachable destination handset
        30004,  # message blocked
        30005,  # unknown destination handset
        30006,  # landline or unreachable carrier
        30007,  # filtered as spam by the carrier
    }
)
#: codes that mean "try again later" even though the HTTP status is a 4xx.
TRANSIENT_ERROR_CODES = frozenset(
    {
        14107,  # SMS send rate limit exceeded
        20429,  # too many requests
        20500,  # internal server error
        20503,  # service unavailable
        30001,  # queue overflow
        30008,  # unknown error (carrier side)
    }
)
_NOT_TRIED = "not tried after a network error in the same batch"
_RECEIPT_STATUS_MAP = {
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
    "sent": "sent",
}


def classify_error(http_status: int | None, code: int | None) -> SendStatus:
    """Decide whether a Twilio API error is worth retrying.

    Auth and account errors (401/403) are transient on purpose: they are our configuration's fault, not the
    message's, and failing a whole campaign permanently for them would throw its credits away.
    """
    if code in PERMANENT_ERROR_CODES:
        return PERMANENT_ERROR
    if code in TRANSIENT_ERROR_CODES:
        return TRANSIENT_ERROR
    if http_status is None or http_status in (401, 403, 408, 429) or http_status >= 500:
        return TRANSIENT_ERROR
    return PERMANENT_ERROR


class TwilioGateway(Gateway):
    """Adapter for Twilio; credentials are only required when something is actually sent or verified."""

    name = "twilio"
    max_batch_size = 200

    def __init__(
        self,
        account_sid: str | None = None,
        auth_token: str | None = None,
        base_url: str | None = None,
        messaging_service_sid: str | None = None,
        concurrency: int | None = None,
        timeout: float | None = None,
    ) -> None:
        self.account_sid = account_sid or settings.TWILIO_ACCOUNT_SID
        self.auth_token = auth_token or settings.TWILIO_AUTH_TOKEN
        self.base_url = base_url or settings.TWILIO_BASE_URL
        self.messaging_service_sid = messaging_service_sid or settings.TWILIO_MESSAGING_SERVICE_SID
        self.concurrency = max(1, concurrency or settings.TWILIO_SEND_CONCURRENCY)
        self.timeout = timeout or settings.TWILIO_TIMEOUT
        # twilio's HTTP client keeps a requests.Session; one client per thread avoids sharing it.
        self._local = threading.local()

    # ---- sending -------------------------------------------------------------------------------------

    def _client(self) -> Client:
        client = getattr(self._local, "client", None)
        if client is None:
            if not self.account_sid or not self.auth_token:
                raise GatewayConfigurationError("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN must be set")
            client = Client(
                self.account_sid,
                self.auth_token,
                http_client=TwilioHttpClient(timeout=self.timeout),
            )
            if self.base_url:
                client.api.base_url = self.base_url.rstrip("/")
            self._local.client = client
        return client

    def status_callback_url(self, client_ref: str) -> str:
        """Where Twilio reports this message's status; carries ``client_ref`` for matching."""
        return f"{webhook_url(self.name, 'status')}?{urlencode({'client_ref': client_ref})}"

    def send_batch(self, messages: list[OutboundSms]) -> list[SendResult]:
        """One ``Messages.json`` request per message; a network error fails the rest of the batch as
        transient without trying them, rather than waiting a timeout per message."""
        if not messages:
            return []
        network_down = threading.Event()

        def send_one(message: OutboundSms) -> SendResult:
            if network_down.is_set():
                return SendResult(
                    message.client_ref,
                    None,
                    TRANSIENT_ERROR,
                    "network_error",
                    "not tried after a network error",
                )
            try:
                return self._send_one(message)
            except requests.RequestException as exc:
                network_down.set()
                return SendResult(
                    message.client_ref, None, TRANSIENT_ERROR, "network_error", f"{type(exc).__name__}: {exc}"
                )

        if self.concurrency == 1 or len(messages) == 1:
            return [send_one(m) for m in messages]
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(messages))) as pool:
            return list(pool.map(send_one, messages))

    def _send_one(self, message: OutboundSms) -> SendResult:
        params: dict[str, str] = {
            "to": message.to,
            "body": message.text,
            "status_callback": self.status_callback_url(message.client_ref),
        }
        if message.sender:
            params["from_"] = message.sender
        elif self.messaging_service_sid:
            params["messaging_service_sid"] = self.messaging_service_sid
        try:
            created = self._client().messages.create(**params)
        except TwilioRestException as exc:
            code = exc.code if isinstance(exc.code, int) else None
            return SendResult(
                message.client_ref,
                None,
                classify_error(exc.status, code),
                str(exc.code or exc.status),
                str(exc.msg)[:500],
            )
        except TwilioServiceException as exc:
            return SendResult(
                message.client_ref,
                None,
                classify_error(exc.status, exc.code),
                str(exc.code),
                str(exc.detail or exc.title)[:500],
            )
        except TwilioException as exc:  # e.g. an unreadable response body
            return SendResult(message.client_ref, None, TRANSIENT_ERROR, "twilio_error", str(exc)[:500])
        if created.status == "failed":
            code = created.error_code
            return SendResult(
                message.client_ref,
                created.sid,
                classify_error(400, code),
                str(code or "failed"),
                str(created.error_message or ""),
            )
        return SendResult(message.client_ref, created.sid, ACCEPTED)

    # ---- webhooks ------------------------------------------------------------------------------------

    def verify_webhook(self, request: HttpRequest) -> bool:
        """Check ``X-Twilio-Signature`` against the URL Twilio called and the POSTed form fields.

        The URL is rebuilt on ``SITE_URL`` first (the one we gave Twilio, right behind a TLS-terminating
        proxy), then from the request itself.
        """
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature or not self.auth_token:
            return False
        algorithm = get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER))
        validator = RequestValidator(self.auth_token)
        candidates = [settings.SITE_URL.rstrip("/") + request.get_full_path()]
        try:
            candidates.append(request.build_absolute_uri())
        except Exception:  # noqa: S110 - DisallowedHost: the SITE_URL candidate is enough
            pass
        params = request.POST
        return any(validator.validate(url, params, signature, algorithm) for url in dict.fromkeys(candidates))

    def parse_receipts(self, request: HttpRequest) -> list[Receipt]:
        """Read Twilio's status callback form (MessageSid, MessageStatus, ErrorCode); queued/sending skip."""
        sid = request.POST.get("MessageSid") or request.POST.get("SmsSid")
        raw_status = (request.POST.get("MessageStatus") or request.POST.get("SmsStatus") or "").lower()
        if not sid or not raw_status:
            raise WebhookError("MessageSid and MessageStatus are required")
        status = _RECEIPT_STATUS_MAP.get(raw_status)
        if status is None:
            return []
        occurred_at: datetime = timezone.now()  # Twilio's callback carries no timestamp
        return [
            Receipt(
                provider_id=sid,
                client_ref=request.GET.get("client_ref") or None,
                status=status,  # type: ignore[arg-type]
                error_code=request.POST.get("ErrorCode") or "",
                occurred_at=occurred_at,
            )
        ]

    def parse_inbound(self, request: HttpRequest) -> list[InboundSms]:
        """Read Twilio's incoming-message form (MessageSid, From, To, Body)."""
        sid = request.POST.get("MessageSid") or request.POST.get("SmsSid")
        sender = request.POST.get("From")
        if not sid or not sender:
            raise WebhookError("MessageSid and From are required")
        return [
            InboundSms(
                provider_id=sid,
                from_=sender,
                to=request.POST.get("To", ""),
                text=request.POST.get("Body", ""),
                received_at=timezone.now(),
            )
        ]
