"""HMAC signatures for the webhooks of our own gateways (the loopback server today).

Shared by the loopback server (which signs what it posts) and the webhook side (which verifies), so both
ends compute exactly the same thing: HMAC-SHA256 over ``timestamp + "." + raw body`` with
``settings.GATEWAY_WEBHOOK_SECRET``, hex-encoded. The timestamp is signed too so that a captured webhook
cannot be replayed after :data:`MAX_AGE_SECONDS`. This module is pure standard library apart from
:func:`verify_request`, so the server can use it without touching Django's request machinery.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.http import HttpRequest

TIMESTAMP_HEADER = "X-Loopback-Timestamp"
SIGNATURE_HEADER = "X-Loopback-Signature"
#: older than this (or this far in the future, for clock skew) and a signed request is refused
MAX_AGE_SECONDS = 300


def _as_bytes(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def compute_signature(secret: str | bytes, timestamp: str, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``timestamp.body``; exposed so tests and other tools can sign by hand."""
    mac = hmac.new(_as_bytes(secret), _as_bytes(timestamp) + b"." + body, hashlib.sha256)
    return mac.hexdigest()


def sign(body: bytes, secret: str | bytes, timestamp: int | None = None) -> dict[str, str]:
    """Headers to send with ``body`` so the receiver can authenticate it."""
    ts = str(int(time.time()) if timestamp is None else int(timestamp))
    return {TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: compute_signature(secret, ts, body)}


def verify(
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    secret: str | bytes,
    *,
    max_age: float = MAX_AGE_SECONDS,
    now: float | None = None,
) -> bool:
    """True when ``signature`` matches ``body`` and ``timestamp`` is recent (constant-time comparison)."""
    if not timestamp or not signature or not secret:
        return False
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - ts) > max_age:
        return False
    expected = compute_signature(secret, timestamp, body)
    return hmac.compare_digest(expected, signature.strip().lower())


def verify_request(request: HttpRequest, secret: str | bytes | None = None) -> bool:
    """Verify a Django request signed by :func:`sign` (default secret: ``GATEWAY_WEBHOOK_SECRET``)."""
    if secret is None:
        from django.conf import settings

        secret = settings.GATEWAY_WEBHOOK_SECRET
    return verify(
        request.body,
        request.headers.get(TIMESTAMP_HEADER),
        request.headers.get(SIGNATURE_HEADER),
        secret,
    )
