"""One-to-one transactional messages (confirmations, one-time codes) through the same pipeline as
campaigns, and the operator's approval of a campaign as transactional."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.selectors import prices_for_regions
from billing.services import credits_reserve
from compliance.encoding import GSM7, UCS2, count_segments, is_gsm7
from compliance.models import phone_hash
from compliance.sender_registry import default_sender_name, sender_for_sending
from smsplatform.audit import audit_record
from smsplatform.models import Organisation

from .. import enqueue
from ..models import Campaign, Category, Message, MessageCategory
from ._common import _check
from .estimate import _context

# Texts sent to handsets. French: the product's market, and the recipient never chose a language.
OPT_OUT_CONFIRMATION_TEXT = "Vous ne recevrez plus de SMS de {brand}."
OPT_IN_CONFIRMATION_TEXT = "Vous êtes de nouveau inscrit aux SMS de {brand}. {stop}"
HELP_TEXT = "{brand} : SMS d'information et d'offres. Pour ne plus en recevoir, répondez STOP. {stop}"


def _message_sender(org: Organisation, actor: Any) -> str:
    """The sender of a one-to-one message: the organisation's default when it holds it approved, else
    none, i.e. the gateway's own number. These messages (one-time codes, the STOP confirmation the law
    requires) must not fail for want of a sender ID, and must never borrow a name someone else holds."""
    name = default_sender_name(org)
    if not name:
        return ""
    try:
        sender_for_sending(org=org, name=name, actor=actor)
    except ValidationError:
        return ""
    return name


@transaction.atomic
def campaign_transactional_approve(*, campaign: Campaign, actor: Any) -> Campaign:
    """The operator approves a campaign as transactional (the Django admin), having read it: only then
    may it launch as such. Any later change of its body or audience withdraws the approval."""
    locked = Campaign.objects.select_for_update().select_related("org").get(pk=campaign.pk)
    if locked.category != Category.TRANSACTIONAL:
        raise ValidationError(
            _("Only a campaign marked transactional can be approved as such."), code="not_transactional"
        )
    _check(locked, "edited")
    now = timezone.now()
    user = actor if getattr(actor, "pk", None) and hasattr(actor, "email") else None
    Campaign.objects.filter(pk=locked.pk).update(
        transactional_approved_at=now, transactional_approved_by=user, updated_at=now
    )
    locked.transactional_approved_at, locked.transactional_approved_by = now, user
    audit_record(
        org=locked.org,
        actor=actor,
        action="campaign.transactional_approved",
        target=locked,
        data={"name": locked.name, "body": locked.body[:500]},
    )
    return locked


@transaction.atomic
def campaign_transactional_revoke(*, campaign: Campaign, actor: Any) -> Campaign:
    """Withdraws the operator's transactional approval of a campaign not launched yet."""
    locked = Campaign.objects.select_for_update().select_related("org").get(pk=campaign.pk)
    if locked.transactional_approved_at is None:
        return locked
    _check(locked, "edited")
    Campaign.objects.filter(pk=locked.pk).update(
        transactional_approved_at=None, transactional_approved_by=None, updated_at=timezone.now()
    )
    locked.transactional_approved_at = locked.transactional_approved_by = None
    audit_record(org=locked.org, actor=actor, action="campaign.transactional_revoked", target=locked)
    return locked


def sms_send_transactional(
    *,
    org: Organisation,
    to: str,
    body: str,
    reason: str,
    actor: Any = None,
    contact_id: int | None = None,
    charge: bool = True,
    idempotency_key: str | None = None,
    opt_out_confirmation: bool = False,
) -> Message:
    """One transactional SMS (a confirmation, a one-time code) through the same pipeline as campaigns.

    Transactional messages bypass sending windows, consent and caps but not the suppression list, except
    ``opt_out_confirmation``: the single confirmation a number gets right after its STOP must reach it
    although it is now suppressed (docs/compliance.md, "Opt-out (STOP)"), so it carries its own
    category, which the gate lets through and which nothing else may use. ``idempotency_key`` makes the
    call safe to repeat (a replayed webhook returns the existing message). With ``charge`` the credits are
    reserved under ``message:<id>`` (InsufficientCredits when short); confirmations and help replies are
    free because the law requires them whatever the balance.
    """
    to = (to or "").strip()
    body = (body or "").strip()
    if not to.startswith("+") or not to[1:].isdigit():
        raise ValidationError({"to": [_("Give the number in international form (+33...).")]})
    if not body:
        raise ValidationError({"body": [_("The message is empty.")]})
    if idempotency_key:
        existing = Message.objects.filter(org=org, idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
    segments = count_segments(body)
    region = _context({"phone": to}).region
    credits = segments * prices_for_regions([region])[region] if charge else 0
    sender = _message_sender(org, actor)
    category = MessageCategory.OPT_OUT_CONFIRMATION if opt_out_confirmation else MessageCategory.TRANSACTIONAL
    now = timezone.now()
    try:
        with transaction.atomic():
            message = Message.objects.create(
                org=org,
                contact_id=contact_id,
                category=category,
                to=to,
                to_hash=phone_hash(to),
                sender=sender,
                body=body,
                encoding=GSM7 if is_gsm7(body) else UCS2,
                segments=segments,
                credits=credits,
                gateway=org.gateway_name,
                reason=reason[:64],
                idempotency_key=idempotency_key,
                created_at=now,
                queued_at=now,
            )
            if credits:
                reference = f"message:{message.pk}"
                credits_reserve(org=org, amount=credits, reference=reference, actor=actor)
                Message.objects.filter(pk=message.pk).update(credit_reference=reference)
                message.credit_reference = reference
            audit_record(
                org=org,
                actor=actor,
                action="sms.transactional_queued",
                target=message,
                data={"reason": reason, "credits": credits},
            )
            transaction.on_commit(lambda: enqueue.enqueue_batch(org.pk, [message.pk]))
    except IntegrityError:
        if idempotency_key:  # a concurrent call with the same key won: same outcome
            return Message.objects.get(org=org, idempotency_key=idempotency_key)
        raise
    return message
