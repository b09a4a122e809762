"""Tracked short links, their clicks, and the message counters behind every report.

Links: a campaign body's URLs become :class:`TrackedLink` rows (one per distinct URL of the campaign); each
message gets its own :class:`LinkCode` per link, so a click names the message (and through it the
campaign and the contact) without any join. A click is one inserted :class:`Click` row: nothing is
incremented, so a burst of clicks never queues on a hot row.

Counters: :class:`MessageCount` rows are written by database triggers on ``campaigns_message`` (see
:mod:`analytics.counters`): every INSERT, UPDATE or DELETE statement adds small signed delta rows per
(campaign, status, reason, hour); a beat task squashes them into one row per key. A report sums the rows of
its campaign (squashed and not yet squashed alike), so it always equals a direct count over the messages
and costs a few hundred rows whatever the campaign's size.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class TrackedLink(models.Model):
    """One URL of one campaign's body, with the UTM parameters added at redirect time."""

    org = models.ForeignKey("smsplatform.Organisation", on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, null=True, blank=True, related_name="tracked_links"
    )
    url = models.TextField(_("original URL"))
    utm = models.JSONField(_("UTM parameters"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)

    class Meta:
        verbose_name = _("tracked link")
        verbose_name_plural = _("tracked links")
        indexes = [models.Index(fields=["org", "campaign"], name="trackedlink_org_campaign")]

    def __str__(self) -> str:
        return self.url


class BlockedLinkHost(models.Model):
    """A host that short links must never lead to (known phishing), kept by the platform operator.

    A host blocks its subdomains too: ``evil.example`` blocks ``login.evil.example``. Checked when a
    campaign's links are made (the launch is refused) and at each redirect (a host blocked after the
    launch stops leading anywhere).
    """

    host = models.CharField(_("host"), max_length=253, unique=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("added at"), default=timezone.now)

    class Meta:
        verbose_name = _("blocked link host")
        verbose_name_plural = _("blocked link hosts")
        ordering = ["host"]

    def __str__(self) -> str:
        return self.host


class LinkCode(models.Model):
    """The short code of one link in one message: ``/r/<code>``."""

    org = models.ForeignKey("smsplatform.Organisation", on_delete=models.CASCADE, related_name="+")
    link = models.ForeignKey(TrackedLink, on_delete=models.CASCADE, related_name="codes")
    message = models.ForeignKey("campaigns.Message", on_delete=models.CASCADE, related_name="link_codes")
    # Copied from the message so that a click is recorded with a single read.
    campaign_id = models.BigIntegerField(null=True, blank=True)
    contact_id = models.BigIntegerField(null=True, blank=True)
    code = models.CharField(max_length=16, unique=True)
    # Set by the first counted click (a conditional UPDATE: exactly one request wins), which makes the
    # unique-click count a sum of deltas instead of a COUNT(DISTINCT) over every click.
    first_clicked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("link code")
        verbose_name_plural = _("link codes")
        constraints = [
            models.UniqueConstraint(fields=["message", "link"], name="linkcode_unique_message_link")
        ]

    def __str__(self) -> str:
        return self.code


class CampaignLinkOptions(models.Model):
    """Per-campaign options of tracked links: the UTM parameters added when a link is opened."""

    org = models.ForeignKey("smsplatform.Organisation", on_delete=models.CASCADE, related_name="+")
    campaign = models.OneToOneField(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="link_options"
    )
    utm = models.JSONField(_("UTM parameters"), default=dict, blank=True)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("link options")
        verbose_name_plural = _("link options")
        indexes = [models.Index(fields=["org", "campaign"], name="linkoptions_org_campaign")]

    def __str__(self) -> str:
        return f"{self.campaign_id}: {self.utm}"


class UserAgentClass(models.TextChoices):
    MOBILE = "mobile", _("Mobile")
    DESKTOP = "desktop", _("Computer")
    OTHER = "other", _("Other")


class Click(models.Model):
    """One human click on a short link (bots and HEAD requests are never recorded)."""

    org = models.ForeignKey("smsplatform.Organisation", on_delete=models.CASCADE, related_name="+")
    link = models.ForeignKey(TrackedLink, on_delete=models.CASCADE, related_name="clicks")
    code = models.ForeignKey(LinkCode, on_delete=models.CASCADE, related_name="clicks")
    message_id = models.BigIntegerField()
    campaign_id = models.BigIntegerField(null=True, blank=True)
    contact_id = models.BigIntegerField(null=True, blank=True)
    at = models.DateTimeField(_("clicked at"), default=timezone.now)
    user_agent_class = models.CharField(
        _("device"), max_length=8, choices=UserAgentClass.choices, default=UserAgentClass.OTHER
    )
    # Keyed hash (HMAC with SECRET_KEY): tells repeated clicks apart without keeping the address.
    ip_hash = models.CharField(max_length=32, blank=True)

    class Meta:
        verbose_name = _("click")
        verbose_name_plural = _("clicks")
        # Figures come from ClickCount; the rows serve the per-recipient table and its "clicked" filter.
        indexes = [
            models.Index(fields=["message_id"], name="click_message"),
            models.Index(fields=["org", "at"], name="click_org_at"),
        ]

    def __str__(self) -> str:
        return f"{self.code_id} @ {self.at:%Y-%m-%d %H:%M}"


class MessageCount(models.Model):
    """Signed message counts per (campaign, status, reason, hour), written by triggers only.

    ``bucket`` is the UTC hour the message left (``sent_at``) or, once delivered, was delivered; it is
    empty for statuses without a time (queued, deferred, blocked...). ``reason`` is the gate's reason code of
    a blocked or deferred message. Unsquashed rows are deltas of one statement; :func:`analytics.services.
    message_counts_squash` folds them into one squashed row per key.

    ``org`` and ``campaign`` are foreign keys without a database constraint: rows are inserted by triggers
    while a campaign or an organisation is being deleted, and the squash drops such orphans.
    """

    org = models.ForeignKey(
        "smsplatform.Organisation", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    status = models.CharField(max_length=16)
    reason = models.CharField(max_length=64, blank=True, default="")
    bucket = models.DateTimeField(null=True, blank=True)
    count = models.BigIntegerField(default=0)
    credits = models.BigIntegerField(default=0)
    is_squashed = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("message count")
        verbose_name_plural = _("message counts")
        indexes = [
            models.Index(fields=["org", "campaign", "status"], name="msgcount_org_campaign_status"),
            models.Index(fields=["org", "bucket"], name="msgcount_org_bucket"),
            models.Index(fields=["id"], condition=Q(is_squashed=False), name="msgcount_unsquashed"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.status} {self.reason} {self.bucket}: {self.count}"


class ClickCount(models.Model):
    """Clicks and first clicks per (campaign, UTC hour): one delta row per click, squashed by beat."""

    org = models.ForeignKey(
        "smsplatform.Organisation", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    bucket = models.DateTimeField()
    clicks = models.BigIntegerField(default=0)
    unique_clicks = models.BigIntegerField(default=0)
    is_squashed = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("click count")
        verbose_name_plural = _("click counts")
        indexes = [
            models.Index(fields=["org", "campaign", "bucket"], name="clickcount_org_campaign"),
            models.Index(fields=["org", "bucket"], name="clickcount_org_bucket"),
            models.Index(fields=["id"], condition=Q(is_squashed=False), name="clickcount_unsquashed"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.bucket}: {self.clicks} ({self.unique_clicks} unique)"


class OptOut(models.Model):
    """An opt-out reply (STOP or a near miss) and the campaign it is attributed to: the one whose message
    the number received last within 7 days before it (null when none).

    Written by a database trigger on ``campaigns_inboundmessage`` (:mod:`analytics.counters`) when the
    reply is recorded, so reports count rows instead of looking up every reply's last message.
    """

    org = models.ForeignKey(
        "smsplatform.Organisation", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    inbound_id = models.BigIntegerField(unique=True)
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    message_id = models.BigIntegerField(null=True, blank=True)
    phone = models.CharField(max_length=16)
    at = models.DateTimeField()

    class Meta:
        verbose_name = _("attributed opt-out")
        verbose_name_plural = _("attributed opt-outs")
        indexes = [
            models.Index(fields=["org", "campaign", "phone"], name="optout_org_campaign_phone"),
            models.Index(fields=["org", "at"], name="optout_org_at"),
        ]

    def __str__(self) -> str:
        return f"{self.phone} -> {self.campaign_id}"
