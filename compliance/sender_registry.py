"""The sender registry: which organisation may send as which name (sender identification, and the
public API's ``/senders``).

A sender ID identifies a shop to its customers, so anyone sending as another shop's brand, a bank or a
public service is phishing (smishing). A name is therefore held by one organisation; names on the
operator's protected list are refused to everyone; in the sandbox the first organisation to ask gets a
free name at once (nothing reaches a handset there), on a real gateway the operator approves it having
seen the proof the organisation uploaded. Reads first, then writes; every write is audited.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from smsplatform.audit import audit_record

from .models import ProtectedSenderName, SenderId, SenderStatus
from .senders import check_sender

# Codes the API answers with.
SENDER_TAKEN = "sender_taken"
SENDER_PROTECTED = "sender_protected"
SENDER_NOT_APPROVED = "sender_not_approved"

PROOF_MAX_BYTES = 5 * 1024 * 1024
# Checked on the file's first bytes, not on its name or the browser's content type (both are the
# uploader's word): the extension the stored file gets comes from here.
_PROOF_SIGNATURES = (
    (b"%PDF-", ".pdf"),
    (b"\x89PNG\r\n\x1a\n", ".png"),
    (b"\xff\xd8\xff", ".jpg"),
)


def squash(name: str) -> str:
    """The name as compared with the protected list: upper case, accents, spaces and punctuation off."""
    text = unicodedata.normalize("NFKD", name or "")
    return re.sub(r"[^0-9A-Z]", "", text.upper())


# --- reads ------------------------------------------------------------------------------------------


def protected_match(name: str) -> ProtectedSenderName | None:
    """The protected name that refuses ``name``, if any (exact once squashed, or contained in it for the
    entries the operator marked so)."""
    key = squash(name)
    if not key:
        return None
    for entry in ProtectedSenderName.objects.filter(Q(name=key) | Q(match_contained=True)).order_by("name"):
        if entry.name == key or (entry.match_contained and entry.name and entry.name in key):
            return entry
    return None


def sender_holding(name: str) -> SenderId | None:
    """The request that holds ``name`` on the platform (approved or pending), whatever its case."""
    return (
        SenderId.objects.select_related("org")
        .filter(name__iexact=(name or "").strip())
        .exclude(status=SenderStatus.REJECTED)
        .first()
    )


def org_senders(org):
    """The organisation's sender IDs, newest first (rejected requests included, with their reason)."""
    return SenderId.objects.filter(org=org).order_by("-created_at", "-id")


def approved_for_sending(org, sender: SenderId) -> bool:
    """Whether ``org`` may send as ``sender`` now. An automatic sandbox approval does not count on a real
    gateway: the operator has not seen the proof (an organisation moved off the sandbox keeps its names
    but must have them reviewed)."""
    if sender.org_id != org.pk or sender.status != SenderStatus.APPROVED:
        return False
    return org.on_sandbox or sender.reviewed_at is not None


@dataclass(frozen=True)
class SenderView:
    """A sender as the organisation sees it (API and page): its status on the organisation's gateway."""

    id: int
    name: str
    status: str
    reason: str
    has_proof: bool
    created_at: Any


def sender_view(org, sender: SenderId) -> SenderView:
    status, reason = sender.status, sender.reason
    if status == SenderStatus.APPROVED and not approved_for_sending(org, sender):
        status = SenderStatus.PENDING
        reason = _(
            "Approved for the sandbox only: the operator reviews it (with your proof) for real sending."
        )
    return SenderView(sender.pk, sender.name, status, reason, bool(sender.proof), sender.created_at)


def default_sender_name(org) -> str:
    """The sender an empty ``sender_id`` stands for: the organisation's default sender ID, else its brand
    squashed into one (when that makes a valid sender ID)."""
    for candidate in (
        (org.default_sender_id or "").strip(),
        "".join(ch for ch in (org.display_brand or "") if ch.isascii() and ch.isalnum())[:11],
    ):
        if candidate and check_sender(candidate).ok:
            return candidate
    return ""


def sender_refusal(org, name: str, *, register: bool = True) -> str:
    """Why ``org`` may not send as ``name`` (a sentence), or "" when it may. Writes nothing: the forms ask
    it to show the error in place; :func:`sender_for_sending` decides (and registers) for real.
    ``register``: whether a free name would be registered on the fly in the sandbox."""
    name = (name or "").strip()
    if protected_match(name) is not None:
        return _("“%(name)s” is a protected name (a bank, a public service, an operator or a carrier).") % {
            "name": name
        }
    holder = sender_holding(name)
    if holder is not None and holder.org_id != org.pk:
        return _("The sender ID “%(name)s” is held by another organisation.") % {"name": name}
    if holder is not None:
        if approved_for_sending(org, holder):
            return ""
        return _(
            "The sender ID “%(name)s” awaits the operator's approval: you can use it once it is approved."
        ) % {"name": name}
    refused = SenderId.objects.filter(org=org, name__iexact=name, status=SenderStatus.REJECTED).first()
    if refused is not None:  # the operator's refusal (or revocation) stands, sandbox or not
        return _("The operator refused the sender ID “%(name)s”: %(reason)s") % {
            "name": name,
            "reason": refused.reason or _("no reason given."),
        }
    if org.on_sandbox and register:
        return ""
    return _(
        "The sender ID “%(name)s” is not approved for your organisation: request it on the Senders page, "
        "with a proof that the name is yours."
    ) % {"name": name}


# --- writes -----------------------------------------------------------------------------------------


def proof_check(upload) -> str:
    """Validates an uploaded proof (size, PDF or image by its content) and returns its extension."""
    size = getattr(upload, "size", None) or 0
    if size > PROOF_MAX_BYTES:
        raise ValidationError({"proof": [_("The proof is too large: 5 MB at most.")]}, code="proof_too_large")
    if not size:
        raise ValidationError({"proof": [_("The proof file is empty.")]}, code="proof_empty")
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    for signature, extension in _PROOF_SIGNATURES:
        if head.startswith(signature):
            return extension
    raise ValidationError({"proof": [_("Send the proof as a PDF, a PNG or a JPEG file.")]}, code="proof_type")


def _attach_proof(sender: SenderId, upload) -> list[str]:
    extension = proof_check(upload)
    original = os.path.basename(getattr(upload, "name", "") or "")[:200]
    if sender.proof:
        sender.proof.delete(save=False)
    sender.proof.save(f"proof{extension}", upload, save=False)
    sender.proof_name = original
    return ["proof", "proof_name"]


def _refuse(message: str, code: str) -> ValidationError:
    return ValidationError(message, code=code)


def _check_name(name: str) -> str:
    name = (name or "").strip()
    result = check_sender(name)
    if not result.ok:
        raise ValidationError({"name": [_(message) for message in result.messages]})
    if protected_match(name) is not None:
        raise _refuse(
            _("“%(name)s” is a protected name (a bank, a public service, an operator or a carrier).")
            % {"name": name},
            SENDER_PROTECTED,
        )
    return name


def _register(*, org, actor: Any, name: str, via: str, proof=None) -> SenderId:
    """Creates the organisation's request for a free name: approved at once in the sandbox, pending on a
    real gateway. Raises ``sender_taken`` when another organisation got it first (even concurrently)."""
    sandbox = org.on_sandbox
    sender = SenderId(
        org=org,
        name=name,
        status=SenderStatus.APPROVED if sandbox else SenderStatus.PENDING,
        requested_by=actor if getattr(actor, "pk", None) and hasattr(actor, "email") else None,
    )
    try:
        with transaction.atomic():
            if proof is not None:
                _attach_proof(sender, proof)
            sender.save()
    except IntegrityError:
        raise _refuse(
            _("The sender ID “%(name)s” is held by another organisation.") % {"name": name}, SENDER_TAKEN
        )
    audit_record(
        org=org,
        actor=actor,
        action="compliance.sender_requested",
        target=sender,
        data={"name": name, "status": sender.status, "via": via, "has_proof": bool(sender.proof)},
    )
    return sender


@transaction.atomic
def sender_request(*, org, actor: Any, name: str, proof=None) -> tuple[SenderId, bool]:
    """An organisation asks for a sender ID (API ``POST /senders``, the Senders page).

    Returns (sender, created). Asking again for a name it holds returns it (with the new proof, if any);
    a name it was refused becomes a new request for the operator (not approved again automatically,
    even in the sandbox: the operator refused it). ValidationError ``sender_protected`` (400),
    ``sender_taken`` (409), or field errors on ``name`` and ``proof``.
    """
    name = _check_name(name)
    if proof is not None:
        proof_check(proof)
    holder = sender_holding(name)
    if holder is not None and holder.org_id != org.pk:
        raise _refuse(
            _("The sender ID “%(name)s” is held by another organisation.") % {"name": name}, SENDER_TAKEN
        )
    if holder is not None:
        if proof is not None:
            sender_proof_attach(org=org, actor=actor, sender=holder, proof=proof)
        return holder, False
    refused = SenderId.objects.filter(org=org, name__iexact=name, status=SenderStatus.REJECTED).first()
    if refused is not None:
        refused.status, refused.reviewed_at, refused.reviewed_by = SenderStatus.PENDING, None, None
        fields = ["status", "reviewed_at", "reviewed_by", "updated_at"]
        if proof is not None:
            fields += _attach_proof(refused, proof)
        try:
            with transaction.atomic():
                refused.save(update_fields=fields)
        except IntegrityError:
            raise _refuse(
                _("The sender ID “%(name)s” is held by another organisation.") % {"name": name},
                SENDER_TAKEN,
            )
        audit_record(
            org=org,
            actor=actor,
            action="compliance.sender_requested",
            target=refused,
            data={"name": refused.name, "status": refused.status, "via": "request_again"},
        )
        return refused, False
    return _register(org=org, actor=actor, name=name, via="request", proof=proof), True


@transaction.atomic
def sender_proof_attach(*, org, actor: Any, sender: SenderId, proof) -> SenderId:
    """Stores (or replaces) the proof that the name is the organisation's: a Kbis extract, a trademark
    registration... What the operator reads before approving it for a real gateway."""
    if sender.org_id != org.pk:
        raise ValueError("sender of another organisation")
    fields = _attach_proof(sender, proof)
    sender.save(update_fields=[*fields, "updated_at"])
    audit_record(
        org=org,
        actor=actor,
        action="compliance.sender_proof_uploaded",
        target=sender,
        data={"name": sender.name, "file": sender.proof_name},
    )
    return sender


def sender_for_sending(*, org, name: str, actor: Any = None, register: bool = True) -> SenderId:
    """The organisation's approved sender ID ``name``, or ValidationError ``sender_not_approved`` with the
    reason in words. In the sandbox a free, valid, unprotected name is registered on the fly (the
    five-minute journey stays instant); on a real gateway only what the operator approved passes."""
    name = (name or "").strip()
    refusal = sender_refusal(org, name, register=register)
    if refusal:
        raise _refuse(refusal, SENDER_NOT_APPROVED)
    holder = sender_holding(name)
    if holder is not None:
        return holder
    try:
        return _register(org=org, actor=actor, name=name, via="on_the_fly")
    except ValidationError as exc:  # a concurrent registration by another organisation won the name
        raise _refuse(exc.messages[0], SENDER_NOT_APPROVED)


def sender_register_default(*, org, actor: Any) -> SenderId | None:
    """In the sandbox, registers the name an empty sender stands for (sign-up, settings), so that the
    first campaign is instant. Never fails: a name taken or protected is simply not registered (the
    launch then explains it); off the sandbox nothing is registered without the operator."""
    name = default_sender_name(org)
    if not name or not org.on_sandbox or sender_refusal(org, name):
        return None
    holder = sender_holding(name)
    if holder is not None:
        return holder
    try:
        return _register(org=org, actor=actor, name=name, via="default")
    except ValidationError:  # taken concurrently by another organisation
        return None


def default_sender_set(*, org, actor: Any, name: str) -> None:
    """Checks the default sender ID an organisation chooses in its settings against the registry:
    refused when protected or held by another organisation; registered when free (approved in the
    sandbox, a pending request for the operator otherwise). ValidationError on ``default_sender_id``."""
    name = (name or "").strip()
    if not name:
        return
    try:
        sender_request(org=org, actor=actor, name=name)
    except ValidationError as exc:
        raise ValidationError({"default_sender_id": exc.messages})


def _review(sender: SenderId, actor: Any, status: str, reason: str, action: str) -> SenderId:
    sender.status, sender.reason = status, reason
    sender.reviewed_by = actor if getattr(actor, "pk", None) and hasattr(actor, "email") else None
    sender.reviewed_at = timezone.now()
    sender.save(update_fields=["status", "reason", "reviewed_by", "reviewed_at", "updated_at"])
    audit_record(
        org=sender.org,
        actor=actor,
        action=action,
        target=sender,
        data={
            "name": sender.name,
            "reason": reason,
            "proof": sender.proof_name,
            "has_proof": bool(sender.proof),
        },
    )
    return sender


@transaction.atomic
def sender_approve(*, sender: SenderId, actor: Any) -> SenderId:
    """The operator approves a sender ID (having read its proof): the organisation may send as it on a
    real gateway."""
    locked = SenderId.objects.select_for_update().select_related("org").get(pk=sender.pk)
    try:
        with transaction.atomic():
            return _review(locked, actor, SenderStatus.APPROVED, "", "compliance.sender_approved")
    except IntegrityError:  # a rejected request revived while another organisation holds the name
        raise ValidationError(
            _("The sender ID “%(name)s” is held by another organisation.") % {"name": locked.name},
            code=SENDER_TAKEN,
        )


@transaction.atomic
def sender_reject(*, sender: SenderId, actor: Any, reason: str) -> SenderId:
    """The operator refuses (or revokes) a sender ID, with the reason the organisation will read. A
    campaign already scheduled with it is refused at its launch."""
    locked = SenderId.objects.select_for_update().select_related("org").get(pk=sender.pk)
    return _review(locked, actor, SenderStatus.REJECTED, (reason or "").strip(), "compliance.sender_rejected")
