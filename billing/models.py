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
    PURCHASE_REFUND = "purchase_refund", _("Purchase refunded")


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


class CreditReservation(models.Model):
    """Credits held for one piece of work (a campaign) until it ends.

    ``reserved`` credits left the balance when they were reserved (a ``reservation`` entry); each release
    gives some back (a ``release`` entry); at settlement ``spent`` is fixed and the rest is released, so
    ``reserved == released + spent`` on every closed row and nothing stays held once the work ends.
    Updated only by the ``credits_*`` services, under the lock of the organisation's account.
    """

    org = models.ForeignKey(
        "smsplatform.Organisation", on_delete=models.CASCADE, related_name="credit_reservations"
    )
    reference = models.CharField(max_length=120)
    reserved = models.BigIntegerField(default=0)
    released = models.BigIntegerField(default=0)
    spent = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "reference"], name="credit_reservation_org_reference"),
            models.CheckConstraint(
                condition=Q(released__gte=0)
                & Q(spent__gte=0)
                & Q(reserved__gte=models.F("released") + models.F("spent")),
                name="credit_reservation_consistent",
            ),
        ]
        indexes = [models.Index(fields=["org", "closed_at"], name="credit_reservation_org_open")]

    def __str__(self) -> str:
        return f"{self.reference}: {self.outstanding} held"

    @property
    def outstanding(self) -> int:
        return 0 if self.closed_at else self.reserved - self.released - self.spent


class RegionPrice(models.Model):
    """Credits per segment for a destination region outside France (operator-edited).

    France and its overseas regions always cost 1 credit per segment and are not in this table.
    """

    region = models.CharField(_("region"), max_length=2, unique=True, help_text=_("ISO 3166 code, e.g. BE"))
    credits_per_segment = models.PositiveIntegerField(_("credits per segment"))
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["region"]
        verbose_name = _("price per region")
        verbose_name_plural = _("prices per region")
        constraints = [
            models.CheckConstraint(condition=Q(credits_per_segment__gte=1), name="region_price_positive")
        ]

    def __str__(self) -> str:
        return f"{self.region}: {self.credits_per_segment}"


class CreditPack(models.Model):
    """A pack of credits on sale; the price is HT in euro cents (VAT is added at purchase)."""

    credits = models.PositiveIntegerField(_("credits"), unique=True)
    price_ht_cents = models.PositiveIntegerField(_("price excl. VAT (cents)"))
    active = models.BooleanField(_("on sale"), default=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["credits"]
        verbose_name = _("credit pack")
        verbose_name_plural = _("credit packs")
        constraints = [
            models.CheckConstraint(
                condition=Q(credits__gte=1) & Q(price_ht_cents__gte=1), name="credit_pack_positive"
            )
        ]

    def __str__(self) -> str:
        return f"{self.credits} credits"


class PurchaseStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting payment")
    PAID = "paid", _("Paid")
    FAILED = "failed", _("Payment failed")
    EXPIRED = "expired", _("Abandoned")
    REFUNDED = "refunded", _("Refunded")


class Purchase(models.Model):
    """One order of a pack: prices are copied from the pack when ordered, so later price changes do not
    touch it. Credits are granted only when the payment provider confirms the payment."""

    org = models.ForeignKey("smsplatform.Organisation", on_delete=models.CASCADE, related_name="purchases")
    pack = models.ForeignKey(CreditPack, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    credits = models.PositiveIntegerField()
    amount_ht_cents = models.PositiveIntegerField()
    vat_rate = models.DecimalField(max_digits=5, decimal_places=2)
    vat_cents = models.PositiveIntegerField()
    amount_ttc_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, default="EUR")
    status = models.CharField(max_length=16, choices=PurchaseStatus.choices, default=PurchaseStatus.PENDING)
    provider = models.CharField(max_length=16)
    provider_session_id = models.CharField(max_length=255, null=True, blank=True)
    provider_payment_id = models.CharField(max_length=255, null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    paid_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["org", "-created_at"], name="purchase_org_created")]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_session_id"], name="purchase_unique_provider_session"
            ),
            models.UniqueConstraint(
                fields=["provider", "provider_payment_id"], name="purchase_unique_provider_payment"
            ),
        ]

    def __str__(self) -> str:
        return f"purchase:{self.pk} ({self.credits} credits, {self.status})"

    @property
    def reference(self) -> str:
        return f"purchase:{self.pk}"


class PaymentEvent(models.Model):
    """A provider event already handled: the unique id makes a replayed webhook a no-op."""

    provider = models.CharField(max_length=16)
    event_id = models.CharField(max_length=255)
    event_type = models.CharField(max_length=100)
    purchase = models.ForeignKey(
        Purchase, on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )
    outcome = models.CharField(max_length=64, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "event_id"], name="payment_event_unique")]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_id} {self.event_type}"


class InvoiceKind(models.TextChoices):
    INVOICE = "invoice", _("Invoice")
    CREDIT_NOTE = "credit_note", _("Credit note")


class InvoiceSequence(models.Model):
    """The counter of one numbering series of one issuing company, locked while a number is taken.

    French rules: invoice numbers follow one chronological, continuous series with no gap and no reuse.
    The number is allocated in the transaction that creates the invoice, so a rollback gives it back.
    """

    issuer_code = models.CharField(max_length=32)
    kind = models.CharField(max_length=16, choices=InvoiceKind.choices)
    last_number = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer_code", "kind"], name="invoice_sequence_unique")
        ]

    def __str__(self) -> str:
        return f"{self.issuer_code}/{self.kind}: {self.last_number}"


class InvoiceImmutable(Exception):
    """An issued invoice or credit note cannot be changed nor deleted: issue a credit note instead."""


class Invoice(models.Model):
    """An invoice or credit note as issued: the issuer's and buyer's details are copied, never looked up
    again, so that the document stays what was sent even when the organisation changes its name."""

    org = models.ForeignKey("smsplatform.Organisation", on_delete=models.PROTECT, related_name="invoices")
    purchase = models.ForeignKey(Purchase, on_delete=models.PROTECT, related_name="invoices")
    kind = models.CharField(max_length=16, choices=InvoiceKind.choices)
    corrects = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="credit_notes"
    )
    issuer_code = models.CharField(max_length=32)
    sequence_number = models.PositiveBigIntegerField()
    number = models.CharField(max_length=32)
    issued_at = models.DateTimeField(default=timezone.now)
    issuer = models.JSONField(help_text="Issuing company's details as printed.")
    buyer = models.JSONField(help_text="Buyer's legal details as printed.")
    description = models.CharField(max_length=255)
    quantity = models.PositiveIntegerField(help_text="Credits")
    amount_ht_cents = models.BigIntegerField()
    vat_rate = models.DecimalField(max_digits=5, decimal_places=2)
    vat_cents = models.BigIntegerField()
    amount_ttc_cents = models.BigIntegerField()
    currency = models.CharField(max_length=3, default="EUR")

    class Meta:
        ordering = ["-issued_at", "-id"]
        indexes = [models.Index(fields=["org", "-issued_at"], name="invoice_org_issued")]
        constraints = [
            models.UniqueConstraint(
                fields=["issuer_code", "kind", "sequence_number"], name="invoice_unique_sequence"
            ),
            models.UniqueConstraint(fields=["issuer_code", "number"], name="invoice_unique_number"),
            models.UniqueConstraint(fields=["purchase", "kind"], name="invoice_one_per_purchase_and_kind"),
        ]

    def __str__(self) -> str:
        return self.number

    def save(self, *args, **kwargs):
        # An invariant, not business logic: an issued document is never rewritten.
        if not self._state.adding:
            raise InvoiceImmutable(self.number)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise InvoiceImmutable(self.number)


class BillingSettings(models.Model):
    """An organisation's billing preferences: the low-balance alert and the details printed on invoices."""

    org = models.OneToOneField(
        "smsplatform.Organisation", on_delete=models.CASCADE, related_name="billing_settings"
    )
    low_balance_threshold = models.PositiveIntegerField(
        _("low-balance alert threshold"),
        default=0,
        help_text=_(
            "An email is sent to owners and admins when the balance falls below this number of credits "
            "(0: never)."
        ),
    )
    alert_sent_at = models.DateTimeField(null=True, blank=True)
    billing_email = models.EmailField(_("billing email"), blank=True)
    billing_address = models.TextField(_("billing address"), blank=True)
    vat_number = models.CharField(_("VAT number"), max_length=32, blank=True)
    siren = models.CharField(_("SIREN"), max_length=14, blank=True)

    def __str__(self) -> str:
        return f"billing settings of {self.org}"
