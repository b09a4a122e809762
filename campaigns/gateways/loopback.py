"""The ``loopback`` gateway adapter: the HTTP client of the loopback server (``loopback_server.py``).

It is the sandbox a new organisation sends to, and the gateway the integration tests and the benchmark
drive, so it behaves like a real provider client: pooled connections, timeouts, HTTP errors mapped to
transient or permanent, and webhooks authenticated by the HMAC scheme of :mod:`.signing`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import requests
from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from . import signing
from .base import (
    ACCEPTED,
    PERMANENT_ERROR,
    TRANSIENT_ERROR,
    Gateway,
    InboundSms,
    OutboundSms,
    Receipt,
    SendResult,
    WebhookError,
)

if TYPE_CHECKING:
    from django.http import HttpRequest

_RECEIPT_STATUSES = {"delivered", "undelivered", "failed", "sent"}


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    parsed = parse_datetime(str(value))
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, UTC)
    return parsed


def _json_body(request: HttpRequest) -> dict[str, Any]:
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise WebhookError(f"body is not JSON: {exc}")
    if not isinstance(data, dict):
        raise WebhookError("body must be a JSON object")
    return data


class LoopbackGateway(Gateway):
    """Client of the loopback server at ``settings.LOOPBACK_GATEWAY_URL``."""

    name = "loopback"
    max_batch_size = 2000
    supports_lookup = True

    def __init__(
        self,
        base_url: str | None = None,
        secret: str | None = None,
        timeout: float | tuple[float, float] | None = None,
    ) -> None:
        self.base_url = (base_url or settings.LOOPBACK_GATEWAY_URL).rstrip("/")
        self.secret = secret if secret is not None else settings.GATEWAY_WEBHOOK_SECRET
        configured = timeout or settings.LOOPBACK_GATEWAY_TIMEOUT
        # requests wants a tuple for (connect, read); a list would come from an environment variable.
        self.timeout = tuple(configured) if isinstance(configured, list) else configured
        # A requests.Session is not documented as thread-safe; one per thread keeps pooling without risk.
        self._local = threading.local()

    @property
    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            self._local.session = session
        return session

    # ---- sending -------------------------------------------------------------------------------------

    def send_batch(self, messages: list[OutboundSms]) -> list[SendResult]:
        """POST the whole batch to ``/messages`` in one request and map the per-message results."""
        if not messages:
            return []
        payload = {
            "messages": [
                {"to": m.to, "from": m.sender, "text": m.text, "client_ref": m.client_ref} for m in messages
            ]
        }
        try:
            response = self._session.post(f"{self.base_url}/messages", json=payload, timeout=self.timeout)
        except requests.RequestException as exc:
            # The server may or may not have recorded the batch (a read timeout); the caller retries and
            # reconciles with lookup_sent.
            return self._all(messages, TRANSIENT_ERROR, "network_error", f"{type(exc).__name__}: {exc}")
        status = response.status_code
        if status == 429 or status >= 500:
            return self._all(messages, TRANSIENT_ERROR, f"http_{status}", response.text[:200])
        if status >= 400:
            # The server refused the request itself: sending it again unchanged cannot succeed.
            return self._all(messages, PERMANENT_ERROR, f"http_{status}", response.text[:200])
        try:
            rows = response.json()["results"]
            by_ref = {str(row["client_ref"]): row for row in rows}
        except (ValueError, KeyError, TypeError) as exc:
            return self._all(messages, TRANSIENT_ERROR, "bad_response", f"unreadable response: {exc}")
        return [self._result(m, by_ref.get(m.client_ref)) for m in messages]

    @staticmethod
    def _result(message: OutboundSms, row: dict[str, Any] | None) -> SendResult:
        if row is None:
            return SendResult(message.client_ref, None, TRANSIENT_ERROR, "missing_result", "no result for it")
        if row.get("status") == "accepted":
            return SendResult(message.client_ref, str(row["id"]), ACCEPTED)
        status = TRANSIENT_ERROR if row.get("retryable") else PERMANENT_ERROR
        return SendResult(
            message.client_ref,
            str(row["id"]) if row.get("id") else None,
            status,
            str(row.get("error_code") or "failed"),
            str(row.get("error_message") or ""),
        )

    @staticmethod
    def _all(messages: list[OutboundSms], status: str, code: str, text: str) -> list[SendResult]:
        return [SendResult(m.client_ref, None, status, code, text) for m in messages]  # type: ignore[arg-type]

    def lookup_sent(self, client_refs: Iterable[str]) -> dict[str, str]:
        """Ask the server which of ``client_refs`` it accepted (``GET /messages?client_ref=...``).

        Raises ``requests.RequestException`` when the server cannot be reached: the caller must then not
        conclude that nothing was sent.
        """
        refs = list(client_refs)
        found: dict[str, str] = {}
        for start in range(0, len(refs), 200):
            chunk = refs[start : start + 200]
            response = self._session.get(
                f"{self.base_url}/messages", params={"client_ref": chunk}, timeout=self.timeout
            )
            response.raise_for_status()
            for row in response.json():
                found.setdefault(str(row["client_ref"]), str(row["id"]))
        return found

    # ---- webhooks ------------------------------------------------------------------------------------

    def verify_webhook(self, request: HttpRequest) -> bool:
        """Check the ``X-Loopback-Signature`` HMAC and the freshness of ``X-Loopback-Timestamp``."""
        return signing.verify_request(request, self.secret)

    def parse_receipts(self, request: HttpRequest) -> list[Receipt]:
        """Read ``{"receipts": [{id, client_ref, status, error_code, occurred_at}]}``."""
        data = _json_body(request)
        rows = data.get("receipts")
        if not isinstance(rows, list):
            raise WebhookError("'receipts' must be a list")
        receipts = []
        for row in rows:
            if not isinstance(row, dict) or not row.get("id") or row.get("status") not in _RECEIPT_STATUSES:
                raise WebhookError(f"malformed receipt: {row!r}")
            receipts.append(
                Receipt(
                    provider_id=str(row["id"]),
                    client_ref=str(row["client_ref"]) if row.get("client_ref") else None,
                    status=row["status"],
                    error_code=str(row.get("error_code") or ""),
                    occurred_at=_parse_time(row.get("occurred_at")) or timezone.now(),
                )
            )
        return receipts

    def parse_inbound(self, request: HttpRequest) -> list[InboundSms]:
        """Read ``{"messages": [{id, from, to, text, received_at}]}``."""
        data = _json_body(request)
        rows = data.get("messages")
        if not isinstance(rows, list):
            raise WebhookError("'messages' must be a list")
        inbound = []
        for row in rows:
            if not isinstance(row, dict) or not row.get("id") or not row.get("from"):
                raise WebhookError(f"malformed inbound message: {row!r}")
            inbound.append(
                InboundSms(
                    provider_id=str(row["id"]),
                    from_=str(row["from"]),
                    to=str(row.get("to") or ""),
                    text=str(row.get("text") or ""),
                    received_at=_parse_time(row.get("received_at")) or timezone.now(),
                )
            )
        return inbound
