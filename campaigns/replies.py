"""Inbound replies: STOP, START, HELP, near misses and free text (docs/compliance.md, "Opt-out (STOP)").

An opt-out suppresses the number at once (before any further message of any campaign leaves: the batch
claim re-reads the suppression list), the reply is kept as proof, and exactly one confirmation is sent:
the inbound row is unique per ``(gateway, provider_id)``, so a replayed webhook finds it and does nothing,
and a STOP from a number that was already suppressed gets no second confirmation.

The automatic replies (STOP and START confirmations, the HELP answer) are free SMS whose text the
organisation shapes (its brand, its mention): anyone who can make a number reply, or forge its replies,
would otherwise have the platform send them without limit. Each kind goes at most once a day to a number
of an organisation; the opt-out or opt-in itself is recorded every time.
"""

from __future__ import annotations

import logging
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from compliance import keywords
from compliance.models import SuppressionSource
from compliance.selectors import suppressed_numbers
from compliance.services import suppression_add, suppression_lift
from contacts.models import Contact
from contacts.services import contacts_sync_opted_out
from smsplatform.audit import audit_record
from smsplatform.models import Organisation

from .models import InboundMessage, Message
from .services import HELP_TEXT, OPT_IN_CONFIRMATION_TEXT, OPT_OUT_CONFIRMATION_TEXT, sms_send_transactional

logger = logging.getLogger(__name__)


def _route(
    gateway: str, from_number: str, to: str, org: Organisation | None
) -> tuple[Organisation | None, Message | None]:
    """Which organisation a reply is for: the one whose message to this number it answers (the latest,
    preferring one sent from the number or sender ID it was sent to). One or two queries.

    Only messages sent through the gateway that received the reply are candidates: a handset answers
    the provider that texted it, so a reply arriving elsewhere (another provider, the sandbox's loopback)
    says nothing about them and must not opt a number out of, or back in to, their organisation.
    """
    # message_to_routing (to, -id) finds the number's few messages; gateway and org filter those.
    qs = Message.objects.filter(to=from_number, gateway=gateway).select_related("org")
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
    now: datetime | None = None,
) -> tuple[InboundMessage, bool]:
    """Records one reply and acts on its keyword; returns (the row, whether it was new).

    Replaying the same ``(gateway, provider_id)`` returns the stored row and does nothing else.
    ``org`` is given by the virtual phone (it knows whose sandbox it is); gateways let the reply be
    routed by the message it answers, among that gateway's messages. ``now`` decides the day of the
    automatic-reply limit.
    """
    existing = InboundMessage.objects.filter(gateway=gateway, provider_id=provider_id).first()
    if existing is not None:
        return existing, False
    kind = keywords.classify(text)
    with transaction.atomic():
        target_org, replied = _route(gateway, from_number, to, org)
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
        _act(target_org, inbound, kind, now or timezone.now())
    return inbound, True


def _brand(org: Organisation) -> str:
    return org.display_brand


def _auto_reply(
    org: Organisation, inbound: InboundMessage, *, reason: str, body: str, now: datetime, **options: Any
) -> bool:
    """Sends one free automatic reply unless the number already got one of this ``reason`` today (the
    organisation's day); returns False when it was skipped for that.

    The check reads the day's messages of that reason to the number; two replies handled at the same
    time may both pass it, so the day's idempotency key (unique per organisation) lets only one of them
    create a message.
    """
    number = inbound.from_number
    zone = ZoneInfo(org.timezone or "Europe/Paris")
    day = timezone.localtime(now, zone).date()
    day_start = datetime.combine(day, time.min, tzinfo=zone)
    if Message.objects.filter(org=org, to=number, reason=reason, created_at__gte=day_start).exists():
        logger.info("%s to %s skipped: one already sent today", reason, number)
        return False
    key = f"auto:{reason}:{number}:{day.isoformat()}"
    sms_send_transactional(
        org=org,
        to=number,
        body=body,
        reason=reason,
        contact_id=inbound.contact_id,
        charge=False,
        idempotency_key=key,
        **options,
    )
    return True


def _act(org: Organisation, inbound: InboundMessage, kind: str, now: datetime) -> None:
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
        confirmed = not already and _auto_reply(
            org,
            inbound,
            reason="opt_out_confirmation",
            body=OPT_OUT_CONFIRMATION_TEXT.format(brand=_brand(org)),
            now=now,
            opt_out_confirmation=True,
        )
        audit_record(
            org=org,
            actor=None,
            action="sms.opt_out_received",
            target=inbound,
            data={"kind": kind, "already": already, "confirmed": confirmed},
        )
    elif kind == keywords.OPT_IN:
        lifted = suppression_lift(
            org=org,
            phone_e164=number,
            source=SuppressionSource.INBOUND_KEYWORD,
            proof=f"inbound:{inbound.pk} {inbound.text}",
        )
        contacts_sync_opted_out(org=org, phones=[number])
        confirmed = lifted and _auto_reply(
            org,
            inbound,
            reason="opt_in_confirmation",
            body=OPT_IN_CONFIRMATION_TEXT.format(brand=_brand(org), stop=org.stop_mention).strip(),
            now=now,
        )
        audit_record(
            org=org,
            actor=None,
            action="sms.opt_in_received",
            target=inbound,
            data={"lifted": lifted, "confirmed": confirmed},
        )
    elif kind == keywords.HELP:
        _auto_reply(
            org,
            inbound,
            reason="help_reply",
            body=HELP_TEXT.format(brand=_brand(org), stop=org.stop_mention).strip(),
            now=now,
        )


def inbound_review(*, org: Organisation, actor: Any, inbound: InboundMessage) -> None:
    """Marks a reply as read in the inbox (a near miss stays suppressed unless a new opt-in lifts it)."""
    with transaction.atomic():
        InboundMessage.objects.filter(org=org, pk=inbound.pk).update(needs_review=False)
        audit_record(org=org, actor=actor, action="sms.inbound_reviewed", target=inbound)


def org_inbox(org: Organisation):
    """Replies of the organisation, newest first (the inbox)."""
    return InboundMessage.objects.filter(Q(org=org)).order_by("-received_at", "-id")
