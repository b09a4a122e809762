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
from django.utils.translation import gettext_lazy as _


def _fernet(secret_key: str) -> Fernet:
    digest = hashlib.sha256(b"smsplatform.mfa:" + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _keys() -> MultiFernet:
    return MultiFernet([_fernet(settings.SECRET_KEY), *(_fernet(k) for k in settings.SECRET_KEY_FALLBACKS)])


class MFAAdapter(DefaultMFAAdapter):
    # In the words of our pages ("two-factor", "authenticator app"), which the French catalogue translates
    # as "double authentification" throughout.
    error_messages = {
        **DefaultMFAAdapter.error_messages,
        "add_email_blocked": _(
            "Turn off two-factor authentication before adding an email address: a new address must not "
            "weaken a protected account."
        ),
        "cannot_delete_authenticator": _("Two-factor authentication cannot be turned off for this account."),
        "cannot_generate_recovery_codes": _(
            "Turn on two-factor authentication first: recovery codes are its spare keys."
        ),
        "incorrect_code": _(
            "This code is wrong, or was already used (a recovery code works once). An app's code changes "
            "every 30 seconds: check that your phone is on time."
        ),
        "unverified_email": _(
            "Confirm your email address first (the link we emailed you): two-factor authentication protects "
            "an account that can be recovered by email."
        ),
    }

    def encrypt(self, text: str) -> str:
        return _keys().encrypt(text.encode()).decode()

    def decrypt(self, encrypted_text: str) -> str:
        try:
            return _keys().decrypt(encrypted_text.encode()).decode()
        except InvalidToken:
            raise ValueError("A two-factor secret could not be decrypted with SECRET_KEY or its fallbacks.")
