"""allauth's two-factor adapter, with the secrets encrypted at rest.

allauth stores each user's TOTP secret and recovery-code seed in the database and leaves their
encryption to the project: in the clear, a copy of the database (a backup, a replica) would be enough to
compute every user's codes. They are encrypted with Fernet (AES-128-CBC and HMAC-SHA256) under a key
derived from ``SECRET_KEY``; the keys of ``SECRET_KEY_FALLBACKS`` still decrypt, so that a rotation of the
secret key does not lock anyone out."""

from __future__ import annotations

import base64
import hashlib

from allauth.mfa.adapter import DefaultMFAAdapter
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


def _fernet(secret_key: str) -> Fernet:
    digest = hashlib.sha256(b"smsplatform.mfa:" + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _keys() -> MultiFernet:
    return MultiFernet([_fernet(settings.SECRET_KEY), *(_fernet(k) for k in settings.SECRET_KEY_FALLBACKS)])


class MFAAdapter(DefaultMFAAdapter):
    def encrypt(self, text: str) -> str:
        return _keys().encrypt(text.encode()).decode()

    def decrypt(self, encrypted_text: str) -> str:
        try:
            return _keys().decrypt(encrypted_text.encode()).decode()
        except InvalidToken:
            raise ValueError("A two-factor secret could not be decrypted with SECRET_KEY or its fallbacks.")
