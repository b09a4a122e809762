"""Campaigns and the messages of the sending pipeline (docs/architecture.md, "The sending pipeline").

A campaign's audience is frozen at launch into one :class:`Message` row per recipient (unique per
campaign and contact, so a relaunch inserts nothing twice). Each row then carries its own story: the
gate's decision (deferred until when, or blocked and why), the claim by a batch task, the gateway's answer
and the delivery receipt. Every table has its own ``org`` foreign key and indexes that start with it.
Writes go through :mod:`campaigns.services` and :mod:`campaigns.pipeline`; nothing here has business
logic in ``save()``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Category(models.TextChoices):
    MARKETING = "marketing", _("Marketing")
    TRANSACTIONAL = "transactional", _("Transactional")


class MessageCategory(models.TextChoices):
    MARKETING = "marketing", _("Marketing")
    TRANSACTIONAL = "transactional", _("Transactional")
    # The single confirmation after a STOP: the only message a suppressed number may still receive
    # (docs/compliance.md, "Opt-out (STOP)"; compliance.gate.OPT_OUT_CONFIRMATION).
    OPT_OUT_CONFIRMATION = "opt_out_confirmation", _("Opt-out confirmation")


class CampaignStatus(models.TextChoices):
    # Contexts: these words are also headings and actions elsewhere, and French agrees a status with
    # its noun (une campagne annulée, un message annulé).
    DRAFT = "draft", pgettext_lazy("campaign status", "Draft")
    SCHEDULED = "scheduled", pgettext_lazy("campaign status", "Scheduled")
    SENDING = "sending", pgettext_lazy("campaign status", "Sending")
    PAUSED = "paused", _("Paused")
    COMPLETED = "completed", pgettext_lazy("campaign status", "Completed")
    CANCELLED = "cancelled", pgettext_lazy("campaign status", "Cancelled")
    FAILED = "failed", _("Failed")


class MessageStatus(models.TextChoices):
    PENDING = "pending", _("Queued")
    DEFERRED = "deferred", _("Deferred (quiet hours)")
    SENDING = "sending", pgettext_lazy("message status", "Sending")
    SENT = "sent", pgettext_lazy("message status", "Sent")
    DELIVERED = "delivered", pgettext_lazy("message status", "Delivered")
    UNDELIVERED = "undelivered", _("Undelivered")
    FAILED = "failed", _("Failed")
    BLOCKED = "blocked", _("Blocked")
    CANCELLED = "cancelled", pgettext_lazy("message status", "Cancelled")


# A message in one of these states will not change any more (except a late receipt on sent ones).
FINAL_STATUSES = frozenset(
    {
        MessageStatus.SENT,
        MessageStatus.DELIVERED,
        MessageStatus.UNDELIVERED,
        MessageStatus.FAILED,
        MessageStatus.BLOCKED,
        MessageStatus.CANCELLED,
    }
)
OPEN_STATUSES = (MessageStatus.PENDING, MessageStatus.DEFERRED, MessageStatus.SENDING)
# The provider took these: their credits are spent (an undelivered SMS is billed by operators too).
SPENT_STATUSES = (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.UNDELIVERED)


class Template(models.Model):
    """A saved message body, reused by the composer."""

    org = models.ForeignKey(
        "smsplatform.Organisation", on_delete=models.CASCADE, related_name="sms_templates"
    )
    name = models.CharField(_("name"), max_length=100)
    body = models.TextField(_("message"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("template")
        verbose_name_plural = _("templates")
        constraints = [models.UniqueConstraint(fields=["org", "name"], name="sms_template_unique_org_name")]
        indexes = [models.Index(fields=["org", "name"], name="sms_template_org_name")]

    def __str__(self) -> str:
        return self.name


class Campaign(models.Model):
    """One sending to an audience (lists and segments), with its state machine (services.TRANSITIONS)."""

    org = models.ForeignKey("smsplatform.Organisation", on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(_("name"), max_length=200)
    body = models.TextField(_("message"))
    sender_id = models.CharField(_("sender ID"), max_length=16, blank=True)
    category = models.CharField(
        _("category"), max_length=16, choices=Category.choices, default=Category.MARKETING
    )
    # A bulk campaign is marketing unless an operator approved it as transactional (this body, this
    # audience): "transactional" skips consent, windows and caps, so the label alone is not trusted.
    transactional_approved_at = models.DateTimeField(_("approved as transactional at"), null=True, blank=True)
    transactional_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved as transactional by"),
    )
    # Ids rather than many-to-many tables: the audience is frozen into messages at launch anyway, and a
    # deleted list must not rewrite what a finished campaign targeted.
    list_ids = models.JSONField(_("lists"), default=list, blank=True)
    segment_ids = models.JSONField(_("segments"), default=list, blank=True)
    smart_encoding = models.BooleanField(_("smart encoding"), default=False)
    # The author's choice to send customers' names without the accents GSM-7 lacks (Noël -> Noel): one
    # name must not switch a whole message to Unicode and double its cost (campaigns.rendering.render).
    transliterate_merge_values = models.BooleanField(_("merge values without accents"), default=False)
    scheduled_at = models.DateTimeField(_("scheduled at"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT
    )
    failure_reason = models.CharField(_("failure reason"), max_length=64, blank=True)
    gateway = models.CharField(_("gateway"), max_length=32, blank=True)
    recipients = models.PositiveIntegerField(_("recipients"), default=0)
    credits_reserved = models.PositiveIntegerField(_("credits reserved"), default=0)
    credits_spent = models.PositiveIntegerField(_("credits spent"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    launched_at = models.DateTimeField(_("launched at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    settled_at = models.DateTimeField(_("credits settled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["org", "-created_at"], name="campaign_org_created"),
            models.Index(fields=["org", "status", "scheduled_at"], name="campaign_org_status_sched"),
            # The beat task looks for due scheduled campaigns across organisations.
            models.Index(fields=["status", "scheduled_at"], name="campaign_status_sched"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def reference(self) -> str:
        """The billing reservation of this campaign."""
        return f"campaign:{self.pk}"


class Message(models.Model):
    """One SMS to one recipient: a campaign's (unique per contact) or a standalone transactional one."""

    # No single-column index: every index below that serves an organisation's reads leads with it.
    org = models.ForeignKey(
        "smsplatform.Organisation", on_delete=models.CASCADE, related_name="sms_messages", db_index=False
    )
    # No single-column index: message_campaign_id (below) and the other composite indexes lead with it.
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, null=True, blank=True, related_name="messages", db_index=False
    )
    # Indexed by message_contact_claimed (below), which leads with it.
    contact = models.ForeignKey(
        "contacts.Contact",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="sms_messages",
        db_index=False,
    )
    category = models.CharField(
        _("category"), max_length=24, choices=MessageCategory.choices, default=MessageCategory.MARKETING
    )
    to = models.CharField(_("to"), max_length=16)
    # Keyed hash of ``to`` (compliance.models.phone_hash): the claim re-checks the suppression list in the
    # same UPDATE, so an opt-out recorded while the batch was being evaluated still stops the message.
    to_hash = models.CharField(max_length=64, blank=True)
    sender = models.CharField(_("sender"), max_length=16, blank=True)
    body = models.TextField(_("message"))
    encoding = models.CharField(_("encoding"), max_length=8, default="GSM-7")
    segments = models.PositiveSmallIntegerField(_("segments"), default=1)
    credits = models.PositiveIntegerField(_("credits"), default=0)
    # Standalone messages hold their own reservation (``message:<id>``); campaign messages share the
    # campaign's. Empty when the message is free (opt-out confirmations, help replies).
    credit_reference = models.CharField(max_length=64, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=MessageStatus.choices, default=MessageStatus.PENDING
    )
    deferred_until = models.DateTimeField(_("deferred until"), null=True, blank=True)
    block_reason = models.CharField(_("block reason"), max_length=32, blank=True)
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    gateway = models.CharField(_("gateway"), max_length=32, blank=True)
    provider_id = models.CharField(_("provider id"), max_length=64, null=True, blank=True)
    error_code = models.CharField(_("error code"), max_length=64, blank=True)
    error_message = models.CharField(_("error message"), max_length=255, blank=True)
    # Why a standalone transactional message exists ("opt_out_confirmation", "optin_code"...) and a key
    # that makes its creation idempotent (a replayed webhook finds the confirmation already there).
    reason = models.CharField(max_length=64, blank=True)
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    queued_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "contact"], name="message_unique_campaign_contact"),
            models.UniqueConstraint(
                fields=["org", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="message_unique_org_idempotency_key",
            ),
        ]
        indexes = [
            # Every message row is written at least three times (launch, claim, gateway answer), and a
            # status change is never a HOT update: each write adds an entry to every index whose condition
            # the row meets. Indexes that serve one status are therefore partial, so that a row only
            # pays for those of the status it is in.
            # The deferred-release task and the reconciliation of pending rows whose task was lost.
            models.Index(
                fields=["deferred_until"], condition=Q(status="deferred"), name="message_deferred_due"
            ),
            models.Index(fields=["queued_at"], condition=Q(status="pending"), name="message_pending_queued"),
            # The reconciliation of rows stuck in ``sending``.
            models.Index(
                fields=["claimed_at"], condition=Q(status="sending"), name="message_sending_claimed"
            ),
            # The dispatcher, the settlement, status counts of a campaign.
            models.Index(fields=["campaign", "status"], name="message_campaign_status"),
            # A campaign's first and last message ids, read index-only: they bound the report's
            # per-recipient pages (keyset on the id) so that no page walks other campaigns' rows.
            models.Index(fields=["campaign", "-id"], name="message_campaign_id"),
            # Receipts are matched by the provider's id, which only a message handed to a gateway has.
            models.Index(
                fields=["gateway", "provider_id"],
                condition=Q(provider_id__isnull=False),
                name="message_gateway_provider_set",
            ),
            # Frequency caps (marketing messages per contact claimed in the last 24 h / 7 days), a contact's
            # messages, and the SET NULL when a contact is deleted.
            models.Index(fields=["contact", "claimed_at"], name="message_contact_claimed"),
            # Lists (API, campaign page).
            models.Index(fields=["org", "-id"], name="message_org_id"),
            # Routing an inbound reply to the organisation that texted the number: necessarily across
            # organisations (the reply does not say whose it is), hence not led by org. It also serves an
            # organisation's messages to one number (virtual phone, inbox): a number's messages are few
            # across all organisations, so filtering them by org costs less than a second index that
            # every write of every message would pay.
            models.Index(fields=["to", "-id"], name="message_to_routing"),
        ]

    def __str__(self) -> str:
        return f"{self.to} ({self.status})"


class InboundKind(models.TextChoices):
    OPT_OUT = "opt_out", _("Opt-out (STOP)")
    OPT_IN = "opt_in", _("Opt-in (START)")
    HELP = "help", _("Help")
    NEAR_MISS_OPT_OUT = "near_miss_opt_out", _("Possible opt-out")
    NONE = "none", _("Reply")


class InboundMessage(models.Model):
    """A reply from a handset, kept as the proof of an opt-out and for the inbox.

    ``org`` is null only for a reply that matches no message we ever sent (nobody can act on it, but it
    is kept). ``(gateway, provider_id)`` is unique so that a replayed webhook is a no-op.
    """

    org = models.ForeignKey(
        "smsplatform.Organisation",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="inbound_sms",
    )
    gateway = models.CharField(max_length=32)
    provider_id = models.CharField(max_length=64)
    from_number = models.CharField(_("from"), max_length=16)
    to = models.CharField(_("to"), max_length=16, blank=True)
    text = models.TextField(_("text"), blank=True)
    kind = models.CharField(_("kind"), max_length=24, choices=InboundKind.choices, default=InboundKind.NONE)
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.SET_NULL, null=True, blank=True, related_name="inbound_sms"
    )
    in_reply_to = models.ForeignKey(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="replies"
    )
    needs_review = models.BooleanField(_("needs review"), default=False)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)

    class Meta:
        verbose_name = _("inbound message")
        verbose_name_plural = _("inbound messages")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["gateway", "provider_id"], name="inbound_unique_gateway_provider")
        ]
        indexes = [
            models.Index(fields=["org", "-received_at"], name="inbound_org_received"),
            models.Index(fields=["org", "from_number", "-received_at"], name="inbound_org_from"),
            models.Index(fields=["org", "needs_review"], name="inbound_org_review"),
        ]

    def __str__(self) -> str:
        return f"{self.from_number}: {self.text[:30]}"
