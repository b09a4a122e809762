"""The credit ledger: an append-only list of movements and one balance row per organisation.

The balance row exists only so that concurrent writers serialise on it (``SELECT ... FOR UPDATE``) and
so that reading a balance costs one indexed row; it always equals the sum of the entries, which the
database cannot contradict because both are written in the same transaction by ``credits_*`` services.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class CreditAccount(models.Model):
    org = models.OneToOneField(
        "smsplatform.Organisation", on_delete=models.CASCADE, related_name="credit_account"
    )
    balance = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="credit_balance_never_negative")
        ]

    def __str__(self) -> str:
        return f"{self.org}: {self.balance}"


class EntryKind(models.TextChoices):
    GRANT = "grant", _("Free credits")
    PURCHASE = "purchase", _("Purchase")
    RESERVATION = "reservation", _("Reserved for a campaign")
    RELEASE = "release", _("Released")
    REFUND = "refund", _("Refund")
    ADJUSTMENT = "adjustment", _("Adjustment by the operator")


class CreditEntry(models.Model):
    """One movement of credits. Never updated nor deleted."""

    org = models.ForeignKey(
        "smsplatform.Organisation", on_delete=models.CASCADE, related_name="credit_entries"
    )
    kind = models.CharField(max_length=16, choices=EntryKind.choices)
    amount = models.BigIntegerField(help_text="Signed: positive adds credits, negative takes them.")
    balance_after = models.BigIntegerField()
    reference = models.CharField(max_length=120, blank=True)
    reason = models.CharField(max_length=255, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["org", "-created_at"], name="credit_entry_org_created"),
            models.Index(fields=["org", "reference"], name="credit_entry_org_reference"),
        ]
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="credit_entry_amount_nonzero")]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount:+d} ({self.reference})"
