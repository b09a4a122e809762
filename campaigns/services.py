"""Writes on templates and campaigns: the state machine, the launch, pause, resume, cancel, and the
transactional messages (confirmations, one-time codes) that go through the same pipeline.

The launch is one transaction (docs/architecture.md, "The sending pipeline"): the audience is frozen
into one message row per recipient, its URLs become per-recipient tracked short links
(:mod:`analytics.links`), the credits are reserved against the billing ledger, the campaign becomes
``sending``, and the coordinator task is enqueued only after commit. The dispatch itself lives in
:mod:`campaigns.pipeline`.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import islice
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics.links import body_for_counting, links_for_messages, shorten_body
from billing.selectors import credits_balance, prices_for_regions
from billing.services import InsufficientCredits, credits_reserve, credits_settle
from compliance.checker import org_policy
from compliance.context import RecipientContext, recipient_context
from compliance.encoding import GSM7, UCS2, count_segments, is_gsm7
from compliance.gate import BLOCK, DEFER, GateItem, evaluate
from compliance.models import phone_hash
from compliance.selectors import suppressed_numbers
from compliance.sender_registry import (
    SENDER_NOT_APPROVED,
    default_sender_name,
    sender_for_sending,
)
from compliance.senders import check_sender
from contacts.models import ContactList, Segment
from smsplatform.audit import audit_record
from smsplatform.bulk import analyze_if_grown, copy_rows
from smsplatform.models import Organisation

from . import enqueue
from .errors import EmptyAudience, InvalidTransition
from .models import (
    SPENT_STATUSES,
    Campaign,
    CampaignStatus,
    Category,
    Message,
    MessageCategory,
    MessageStatus,
    Template,
)
from .rendering import contact_values, prepare_body, render_for
from .selectors import AUDIENCE_FIELDS, audience_rows, marketing_counts

logger = logging.getLogger(__name__)

S = CampaignStatus
# The state machine: action -> statuses it may start from (the target is fixed by the action).
TRANSITIONS: dict[str, frozenset[str]] = {
    "edited": frozenset({S.DRAFT, S.SCHEDULED}),
    "deleted": frozenset({S.DRAFT, S.SCHEDULED}),
    "scheduled": frozenset({S.DRAFT, S.SCHEDULED}),
    "launched": frozenset({S.DRAFT, S.SCHEDULED}),
    "paused": frozenset({S.SENDING}),
    "resumed": frozenset({S.PAUSED}),
    "cancelled": frozenset({S.DRAFT, S.SCHEDULED, S.SENDING, S.PAUSED}),
    "completed": frozenset({S.SENDING}),
    "failed": frozenset({S.SCHEDULED, S.SENDING}),
}
INSERT_CHUNK = 2000

# Texts sent to handsets. French: the product's market, and the recipient never chose a language.
OPT_OUT_CONFIRMATION_TEXT = "Vous ne recevrez plus de SMS de {brand}."
OPT_IN_CONFIRMATION_TEXT = "Vous êtes de nouveau inscrit aux SMS de {brand}. {stop}"
HELP_TEXT = "{brand} : SMS d'information et d'offres. Pour ne plus en recevoir, répondez STOP. {stop}"


def _check(campaign: Campaign, action: str) -> None:
    if campaign.status not in TRANSITIONS[action]:
        raise InvalidTransition(campaign.status, action)


def _locked(org: Organisation, campaign: Campaign | int) -> Campaign:
    """The campaign row, locked until the end of the transaction, re-read so its status is current."""
    pk = campaign.pk if isinstance(campaign, Campaign) else campaign
    return Campaign.objects.select_for_update().get(org=org, pk=pk)


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


# --- templates --------------------------------------------------------------------------------------


def _template_clean(name: str, body: str) -> tuple[str, str]:
    name, body = (name or "").strip(), (body or "").strip()
    errors = {}
    if not name:
        errors["name"] = [_("Give the template a name.")]
    if not body:
        errors["body"] = [_("The message is empty.")]
    if errors:
        raise ValidationError(errors)
    return name[:100], body


def template_create(*, org: Organisation, actor: Any, name: str, body: str) -> Template:
    """Saves a message body to reuse it in later campaigns."""
    name, body = _template_clean(name, body)
    try:
        with transaction.atomic():
            template = Template.objects.create(
                org=org, name=name, body=body, created_by=actor if getattr(actor, "pk", None) else None
            )
            audit_record(
                org=org, actor=actor, action="template.created", target=template, data={"name": name}
            )
    except IntegrityError:
        raise ValidationError({"name": [_("A template with this name already exists.")]})
    return template


def template_update(*, org: Organisation, actor: Any, template: Template, name: str, body: str) -> Template:
    """Changes a saved template (campaigns made from it keep their own copy of the body)."""
    name, body = _template_clean(name, body)
    try:
        with transaction.atomic():
            Template.objects.filter(org=org, pk=template.pk).update(
                name=name, body=body, updated_at=timezone.now()
            )
            audit_record(
                org=org, actor=actor, action="template.updated", target=template, data={"name": name}
            )
    except IntegrityError:
        raise ValidationError({"name": [_("A template with this name already exists.")]})
    template.name, template.body = name, body
    return template


@transaction.atomic
def template_delete(*, org: Organisation, actor: Any, template: Template) -> None:
    """Deletes a saved template."""
    audit_record(
        org=org, actor=actor, action="template.deleted", target=template, data={"name": template.name}
    )
    Template.objects.filter(org=org, pk=template.pk).delete()


# --- campaigns: creation and edition ----------------------------------------------------------------


def _ids(values: Iterable[Any] | None, field: str) -> list[int]:
    try:
        return sorted({int(v) for v in (values or [])})
    except (TypeError, ValueError):
        raise ValidationError({field: [_("Give a list of ids.")]})


def _campaign_clean(org: Organisation, fields: dict[str, Any], actor: Any = None) -> dict[str, Any]:
    """Validates the editable fields; lists and segments must be the organisation's own, and the sender
    one the organisation holds approved (``sender_not_approved``; in the sandbox a free name is
    registered on the fly)."""
    errors: dict[str, list[str]] = {}
    out = dict(fields)
    if "name" in out:
        out["name"] = (out["name"] or "").strip()[:200]
        if not out["name"]:
            errors["name"] = [_("Give the campaign a name.")]
    if "body" in out:
        out["body"] = (out["body"] or "").strip()
        if not out["body"]:
            errors["body"] = [_("The message is empty.")]
    if "category" in out and out["category"] not in Category.values:
        errors["category"] = [_("Choose marketing or transactional.")]
    if out.get("sender_id"):
        out["sender_id"] = out["sender_id"].strip()
        result = check_sender(out["sender_id"])
        if not result.ok:
            errors["sender_id"] = [_(m) for m in result.messages]
    elif "sender_id" in out:
        out["sender_id"] = ""
    if "list_ids" in out:
        ids = _ids(out["list_ids"], "list_ids")
        found = set(ContactList.objects.filter(org=org, id__in=ids).values_list("id", flat=True))
        if set(ids) - found:
            errors["list_ids"] = [_("Unknown list.")]
        out["list_ids"] = ids
    if "segment_ids" in out:
        ids = _ids(out["segment_ids"], "segment_ids")
        found = set(Segment.objects.filter(org=org, id__in=ids).values_list("id", flat=True))
        if set(ids) - found:
            errors["segment_ids"] = [_("Unknown segment.")]
        out["segment_ids"] = ids
    if errors:
        raise ValidationError(errors)
    if out.get("sender_id"):
        sender_for_sending(org=org, name=out["sender_id"], actor=actor)
    return out


# Changing any of these after an operator approved the campaign as transactional withdraws the approval:
# it was given for this message to this audience (otherwise: approve, then swap the body).
TRANSACTIONAL_APPROVAL_FIELDS = ("body", "category", "list_ids", "segment_ids")
_NOT_AUDITED_FIELDS = ("updated_at", "transactional_approved_at", "transactional_approved_by")


EDITABLE = (
    "name",
    "body",
    "sender_id",
    "category",
    "list_ids",
    "segment_ids",
    "scheduled_at",
    "smart_encoding",
)


def campaign_create(
    *,
    org: Organisation,
    actor: Any,
    name: str,
    body: str,
    sender_id: str = "",
    category: str = Category.MARKETING,
    list_ids: Iterable[int] = (),
    segment_ids: Iterable[int] = (),
    scheduled_at: datetime | None = None,
    smart_encoding: bool = False,
) -> Campaign:
    """A draft campaign; nothing is reserved nor sent until it is launched."""
    fields = _campaign_clean(
        org,
        {
            "name": name,
            "body": body,
            "sender_id": sender_id,
            "category": category,
            "list_ids": list(list_ids),
            "segment_ids": list(segment_ids),
        },
        actor,
    )
    now = timezone.now()
    with transaction.atomic():
        campaign = Campaign.objects.create(
            org=org,
            scheduled_at=scheduled_at,
            smart_encoding=bool(smart_encoding),
            created_by=actor if getattr(actor, "pk", None) else None,
            created_at=now,
            updated_at=now,
            **fields,
        )
        audit_record(
            org=org, actor=actor, action="campaign.created", target=campaign, data={"name": campaign.name}
        )
    return campaign


def campaign_update(*, org: Organisation, actor: Any, campaign: Campaign, **fields: Any) -> Campaign:
    """Edits a draft or scheduled campaign (409 otherwise: what is sending is frozen).

    Moving ``scheduled_at`` of a scheduled campaign reschedules it (the calendar's drag and drop); clearing
    it puts the campaign back to draft.
    """
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise ValueError(f"Not editable: {', '.join(sorted(unknown))}")
    cleaned = _campaign_clean(org, fields, actor)
    with transaction.atomic():
        locked = _locked(org, campaign)
        _check(locked, "edited")
        changed = {k: v for k, v in cleaned.items() if getattr(locked, k) != v}
        if locked.status == S.SCHEDULED and "scheduled_at" in changed and changed["scheduled_at"] is None:
            changed["status"] = S.DRAFT
        withdrawn = locked.transactional_approved_at is not None and any(
            key in changed for key in TRANSACTIONAL_APPROVAL_FIELDS
        )
        if withdrawn:
            changed["transactional_approved_at"] = None
            changed["transactional_approved_by"] = None
        if changed:
            changed["updated_at"] = timezone.now()
            Campaign.objects.filter(pk=locked.pk).update(**changed)
            for key, value in changed.items():
                setattr(locked, key, value)
            audit_record(
                org=org,
                actor=actor,
                action="campaign.updated",
                target=locked,
                data={
                    "fields": sorted(k for k in changed if k not in _NOT_AUDITED_FIELDS),
                    **({"transactional_approval_withdrawn": True} if withdrawn else {}),
                },
            )
    return locked


def campaign_delete(*, org: Organisation, actor: Any, campaign: Campaign) -> None:
    """Deletes a campaign that never sent anything (draft or scheduled)."""
    with transaction.atomic():
        locked = _locked(org, campaign)
        _check(locked, "deleted")
        audit_record(
            org=org, actor=actor, action="campaign.deleted", target=locked, data={"name": locked.name}
        )
        Campaign.objects.filter(org=org, pk=locked.pk).delete()


# --- launch -----------------------------------------------------------------------------------------


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
            rendered = self.same or render_for(self.template, contact_values(row), smart=self.smart)
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
            reason = (
                "insufficient_credits"
                if isinstance(exc, InsufficientCredits)
                else getattr(exc, "code", None) or "invalid"
            )
            Campaign.objects.filter(pk=locked.pk).update(
                status=S.FAILED, failure_reason=str(reason)[:64], updated_at=now, completed_at=now
            )
            audit_record(
                org=org, actor=None, action="campaign.failed", target=locked, data={"reason": reason}
            )
            return "failed"


# --- estimate ---------------------------------------------------------------------------------------


def _context(row: dict[str, Any]) -> RecipientContext:
    if row.get("region") and row.get("timezone"):
        return RecipientContext(row["region"], row["timezone"], row.get("calendar") or row["region"])
    try:
        return recipient_context(row["phone"], row.get("postal_code") or "")
    except ValueError:
        return RecipientContext("FR", "Europe/Paris", "FR")


def campaign_estimate(*, org: Organisation, campaign: Campaign, at: datetime | None = None) -> dict[str, Any]:
    """What a launch would do, without writing anything: recipients, credits, encoding, segments, and how
    many the gate would defer (and until when at the latest) or block (and why) at ``at`` (default: the
    scheduled time, or now). A constant number of queries whatever the audience size (plus one per 2,000
    recipients streamed)."""
    now = timezone.now()
    at = at or (campaign.scheduled_at if campaign.scheduled_at and campaign.scheduled_at > now else now)
    marketing = campaign.category == Category.MARKETING
    template = prepare_body(campaign.body, marketing=marketing, stop_mention=org.stop_mention)
    # URLs counted at the length of their tracked short link, as the launch will send them (no write).
    template = body_for_counting(template)
    rows = list(audience_rows(org, campaign))
    prices = prices_for_regions({r["region"] or "" for r in rows})
    suppressed = suppressed_numbers(org, [r["phone"] for r in rows])
    counts = marketing_counts(org, [r["id"] for r in rows], at) if marketing and rows else {}
    policy = org_policy(org)
    items, credits, max_segments, unicode, row_credits = [], 0, 0, False, []
    for row in rows:
        rendered = render_for(template, contact_values(row), smart=campaign.smart_encoding)
        cost = rendered.segments * prices[row["region"] or ""]
        row_credits.append(cost)
        credits += cost
        max_segments = max(max_segments, rendered.segments)
        unicode = unicode or rendered.encoding == "UCS-2"
        d1, d7 = counts.get(row["id"], (0, 0))
        items.append(
            GateItem(
                context=_context(row),
                policy=policy,
                category=campaign.category,
                consent=row["consent_basis"],
                suppressed=row["phone"] in suppressed,
                sent_last_24h=d1,
                sent_last_7d=d7,
            )
        )
    decisions = evaluate(items, at)
    blocked = Counter(d.reason for d in decisions if d.outcome == BLOCK)
    deferred = [d.next_allowed_at for d in decisions if d.outcome == DEFER]
    base = render_for(template, {}, smart=campaign.smart_encoding)
    blocked_credits = sum(c for c, d in zip(row_credits, decisions, strict=True) if d.outcome == BLOCK)
    return {
        "recipients": len(rows),
        "credits": credits,
        "credits_after_blocks": credits - blocked_credits,
        "encoding": "UCS-2" if unicode or base.encoding == "UCS-2" else "GSM-7",
        "segments": max_segments or base.segments,
        "deferred": len(deferred),
        "deferred_until": max(deferred) if deferred else None,
        "blocked": dict(blocked),
        "at": at,
        "balance": credits_balance(org),
    }


# --- pause, resume, cancel --------------------------------------------------------------------------


def campaign_pause(*, org: Organisation, actor: Any, campaign: Campaign) -> Campaign:
    """Stops dispatch: batch tasks skip the messages of a campaign that is not ``sending``, so at most the
    batch already claimed leaves after this."""
    with transaction.atomic():
        locked = _locked(org, campaign)
        _check(locked, "paused")
        Campaign.objects.filter(pk=locked.pk).update(status=S.PAUSED, updated_at=timezone.now())
        locked.status = S.PAUSED
        audit_record(org=org, actor=actor, action="campaign.paused", target=locked)
    return locked


def campaign_resume(*, org: Organisation, actor: Any, campaign: Campaign) -> Campaign:
    """Sends what is left of a paused campaign (the gate is evaluated again, at the new dispatch time)."""
    with transaction.atomic():
        locked = _locked(org, campaign)
        _check(locked, "resumed")
        Campaign.objects.filter(pk=locked.pk).update(status=S.SENDING, updated_at=timezone.now())
        locked.status = S.SENDING
        audit_record(org=org, actor=actor, action="campaign.resumed", target=locked)
        transaction.on_commit(lambda: enqueue.enqueue_dispatch(locked.pk))
    return locked


def campaign_cancel(
    *, org: Organisation, actor: Any, campaign: Campaign, now: datetime | None = None
) -> Campaign:
    """Cancels what was not sent and gives its credits back.

    Messages not yet claimed become ``cancelled``; when none is in flight the reservation is settled at
    once (spent = what the provider took), otherwise the settle task does it when the last in-flight
    message has its answer.
    """
    now = _now(now)
    with transaction.atomic():
        locked = _locked(org, campaign)
        _check(locked, "cancelled")
        cancelled = Message.objects.filter(
            org=org, campaign=locked, status__in=(MessageStatus.PENDING, MessageStatus.DEFERRED)
        ).update(status=MessageStatus.CANCELLED)
        Campaign.objects.filter(pk=locked.pk).update(status=S.CANCELLED, updated_at=now, completed_at=now)
        locked.status, locked.completed_at = S.CANCELLED, now
        audit_record(
            org=org, actor=actor, action="campaign.cancelled", target=locked, data={"messages": cancelled}
        )
        if locked.launched_at is not None:
            campaign_settle(org=org, campaign=locked, now=now)
    return locked


def campaign_settle(*, org: Organisation, campaign: Campaign, now: datetime | None = None) -> bool:
    """Ends the credit reservation of a finished or cancelled campaign: spent = credits of the messages the
    provider took; the rest goes back to the balance. Waits (returns False) while a message is in flight;
    idempotent (``credits_settle`` with the same ``spent`` is a no-op)."""
    from django.db.models import Sum

    now = _now(now)
    with transaction.atomic():
        locked = _locked(org, campaign)
        if locked.settled_at is not None:
            return True
        open_statuses = (MessageStatus.SENDING,)
        if locked.status == S.SENDING:
            open_statuses = (MessageStatus.PENDING, MessageStatus.DEFERRED, MessageStatus.SENDING)
        elif locked.status not in (S.CANCELLED, S.COMPLETED, S.FAILED):
            return False
        if Message.objects.filter(org=org, campaign=locked, status__in=open_statuses).exists():
            return False
        spent = (
            Message.objects.filter(org=org, campaign=locked, status__in=SPENT_STATUSES).aggregate(
                t=Sum("credits")
            )["t"]
            or 0
        )
        if locked.launched_at is not None:
            credits_settle(org=org, reference=locked.reference, spent=spent)
        update = {"settled_at": now, "credits_spent": spent, "updated_at": now}
        if locked.status == S.SENDING:
            update.update(status=S.COMPLETED, completed_at=now)
        Campaign.objects.filter(pk=locked.pk).update(**update)
        audit_record(
            org=org,
            actor=None,
            action="campaign.completed" if locked.status == S.SENDING else "campaign.settled",
            target=locked,
            data={"credits_spent": spent},
        )
    return True


# --- transactional messages -------------------------------------------------------------------------


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
