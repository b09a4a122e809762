"""Compliance data: the suppression list (opt-outs that outlive contacts) and an organisation's own,
stricter sending policy on top of its rule pack."""

from __future__ import annotations

import hashlib
import hmac
import os
import uuid
from functools import lru_cache

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _


@lru_cache(maxsize=4)
def _hash_key(secret: str) -> bytes:
    # A key derived from SECRET_KEY (and not SECRET_KEY itself), so that a leaked hash column cannot be
    # used to attack other HMACs of the project.
    return hashlib.sha256(b"smsplatform.compliance.suppression:" + secret.encode()).digest()


def phone_hash(phone_e164: str) -> str:
    """Keyed hash (HMAC-SHA256) of an E.164 number: what a suppression keeps after a GDPR erasure.

    Keyed so that the column cannot be reversed by hashing the whole numbering plan. Rotating SECRET_KEY
    changes every hash: a rotation must re-key this table first.
    """
    return hmac.new(_hash_key(settings.SECRET_KEY), phone_e164.strip().encode(), hashlib.sha256).hexdigest()


class SuppressionSource(models.TextChoices):
    INBOUND_KEYWORD = "inbound_keyword", _("Inbound keyword")
    MANUAL = "manual", _("Manual")
    API = "api", _("API")
    IMPORT = "import", _("Import")
    WEB_FORM = "web_form", _("Web form")
    GATEWAY = "gateway", _("Gateway")


class Suppression(models.Model):
    """A number an organisation must not send marketing SMS to (docs/compliance.md, "Opt-out (STOP)").

    Keyed by a hash of the number, not by contact: deleting, erasing or re-importing a contact never
    re-subscribes it. ``phone_e164`` is kept for display and cleared on a GDPR erasure.
    """

    org = models.ForeignKey("smsplatform.Organisation", on_delete=models.CASCADE, related_name="suppressions")
    phone_hash = models.CharField(_("phone hash"), max_length=64)
    phone_e164 = models.CharField(_("phone"), max_length=16, blank=True)
    source = models.CharField(_("source"), max_length=20, choices=SuppressionSource.choices)
    reason = models.TextField(_("reason"), blank=True)
    proof = models.TextField(_("proof"), blank=True, help_text=_("The inbound message, when there is one."))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("suppression")
        verbose_name_plural = _("suppressions")
        constraints = [
            models.UniqueConstraint(
                fields=["org", "phone_hash"], name="compliance_suppression_org_hash_uniq"
            ),
        ]
        indexes = [models.Index(fields=["org", "-created_at"], name="compliance_supp_org_created")]

    def __str__(self) -> str:
        return self.phone_e164 or f"#{self.phone_hash[:12]}"


class OrgSendingPolicy(models.Model):
    """An organisation's restrictions on top of its rule pack; they may only make it stricter.

    ``restrictions`` is validated by :func:`compliance.packs.parse_restrictions` (keys: ``windows``,
    ``closed_weekdays``, ``blocked_dates``, ``max_per_24h``, ``max_per_7d``, ``block_discouraged``).
    """

    org = models.OneToOneField(
        "smsplatform.Organisation", on_delete=models.CASCADE, related_name="sending_policy"
    )
    restrictions = models.JSONField(_("restrictions"), default=dict, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("sending policy")
        verbose_name_plural = _("sending policies")

    def __str__(self) -> str:
        return f"sending policy of org {self.org_id}"


# --- Sender IDs (docs/compliance.md, "Senders") ---------------------------------------------------


class PrivateStorage(FileSystemStorage):
    """Files under ``MEDIA_ROOT/private``: no URL is ever built for them (the web server serves no media),
    only the operator's admin streams one, after checking who asks."""

    @cached_property
    def base_location(self):
        return os.path.join(settings.MEDIA_ROOT, "private")

    def url(self, name):
        raise ValueError("A private file has no public URL.")


_private_storage = PrivateStorage()


def private_storage() -> PrivateStorage:
    return _private_storage


def sender_proof_path(instance: SenderId, filename: str) -> str:
    # A random name, never the uploaded one (which may carry a path or markup); the extension comes from
    # the checked content type (compliance.sender_registry.proof_check), kept in ``filename``.
    extension = os.path.splitext(filename)[1].lower()[:6]
    return f"sender-proofs/{instance.org_id}/{uuid.uuid4().hex}{extension}"


class SenderStatus(models.TextChoices):
    APPROVED = "approved", _("Approved")
    PENDING = "pending", _("Pending")
    REJECTED = "rejected", _("Rejected")


class SenderId(models.Model):
    """A sender ID (alphanumeric name or short code) held by one organisation.

    A name is held by at most one organisation at a time, whatever its case ("Fleurs" is "FLEURS"): the
    unique index ignores rejected requests, so that a refused name is free again. An approval given
    automatically in the sandbox (``reviewed_at`` empty) is not one for a real gateway: there the operator
    approves, having seen the proof.
    """

    org = models.ForeignKey("smsplatform.Organisation", on_delete=models.CASCADE, related_name="sender_ids")
    name = models.CharField(_("sender ID"), max_length=16)
    status = models.CharField(
        _("status"), max_length=16, choices=SenderStatus.choices, default=SenderStatus.PENDING
    )
    reason = models.TextField(_("reason"), blank=True)
    proof = models.FileField(
        _("proof"), storage=private_storage, upload_to=sender_proof_path, max_length=200, blank=True
    )
    proof_name = models.CharField(_("proof file name"), max_length=200, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reviewed by"),
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("sender ID")
        verbose_name_plural = _("sender IDs")
        constraints = [
            models.UniqueConstraint(
                Upper("name"),
                condition=~Q(status="rejected"),
                name="compliance_sender_name_held_uniq",
            ),
        ]
        indexes = [models.Index(fields=["org", "name"], name="compliance_sender_org_name")]

    def __str__(self) -> str:
        return self.name


class ProtectedSenderName(models.Model):
    """A name no organisation may send as (a bank, a public service, an operator, a carrier), kept by the
    operator. Compared squashed: case, spaces and punctuation do not count."""

    name = models.CharField(_("name"), max_length=40, unique=True)
    match_contained = models.BooleanField(
        _("also refuse names containing it"),
        default=False,
        help_text=_(
            "For distinctive names only (LAPOSTE refuses LAPOSTEFR); a short one (CAF) would refuse CAFE."
        ),
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("protected sender name")
        verbose_name_plural = _("protected sender names")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
