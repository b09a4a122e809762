"""The proof of work of the public opt-in form (ALTCHA, verified here: no third party is called).

The visitor's browser fetches a signed challenge, spends a moment of CPU finding the counter that solves
it, and posts the solution with the form. A bot sending thousands of requests pays that moment for each
one. A solution opens one request of one organisation's form, once, before it expires.
"""

from __future__ import annotations

import hashlib
import secrets
import time

import altcha
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from smsplatform.models import Organisation

ALGORITHM = "PBKDF2/SHA-256"  # solved by the widget's bundled worker with WebCrypto, no WebAssembly
MAX_PAYLOAD_LENGTH = 4096


def _key(purpose: str) -> bytes:
    # Keys of their own, derived from SECRET_KEY: a leaked challenge key must not sign anything else.
    label = f"smsplatform.contacts.optin-altcha.{purpose}:".encode()
    return hashlib.sha256(label + settings.SECRET_KEY.encode()).digest()


def challenge_create(*, org: Organisation) -> dict:
    """A new challenge for the form of ``org``, as the widget expects it (``parameters``, ``signature``).

    The server picks the counter and keeps only an HMAC of the key it derives: the browser must search
    ``[0, OPTIN_CHALLENGE_MAX_NUMBER)`` for it, each try costing ``OPTIN_CHALLENGE_COST`` PBKDF2 rounds,
    and the server checks a solution with one HMAC."""
    challenge = altcha.create_challenge(
        ALGORITHM,
        int(settings.OPTIN_CHALLENGE_COST),
        counter=secrets.randbelow(max(1, int(settings.OPTIN_CHALLENGE_MAX_NUMBER))),
        expires_at=int(time.time()) + int(settings.OPTIN_CHALLENGE_LIFETIME),
        data={"org": org.pk},
        hmac_secret=_key("challenge"),
        hmac_key_secret=_key("derived-key"),
    )
    return challenge.to_dict()


def challenge_verify(*, org: Organisation, payload: str) -> None:
    """Accepts a solved challenge of this organisation's form once; raises ValidationError otherwise."""
    refused = ValidationError(_("The anti-spam verification failed. Please verify again, then sign up."))
    payload = (payload or "").strip()
    if not payload or len(payload) > MAX_PAYLOAD_LENGTH:
        raise refused
    try:
        parsed = altcha.Payload.from_base64(payload)
        result = altcha.verify_solution(parsed, _key("challenge"), hmac_key_secret=_key("derived-key"))
        parameters = parsed.challenge.parameters
        verified = result.verified and (parameters.data or {}).get("org") == org.pk
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        raise refused
    if result.expired:
        raise ValidationError(_("The anti-spam verification expired. Please verify again, then sign up."))
    if not verified:
        raise refused
    # A solution is good for one request: remembered until its challenge expires, when it is refused anyway.
    remaining = max(1, int(parameters.expires_at - time.time()) + 1)
    if not cache.add(f"contacts:optin:altcha-used:{parsed.challenge.signature}", 1, remaining):
        raise refused
