"""The launch: one transaction that freezes the audience into message rows, tracks their links,
reserves the credits and enqueues the dispatch on commit (docs/architecture.md, "The sending pipeline")."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import islice
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.utils.translation import gettext as _

from analytics.links import links_for_messages, shorten_body
from billing.selectors import credits_balance, prices_for_regions
from billing.services import InsufficientCredits, credits_reserve
from compliance.models import phone_hash
from compliance.sender_registry import SENDER_NOT_APPROVED, default_sender_name, sender_for_sending
from compliance.senders import check_sender
from smsplatform.audit import audit_record
from smsplatform.bulk import analyze_if_grown, copy_rows
from smsplatform.models import Organisation
from smsplatform.selectors import org_owner_email_verified

from .. import enqueue
from ..errors import EmptyAudience
from ..models import Campaign, Category, Message, MessageStatus
from ..rendering import contact_values, prepare_body, render_for
from ..selectors import AUDIENCE_FIELDS, audience_rows
from ._common import S, _check, _locked, _now

logger = logging.getLogger(__name__)


INSERT_CHUNK = 2000


def _sender_for(org: Organisation, campaign: Campaign, actor: Any = None) -> str:
    """The campaign's sender, else the organisation's default (its default sender ID, else its brand),
    checked against the registry at every launch: an approval may have been revoked since the campaign
    was saved. Without a sender it holds, a campaign is refused (``sender_not_approved``) rather than
    sent from another number: recipients must recognise the shop, and the owner must choose."""
    name = campaign.sender_id if campaign.sender_id and check_sender(campaign.sender_id).ok else ""
    name = name or default_sender_name(org)
    if not name:
        raise ValidationError(
            _("Choose a valid sender ID for this campaign (or a default sender ID in your settings)."),
            code=SENDER_NOT_APPROVED,
        )
    sender_for_sending(org=org, name=name, actor=actor)
    return name


def _transactional_check(campaign: Campaign) -> None:
    """A campaign labelled transactional skips consent, windows and caps: it launches only once an
    operator has approved it as such (and not changed since)."""
    if campaign.category == Category.TRANSACTIONAL and campaign.transactional_approved_at is None:
        raise ValidationError(
            _(
                "This campaign is marked transactional: it can be launched once the platform's operator "
                "has approved it as transactional (order or appointment notices only). Until then, send "
                "it as marketing."
            ),
            code="transactional_needs_approval",
        )


def _verified_owner_check(org: Organisation) -> None:
    """Real handsets only once an owner proved their email address: a fresh sign-up works in the sandbox
    meanwhile (docs/accounts.md)."""
    if not org.on_sandbox and not org_owner_email_verified(org):
        raise ValidationError(
            _(
                "Confirm your email address before sending to real phones: open the link we emailed you "
                "(the dashboard can send it again)."
            ),
            code="email_not_verified",
        )


# The per-recipient columns of a campaign's message rows; the others are the same for the whole campaign.
MESSAGE_COLUMNS = ("contact_id", "to", "to_hash", "body", "encoding", "segments", "credits")


#: Recipients rendered and written at a time: memory stays flat whatever the audience (a launch of a
#: million recipients held 300 MB of rows and COPY text at once), while each COPY stays large.
LAUNCH_CHUNK = 20_000


def _chunks_of(rows: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


class _Renderer:
    """Renders a campaign's recipients into the per-recipient values of their message rows
    (:data:`MESSAGE_COLUMNS`) and their credits."""

    def __init__(self, campaign: Campaign, template: str) -> None:
        self.template, self.smart = template, campaign.smart_encoding
        self.plain = campaign.transliterate_merge_values
        # Without merge fields every recipient gets the same text: render and count it once, and read only
        # what the rows need of each contact (decoding 100,000 JSON attributes for nothing took 0.6 s).
        self.same = None if "{" in template else render_for(template, {}, smart=self.smart)
        self.fields = ("id", "phone", "region") if self.same else AUDIENCE_FIELDS
        self.prices: dict[str, int] = {}

    def rows(self, audience: list[dict[str, Any]]) -> tuple[list[tuple], int]:
        regions = {r["region"] or "" for r in audience} - self.prices.keys()
        if regions:
            self.prices.update(prices_for_regions(regions))
        rows, total = [], 0
        for row in audience:
            rendered = self.same or render_for(
                self.template, contact_values(row), smart=self.smart, transliterate_values=self.plain
            )
            credits = rendered.segments * self.prices[row["region"] or ""]
            total += credits
            phone = row["phone"]
            rendering = (rendered.body, rendered.encoding, rendered.segments)
            rows.append((row["id"], phone, phone_hash(phone), *rendering, credits))
        return rows, total


def _messages_write(
    org: Organisation, campaign: Campaign, template: str, *, balance: int, **insert: Any
) -> tuple[int, int]:
    """Renders the audience and writes its message rows, :data:`LAUNCH_CHUNK` recipients at a time;
    returns (recipients, credits). Raises :class:`InsufficientCredits` as soon as the credits pass
    ``balance``, with the whole campaign's need counted without writing the rest: the caller's
    transaction then rolls back the rows already written."""
    renderer = _Renderer(campaign, template)
    audience = _chunks_of(audience_rows(org, campaign, fields=renderer.fields), LAUNCH_CHUNK)
    recipients = total = 0
    for chunk in audience:
        rows, credits = renderer.rows(chunk)
        total += credits
        if total > balance:
            needed = total + sum(renderer.rows(rest)[1] for rest in audience)
            raise InsufficientCredits(needed=needed, available=balance)
        _messages_insert(org, campaign, rows, **insert)
        recipients += len(rows)
    return recipients, total


def _messages_insert(
    org: Organisation, campaign: Campaign, rows: list[tuple], *, sender: str, gateway: str, now: datetime
) -> None:
    """Writes a campaign's message rows: one COPY on PostgreSQL (the ORM's INSERT took 13 s of a 23 s
    launch at 100,000 recipients, preparing values), ``bulk_create`` elsewhere. Unique (campaign, contact)
    makes a relaunch insert nothing twice: rows already there are skipped."""
    constants = {
        "org_id": org.pk,
        "campaign_id": campaign.pk,
        "category": campaign.category,
        "sender": sender,
        "credit_reference": campaign.reference,
        "gateway": gateway,
        "status": MessageStatus.PENDING,
        "block_reason": "",
        "reasons": [],
        "attempts": 0,
        "error_code": "",
        "error_message": "",
        "reason": "",
        "created_at": now,
        "queued_at": now,
    }
    if connection.vendor == "postgresql":
        # Straight into the table in the usual case; through a staging table only if rows are there.
        existing = Message.objects.filter(campaign_id=campaign.pk).exists()
        table = Message._meta.db_table
        copy_rows(table, MESSAGE_COLUMNS, rows, constants=constants, skip_conflicts=existing)
        return
    Message.objects.bulk_create(
        [Message(**dict(zip(MESSAGE_COLUMNS, row, strict=True)), **constants) for row in rows],
        batch_size=INSERT_CHUNK,
        ignore_conflicts=True,
    )


def _track_links(org: Organisation, campaign: Campaign) -> None:
    """Gives each message of a campaign its own short links and saves its final body, before the dispatch
    can read them (it is enqueued on commit). A constant number of queries per chunk of messages:
    :func:`analytics.links.links_for_messages` (idempotent: a retried launch reuses the codes issued)
    and one bulk UPDATE."""
    items = (
        Message.objects.filter(org_id=org.pk, campaign_id=campaign.pk)
        .order_by("id")
        .values_list("id", "body")
        .iterator(chunk_size=INSERT_CHUNK)
    )
    for chunk in _chunks_of(items, INSERT_CHUNK):
        bodies = links_for_messages(org=org, campaign_id=campaign.pk, items=chunk)
        changed = [(pk, bodies[pk]) for pk, body in chunk if bodies[pk] != body]
        _bodies_update(org, campaign, changed)


def _bodies_update(org: Organisation, campaign: Campaign, rows: list[tuple[int, str]]) -> None:
    """Sets the body of many messages in one statement: ``UPDATE ... FROM (VALUES ...)`` on PostgreSQL,
    ``bulk_update`` elsewhere."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        Message.objects.bulk_update(
            [Message(pk=message_id, body=body) for message_id, body in rows], ["body"], batch_size=500
        )
        return
    # Only the table's name and placeholders are formatted in; every value is a parameter.
    table = connection.ops.quote_name(Message._meta.db_table)
    values = ", ".join(["(%s::bigint, %s::text)"] * len(rows))
    params: list[Any] = [value for row in rows for value in row]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS m SET body = v.body FROM (VALUES {values}) AS v(id, body) "  # noqa: S608
            "WHERE m.id = v.id AND m.org_id = %s AND m.campaign_id = %s",
            [*params, org.pk, campaign.pk],
        )


def _start(*, org: Organisation, actor: Any, campaign: Campaign, now: datetime) -> Campaign:
    """Launch proper, inside the caller's transaction with the campaign row locked."""
    gateway = org.gateway_name
    _transactional_check(campaign)
    _verified_owner_check(org)
    sender = _sender_for(org, campaign, actor)
    marketing = campaign.category == Category.MARKETING
    template = prepare_body(campaign.body, marketing=marketing, stop_mention=org.stop_mention)
    # URLs become placeholders of the short link's exact length before the merge fields are rendered, so
    # that encoding, segments and credits are those of what is really sent (a few queries, none without
    # a URL; rolled back with the launch when it fails below).
    template, tracked = shorten_body(org=org, campaign_id=campaign.pk, body=template)
    # The balance bounds the rows written; the reservation below is the authoritative check.
    recipients, total = _messages_write(
        org, campaign, template, balance=credits_balance(org), sender=sender, gateway=gateway, now=now
    )
    if not recipients:
        raise EmptyAudience(_("This campaign has no recipient: add a list or a segment with contacts."))
    if tracked:
        _track_links(org, campaign)
    if total > 0:
        credits_reserve(org=org, amount=total, reference=campaign.reference, actor=actor)
    Campaign.objects.filter(pk=campaign.pk).update(
        status=S.SENDING,
        launched_at=now,
        updated_at=now,
        gateway=gateway,
        recipients=recipients,
        credits_reserved=total,
        sender_id=sender,
    )
    campaign.status, campaign.launched_at, campaign.gateway = S.SENDING, now, gateway
    campaign.recipients, campaign.credits_reserved, campaign.sender_id = recipients, total, sender
    audit_record(
        org=org,
        actor=actor,
        action="campaign.launched",
        target=campaign,
        data={"recipients": recipients, "credits": total},
    )
    written = recipients
    # Statistics first, so that the first batch is already planned on them (see analyze_if_grown).
    transaction.on_commit(lambda: _statistics_refresh(written))
    transaction.on_commit(lambda: enqueue.enqueue_dispatch(campaign.pk))
    return campaign


def _statistics_refresh(written: int) -> None:
    try:
        analyze_if_grown(Message._meta.db_table, written)
    except DatabaseError:  # statistics are an optimisation: never fail a launch that is committed
        logger.warning("ANALYZE of the message table failed after a launch", exc_info=True)


def campaign_launch(
    *, org: Organisation, actor: Any, campaign: Campaign, now: datetime | None = None
) -> Campaign:
    """ "Send now", or at ``scheduled_at`` when it is in the future (then the campaign is only scheduled
    and its credits are reserved at the actual launch, by the beat task).

    Raises :class:`InsufficientCredits` (API 402) with nothing written, :class:`InvalidTransition`
    (409) unless draft or scheduled, :class:`EmptyAudience` or ValidationError (400).
    """
    now = _now(now)
    with transaction.atomic():
        locked = _locked(org, campaign)
        _check(locked, "launched")
        _transactional_check(locked)
        _verified_owner_check(org)
        if locked.scheduled_at and locked.scheduled_at > now:
            if locked.status != S.SCHEDULED:
                _sender_for(org, locked, actor)  # refuse now what would fail at the scheduled time
                Campaign.objects.filter(pk=locked.pk).update(status=S.SCHEDULED, updated_at=now)
                locked.status = S.SCHEDULED
                audit_record(
                    org=org,
                    actor=actor,
                    action="campaign.scheduled",
                    target=locked,
                    data={"scheduled_at": locked.scheduled_at.isoformat()},
                )
            return locked
        return _start(org=org, actor=actor, campaign=locked, now=now)


def campaign_start_scheduled(*, campaign_id: int, now: datetime | None = None) -> str:
    """The beat's launch of one due scheduled campaign, skipped when another worker holds it.

    Returns ``"launched"``, ``"skipped"`` or ``"failed"``: a campaign that cannot start (credits, no
    recipient, no sender) is marked failed with the reason so that the owner sees why.
    """
    now = _now(now)
    with transaction.atomic():
        locked = (
            Campaign.objects.select_for_update(skip_locked=True)
            .select_related("org")
            .filter(pk=campaign_id, status=S.SCHEDULED, scheduled_at__lte=now)
            .first()
        )
        if locked is None:
            return "skipped"
        org = locked.org
        try:
            with transaction.atomic():
                _start(org=org, actor=None, campaign=locked, now=now)
            return "launched"
        except (InsufficientCredits, EmptyAudience, ValidationError) as exc:
            reason = getattr(exc, "code", None) or "invalid"
            Campaign.objects.filter(pk=locked.pk).update(
                status=S.FAILED, failure_reason=str(reason)[:64], updated_at=now, completed_at=now
            )
            audit_record(
                org=org, actor=None, action="campaign.failed", target=locked, data={"reason": reason}
            )
            return "failed"
