"""Writes of the compliance module: suppressions (opt-outs) and the organisation's sending policy."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from smsplatform.audit import audit_record
from smsplatform.services import organisation_update

from .models import OrgSendingPolicy, Suppression, SuppressionSource, phone_hash
from .packs import all_packs, effective_policy, get_pack, restrictions_to_json
from .selectors import org_restrictions

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def _check_e164(phone_e164: str) -> str:
    phone = (phone_e164 or "").strip()
    if not _E164.match(phone):
        raise ValidationError(
            f"{phone_e164!r} is not an E.164 number (+ and 7 to 15 digits).", code="invalid_phone"
        )
    return phone


def _check_source(source: str) -> str:
    if source not in SuppressionSource.values:
        raise ValidationError(f"Unknown suppression source {source!r}.", code="invalid_source")
    return source


@transaction.atomic
def suppression_add(
    *, org, phone_e164: str, source: str, actor: Any = None, proof: str = "", reason: str = ""
) -> Suppression:
    """Suppresses a number for an organisation at once, before any further message leaves.

    Idempotent: a second STOP (or a retried webhook) returns the existing entry, keeps its original
    date and proof, and writes no second audit row. Keyed by a hash of the number so that it outlives
    the contact (deletion, GDPR erasure, re-import).
    """
    phone = _check_e164(phone_e164)
    _check_source(source)
    digest = phone_hash(phone)
    existing = Suppression.objects.filter(org=org, phone_hash=digest).first()
    if existing is not None:
        if not existing.phone_e164:
            # The number was erased but is being opted out again: it is personal data the person has
            # just given us, needed to show the opt-out in the list.
            existing.phone_e164 = phone
            existing.save(update_fields=["phone_e164"])
        return existing
    try:
        with transaction.atomic():
            suppression = Suppression.objects.create(
                org=org, phone_hash=digest, phone_e164=phone, source=source, proof=proof, reason=reason
            )
    except IntegrityError:  # a concurrent STOP for the same number won the race: same outcome
        return Suppression.objects.get(org=org, phone_hash=digest)
    audit_record(
        org=org,
        actor=actor,
        action="compliance.suppression_add",
        target=suppression,
        data={"source": source, "phone_hash": digest, "has_proof": bool(proof)},
    )
    return suppression


@transaction.atomic
def suppression_lift(*, org, phone_e164: str, source: str, actor: Any = None, proof: str = "") -> bool:
    """Lifts a suppression after an inbound opt-in keyword or a new, proven opt-in
    (docs/compliance.md, "Opt-out (STOP)").

    Nothing else may re-subscribe a number, so callers pass the source of the new consent and its proof;
    the audit row keeps them since the suppression row itself is removed. Returns whether a suppression
    existed.
    """
    phone = _check_e164(phone_e164)
    _check_source(source)
    if source in (SuppressionSource.IMPORT, SuppressionSource.GATEWAY):
        # Re-importing a file or a gateway event is never a new, proven opt-in.
        raise ValidationError(f"A suppression cannot be lifted by source {source!r}.", code="invalid_source")
    if source != SuppressionSource.INBOUND_KEYWORD and not proof:
        raise ValidationError("Lifting an opt-out needs the proof of the new opt-in.", code="proof_required")
    digest = phone_hash(phone)
    deleted, _ = Suppression.objects.filter(org=org, phone_hash=digest).delete()
    if deleted:
        audit_record(
            org=org,
            actor=actor,
            action="compliance.suppression_lift",
            data={"source": source, "phone_hash": digest, "proof": proof[:500]},
        )
    return bool(deleted)


@transaction.atomic
def suppression_forget_numbers(*, org, phones: list[str], actor: Any = None) -> int:
    """Clears the readable number of suppressions on a GDPR erasure, keeping their hash.

    The opt-out must survive the erasure (a re-import must not re-subscribe the person), but the
    readable number is personal data that the erasure removes. One query for the whole list.
    """
    digests = [phone_hash(_check_e164(p)) for p in phones]
    count = (
        Suppression.objects.filter(org=org, phone_hash__in=digests)
        .exclude(phone_e164="")
        .update(phone_e164="")
    )
    if count:
        audit_record(org=org, actor=actor, action="compliance.suppression_forget", data={"count": count})
    return count


@transaction.atomic
def sending_policy_set(*, org, restrictions: dict, actor: Any = None) -> OrgSendingPolicy:
    """Stores an organisation's own restrictions on top of its rule pack.

    Validated against the pack first: an organisation may only make its pack stricter, so anything
    looser is refused with a ValidationError naming the rule.
    """
    pack = get_pack(org.rule_pack)
    policy = effective_policy(pack, restrictions)  # raises ValidationError when looser
    stored = restrictions_to_json(policy.restrictions)
    obj, _ = OrgSendingPolicy.objects.update_or_create(org=org, defaults={"restrictions": stored})
    audit_record(org=org, actor=actor, action="compliance.sending_policy_set", target=obj, data=stored)
    return obj


@transaction.atomic
def sending_rules_update(*, org, actor: Any, rule_pack: str, restrictions: dict) -> OrgSendingPolicy | None:
    """Changes an organisation's rule pack and its own restrictions together, from the "Sending rules"
    page.

    The restrictions are validated against the NEW pack before anything is written, so that a pack
    change can never leave restrictions that are looser than the pack (nor drop them). The pack goes
    through ``organisation_update`` (audited as ``organisation.updated``); a compliance audit row keeps
    the old and new pack, since a shop owner may have to prove which rules applied when. Restrictions go
    through :func:`sending_policy_set`, only when they change. All or nothing.
    """
    if rule_pack not in all_packs():
        raise ValidationError(
            _("“%(value)s” is not a rule pack."), code="invalid_pack", params={"value": rule_pack}
        )
    new_json = restrictions_to_json(effective_policy(rule_pack, restrictions).restrictions)
    old_pack = org.rule_pack
    if old_pack != rule_pack:
        organisation_update(org=org, actor=actor, rule_pack=rule_pack)
        audit_record(
            org=org,
            actor=actor,
            action="compliance.rule_pack_changed",
            target=org,
            data={"from": old_pack, "to": rule_pack},
        )
    if new_json != org_restrictions(org):
        return sending_policy_set(org=org, restrictions=new_json, actor=actor)
    return OrgSendingPolicy.objects.filter(org=org).first()
