"""Inbound replies: STOP, START, HELP, near misses and free text (compliance.md section 3).

An opt-out suppresses the number at once (before any further message of any campaign leaves: the batch
claim re-reads the suppression list), the reply is kept as proof, and exactly one confirmation is sent:
the inbound row is unique per ``(gateway, provider_id)``, so a replayed webhook finds it and does nothing,
and a STOP from a number that was already suppressed gets no second confirmation.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from compliance import keywords
from compliance.models import SuppressionSource
from compliance.selectors import suppressed_numbers
from compliance.services import suppression_add, suppression_lift
from contacts.models import Contact
from contacts.services import contacts_sync_opted_out
from smsplatform.models import Organisation
from smsplatform.services import audit_record

from .models import InboundMessage, Message
from .services import HELP_TEXT, OPT_IN_CONFIRMATION_TEXT, OPT_OUT_CONFIRMATION_TEXT, sms_send_transactional

logger = logging.getLogger(__name__)


def _route(from_number: str, to: str, org: Organisation | None) -> tuple[Organisation | None, Message | None]:
    """Which organisation a reply is for: the one whose message to this number it answers (the latest,
    preferring one sent from the number or sender ID it was sent to). One or two queries."""
    qs = Message.objects.filter(to=from_number).select_related("org")
    if org is not None:
        qs = qs.filter(org=org)
    if to:
        message = qs.filter(sender=to).order_by("-id").first()
        if message is not None:
            return message.org, message
    message = qs.order_by("-id").first()
    if message is not None:
        return message.org, message
    return org, None


def inbound_receive(
    *,
    gateway: str,
    provider_id: str,
    from_number: str,
    to: str = "",
    text: str = "",
    received_at: datetime | None = None,
    org: Organisation | None = None,
) -> tuple[InboundMessage, bool]:
    """Records one reply and acts on its keyword; returns (the row, whether it was new).

    Replaying the same ``(gateway, provider_id)`` returns the stored row and does nothing else.
    ``org`` is given by the virtual phone (it knows whose sandbox it is); gateways let the reply be
    routed by the message it answers.
    """
    existing = InboundMessage.objects.filter(gateway=gateway, provider_id=provider_id).first()
    if existing is not None:
        return existing, False
    kind = keywords.classify(text)
    with transaction.atomic():
        target_org, replied = _route(from_number, to, org)
        contact_id = None
        if target_org is not None:
            contact_id = (
                Contact.objects.filter(org=target_org, phone=from_number).values_list("id", flat=True).first()
            )
        try:
            with transaction.atomic():
                inbound = InboundMessage.objects.create(
                    org=target_org,
                    gateway=gateway,
                    provider_id=provider_id,
                    from_number=from_number[:16],
                    to=(to or "")[:16],
                    text=text,
                    kind=kind,
                    contact_id=contact_id,
                    in_reply_to=replied,
                    needs_review=kind in (keywords.NEAR_MISS_OPT_OUT, keywords.NONE),
                    received_at=received_at or timezone.now(),
                )
        except IntegrityError:  # the same webhook, concurrently: the other one acts
            return InboundMessage.objects.get(gateway=gateway, provider_id=provider_id), False
        if target_org is None:
            logger.info("inbound reply from %s matches no organisation; kept unrouted", from_number)
            return inbound, True
        _act(target_org, inbound, kind)
    return inbound, True


def _brand(org: Organisation) -> str:
    return org.display_brand


def _act(org: Organisation, inbound: InboundMessage, kind: str) -> None:
    number = inbound.from_number
    if keywords.is_opt_out(kind):
        # A near miss is treated as an opt-out by default (losing a STOP costs more) and queued for review.
        already = bool(suppressed_numbers(org, [number]))
        suppression_add(
            org=org,
            phone_e164=number,
            source=SuppressionSource.INBOUND_KEYWORD,
            proof=f"inbound:{inbound.pk} {inbound.text}"[:2000],
            reason="near_miss" if kind == keywords.NEAR_MISS_OPT_OUT else "keyword",
        )
        contacts_sync_opted_out(org=org, phones=[number])
        audit_record(
            org=org,
            actor=None,
            action="sms.opt_out_received",
            target=inbound,
            data={"kind": kind, "already": already},
        )
        if not already:
            sms_send_transactional(
                org=org,
                to=number,
                body=OPT_OUT_CONFIRMATION_TEXT.format(brand=_brand(org)),
                reason="opt_out_confirmation",
                contact_id=inbound.contact_id,
                charge=False,
                idempotency_key=f"inbound:{inbound.pk}",
                opt_out_confirmation=True,
            )
    elif kind == keywords.OPT_IN:
        lifted = suppression_lift(
            org=org,
            phone_e164=number,
            source=SuppressionSource.INBOUND_KEYWORD,
            proof=f"inbound:{inbound.pk} {inbound.text}",
        )
        contacts_sync_opted_out(org=org, phones=[number])
        audit_record(
            org=org, actor=None, action="sms.opt_in_received", target=inbound, data={"lifted": lifted}
        )
        if lifted:
            sms_send_transactional(
                org=org,
                to=number,
                body=OPT_IN_CONFIRMATION_TEXT.format(brand=_brand(org), stop=org.stop_mention).strip(),
                reason="opt_in_confirmation",
                contact_id=inbound.contact_id,
                charge=False,
                idempotency_key=f"inbound:{inbound.pk}",
            )
    elif kind == keywords.HELP:
        sms_send_transactional(
            org=org,
            to=number,
            body=HELP_TEXT.format(brand=_brand(org), stop=org.stop_mention).strip(),
            reason="help_reply",
            contact_id=inbound.contact_id,
            charge=False,
            idempotency_key=f"inbound:{inbound.pk}",
        )


def inbound_review(*, org: Organisation, actor: Any, inbound: InboundMessage) -> None:
    """Marks a reply as read in the inbox (a near miss stays suppressed unless a new opt-in lifts it)."""
    with transaction.atomic():
        InboundMessage.objects.filter(org=org, pk=inbound.pk).update(needs_review=False)
        audit_record(org=org, actor=actor, action="sms.inbound_reviewed", target=inbound)


def org_inbox(org: Organisation):
    """Replies of the organisation, newest first (the inbox)."""
    return InboundMessage.objects.filter(Q(org=org)).order_by("-received_at", "-id")
