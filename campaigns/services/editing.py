"""Creation and edition of campaigns: validation of the editable fields, drafts, scheduling by edit."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from compliance.sender_registry import sender_for_sending
from compliance.senders import check_sender
from contacts.models import ContactList, Segment
from smsplatform.audit import audit_record
from smsplatform.models import Organisation

from ..merge_fields import merge_field_errors
from ..models import Campaign, Category
from ._common import S, _check, _locked


def _ids(values: Iterable[Any] | None, field: str) -> list[int]:
    try:
        return sorted({int(v) for v in (values or [])})
    except (TypeError, ValueError):
        raise ValidationError({field: [_("Give a list of ids.")]})


def _own_ids(org: Organisation, model: Any, values: Any, field: str) -> tuple[list[int], bool]:
    """The ids of ``values`` (sorted, once each), and whether all are rows of ``model`` of ``org``."""
    ids = _ids(values, field)
    found = set(model.objects.filter(org=org, id__in=ids).values_list("id", flat=True))
    return ids, not set(ids) - found


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
        else:
            errors.update(merge_field_errors(org, out["body"]))
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
        out["list_ids"], known = _own_ids(org, ContactList, out["list_ids"], "list_ids")
        if not known:
            errors["list_ids"] = [_("Unknown list.")]
    if "segment_ids" in out:
        out["segment_ids"], known = _own_ids(org, Segment, out["segment_ids"], "segment_ids")
        if not known:
            errors["segment_ids"] = [_("Unknown segment.")]
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
    "transliterate_merge_values",
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
    transliterate_merge_values: bool = False,
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
            transliterate_merge_values=bool(transliterate_merge_values),
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
