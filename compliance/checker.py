"""What the check API, the preview API and the "Sending rules" page call: thin compositions of the pure
modules with the organisation's settings and stored suppressions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils import timezone

from .context import RecipientContext, recipient_context
from .encoding import SegmentInfo, UnicodeReport, analyse, ucs2_report
from .gate import MARKETING, TRANSACTIONAL, Decision, check
from .packs import Policy, effective_policy, get_pack
from .selectors import is_suppressed, org_restrictions
from .senders import SenderCheck, check_sender, ensure_stop_mention, has_stop_mention


def normalise_phone(raw: str, default_region: str = "FR") -> str:
    """E.164 form of a number given in national or international form; ValueError when it is not one."""
    try:
        number = phonenumbers.parse((raw or "").strip(), (default_region or "FR").upper())
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"{raw!r} is not a phone number.") from exc
    if not phonenumbers.is_possible_number(number) or not phonenumbers.is_valid_number(number):
        raise ValueError(f"{raw!r} is not a valid phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def org_policy(org) -> Policy:
    """The organisation's effective policy: its pack and its stored restrictions.

    Stored restrictions were validated against the pack when saved; if the organisation has since moved
    to a narrower pack (from its general settings) some may be looser than the new pack. They are then
    merged without validation: windows are intersected with the pack's and caps take the minimum, so
    nothing widens, and the organisation's closing days, closing dates and lower caps still apply.
    Only malformed restrictions are ignored, in favour of the pack alone.
    """
    pack = get_pack(getattr(org, "rule_pack", None))
    restrictions = org_restrictions(org)
    try:
        return effective_policy(pack, restrictions)
    except ValidationError:
        pass
    try:  # stale restrictions must never widen the pack, nor be dropped, nor break sending
        return effective_policy(pack, restrictions, validate=False)
    except ValidationError:
        return effective_policy(pack)


@dataclass(frozen=True)
class CheckResult:
    phone: str
    context: RecipientContext
    policy: Policy
    decision: Decision
    at: datetime


def check_number(*, org, phone: str, at: datetime | None = None, category: str = MARKETING,
                 postal_code: str = "") -> CheckResult:  # fmt: skip
    """Answers "may this organisation send to this number at this instant?" for one number.

    Consent is assumed (the question is about time and opt-outs; consent belongs to a stored contact);
    a stored suppression is honoured. Raises ValueError for a bad number.
    """
    phone_e164 = normalise_phone(phone, getattr(org, "country", "FR"))
    ctx = recipient_context(phone_e164, postal_code)
    policy = org_policy(org)
    when = at or timezone.now()
    decision = check(
        ctx,
        when,
        policy=policy,
        category=TRANSACTIONAL if category == TRANSACTIONAL else MARKETING,
        consent="opt_in",
        suppressed=is_suppressed(org, phone_e164),
    )
    return CheckResult(phone_e164, ctx, policy, decision, when)


@dataclass(frozen=True)
class MessagePreview:
    body: str  # as it will be sent: smart-encoded if asked, opt-out mention appended if missing
    info: SegmentInfo
    stop_mention: bool  # the submitted body already carried an opt-out mention
    stop_mention_appended: bool
    unicode: UnicodeReport
    sender: SenderCheck | None


def message_preview(*, body: str, stop_mention: str, sender_id: str = "", smart: bool = False,
                    category: str = MARKETING, unsubscribe_url: str = "") -> MessagePreview:  # fmt: skip
    """Encoding, length and cost units of a message as the composer will send it.

    Marketing messages get the organisation's opt-out mention appended when missing (it counts in length
    and cost); transactional ones are left as written.
    """
    had = has_stop_mention(body, unsubscribe_url)
    final = body
    if category != TRANSACTIONAL:
        final = ensure_stop_mention(body, stop_mention, unsubscribe_url)
    info = analyse(final, smart=smart)
    return MessagePreview(
        body=info.body,
        info=info,
        stop_mention=had,
        stop_mention_appended=final != body,
        unicode=ucs2_report(info.body),
        sender=check_sender(sender_id) if sender_id else None,
    )
