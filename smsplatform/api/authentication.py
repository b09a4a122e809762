"""Bearer API keys: ``Authorization: Bearer sk_<prefix>_<secret>``; only a SHA-256 of the key is stored."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions

from smsplatform.models import ApiKey

KEY_PREFIX = "sk_"
# last_used_at is informative: writing it on every request would make each key a hot row.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_api_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def split_api_key(raw_key: str) -> str | None:
    """The lookup prefix of a well-formed key, or None."""
    if not raw_key.startswith(KEY_PREFIX):
        return None
    parts = raw_key[len(KEY_PREFIX) :].split("_", 1)
    if len(parts) != 2 or not parts[0] or not parts[1]:
        return None
    return parts[0]


class ApiKeyPrincipal:
    """The "user" of a request authenticated by an API key: the key itself acts, not a person."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, api_key: ApiKey):
        self.api_key = api_key
        self.email = ""

    def __str__(self) -> str:
        return f"API key {self.api_key.name} ({self.api_key.prefix})"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, raw_key = header.partition(" ")
        if scheme.lower() != self.keyword.lower():
            return None
        raw_key = raw_key.strip()
        prefix = split_api_key(raw_key)
        if prefix is None:
            raise exceptions.AuthenticationFailed("Malformed API key.", code="invalid_api_key")
        key = ApiKey.objects.select_related("org").filter(prefix=prefix, revoked_at__isnull=True).first()
        if key is None or not hmac.compare_digest(key.key_hash, hash_api_key(raw_key)):
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.", code="invalid_api_key")
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        request._request.org = key.org
        request._request.api_role = key.role
        return ApiKeyPrincipal(key), key

    def authenticate_header(self, request):
        return self.keyword
