"""Compliance data: the suppression list (opt-outs that outlive contacts) and an organisation's own,
stricter sending policy on top of its rule pack."""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from django.conf import settings
from django.db import models
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
    """A number that must not receive marketing SMS from an organisation (compliance.md section 3).

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
