"""The composer's "send me a test": only to the user's own mobile, proven once by an SMS code.

A test bypasses consent and sending hours (it is a transactional send), so a test box that took any
number would let anyone text anyone at the shop's expense. The number is therefore the user's, verified
like a double opt-in: a 6-digit code sent through the organisation's gateway (charged like any SMS),
only a keyed hash of it kept, a few minutes to type it, a few attempts.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from compliance.selectors import is_suppressed
from contacts.services import phone_normalise
from smsplatform.audit import audit_record
from smsplatform.models import Organisation, User

from .services import sms_send_transactional

CODE_LIFETIME = timedelta(minutes=10)
MAX_ATTEMPTS = 5
#: A new code no sooner than this after the previous one (each one costs the shop an SMS).
RESEND_AFTER = timedelta(seconds=60)


def _code_hash(user_id: int, phone: str, code: str) -> str:
    key = hashlib.sha256(b"smsplatform.campaigns.test_phone:" + settings.SECRET_KEY.encode()).digest()
    return hmac.new(key, f"{user_id}:{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def own_number_code_send(*, org: Organisation, user: User, phone: str) -> str:
    """Sends a verification code to the number ``user`` says is theirs; returns it in E.164.

    Raises ValidationError (field ``phone``) for a number that is not a valid mobile, one that said STOP
    to this shop (it would never receive the code), or a new code asked for too soon; InsufficientCredits
    when the shop cannot pay the SMS.
    """
    e164 = phone_normalise(org=org, raw=phone)
    if is_suppressed(org, e164):
        raise ValidationError(
            {"phone": [_("This number asked your shop to stop sending SMS: reply START to one first.")]}
        )
    now = timezone.now()
    code = f"{secrets.randbelow(1_000_000):06d}"
    body = _("Your test number verification code: %(code)s") % {"code": code}
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        expires = locked.test_phone_code_expires_at
        if expires is not None and now < expires - CODE_LIFETIME + RESEND_AFTER:
            raise ValidationError({"phone": [_("A code was sent less than a minute ago: wait a moment.")]})
        User.objects.filter(pk=user.pk).update(
            test_phone_pending=e164,
            test_phone_code_hash=_code_hash(user.pk, e164, code),
            test_phone_code_expires_at=now + CODE_LIFETIME,
            test_phone_code_attempts=0,
        )
        sms_send_transactional(org=org, to=e164, body=body, reason="test_phone_code", actor=user)
    return e164


def own_number_confirm(*, org: Organisation, user: User, code: str) -> str:
    """Checks the code of :func:`own_number_code_send`; the number becomes the user's test number.

    Raises ValidationError (field ``code``) when it is wrong, expired or tried too often.
    """
    now = timezone.now()
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        phone = locked.test_phone_pending
        expires = locked.test_phone_code_expires_at
        if not phone or expires is None or expires < now:
            raise ValidationError({"code": [_("This code has expired: ask for a new one.")]})
        if locked.test_phone_code_attempts >= MAX_ATTEMPTS:
            raise ValidationError({"code": [_("Too many attempts: ask for a new code.")]})
        expected = _code_hash(user.pk, phone, str(code or "").strip())
        right = hmac.compare_digest(locked.test_phone_code_hash, expected)
        if right:
            User.objects.filter(pk=user.pk).update(
                test_phone=phone,
                test_phone_verified_at=now,
                test_phone_pending="",
                test_phone_code_hash="",
                test_phone_code_expires_at=None,
                test_phone_code_attempts=0,
            )
            audit_record(org=org, actor=user, action="user.test_phone_verified", target=locked)
        else:  # committed: the attempt counts even though the caller gets an error
            attempts = locked.test_phone_code_attempts + 1
            User.objects.filter(pk=user.pk).update(test_phone_code_attempts=attempts)
    if not right:
        raise ValidationError({"code": [_("This code is not correct.")]})
    user.test_phone, user.test_phone_verified_at = phone, now
    return phone
