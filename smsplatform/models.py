"""Organisations (the tenants), users, memberships, invitations, API keys and the audit log."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in with an email address; belongs to organisations through memberships."""

    email = models.EmailField(_("email address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    language = models.CharField(_("language"), max_length=8, blank=True, choices=settings.LANGUAGES)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    # The user's own mobile, proven by an SMS code: the only number the composer's test send goes to
    # (otherwise "send me a test" would text anyone, without consent, at the shop's expense).
    test_phone = models.CharField(_("mobile for tests"), max_length=16, blank=True)
    test_phone_verified_at = models.DateTimeField(null=True, blank=True)
    # The number being verified and a keyed hash of its code (never the code itself).
    test_phone_pending = models.CharField(max_length=16, blank=True)
    test_phone_code_hash = models.CharField(max_length=64, blank=True)
    test_phone_code_expires_at = models.DateTimeField(null=True, blank=True)
    test_phone_code_attempts = models.PositiveSmallIntegerField(default=0)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.email

    @property
    def verified_test_phone(self) -> str:
        """The user's mobile once proven, else an empty string."""
        return self.test_phone if self.test_phone and self.test_phone_verified_at else ""


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not a known time zone."), params={"value": value})


class Organisation(models.Model):
    """A tenant: one shop or brand. Everything tenant-owned carries a foreign key to it."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    legal_name = models.CharField(_("legal name"), max_length=200, blank=True)
    brand = models.CharField(_("brand"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=2, default="FR")
    timezone = models.CharField(
        _("time zone"), max_length=64, default="Europe/Paris", validators=[validate_timezone]
    )
    default_sender_id = models.CharField(_("default sender ID"), max_length=11, blank=True)
    stop_mention = models.CharField(_("STOP mention"), max_length=60, default="STOP au 36111")
    rule_pack = models.CharField(_("rule pack"), max_length=32, default="FR_STRICT")
    # Set by the operator only (Django admin), once the organisation may reach real handsets; until then
    # it sends to the platform's default gateway, the sandbox in a standard deployment.
    sms_gateway = models.CharField(
        _("SMS gateway"),
        max_length=32,
        blank=True,
        help_text=_(
            "Empty: the platform's default gateway (the sandbox unless configured otherwise). Set a real "
            "gateway once the organisation's operator contract allows it."
        ),
    )
    # Set by an owner: every member must use two-factor authentication before working in the organisation.
    require_mfa = models.BooleanField(
        _("two-factor authentication required for every member"),
        default=False,
        help_text=_(
            "Members without an authenticator app are asked to set one up before they can go on. "
            "API keys are not affected."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self) -> str:
        return self.name

    @property
    def display_brand(self) -> str:
        return self.brand or self.name

    @property
    def gateway_name(self) -> str:
        """The gateway this organisation's messages go through."""
        return self.sms_gateway or settings.SMS_GATEWAY

    @property
    def on_sandbox(self) -> bool:
        """Whether its messages stay on the platform (virtual phone, console) and never reach a handset."""
        return self.gateway_name in settings.SANDBOX_GATEWAYS


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Admin")
    MARKETER = "marketer", _("Marketer")
    ANALYST = "analyst", _("Analyst")


# What each role may do. An analyst reads only; only owners and admins manage users, keys and billing.
ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    Role.OWNER: frozenset({"read", "write", "manage"}),
    Role.ADMIN: frozenset({"read", "write", "manage"}),
    Role.MARKETER: frozenset({"read", "write"}),
    Role.ANALYST: frozenset({"read"}),
}


def role_can(role: str, capability: str) -> bool:
    return capability in ROLE_CAPABILITIES.get(role, frozenset())


class Membership(models.Model):
    org = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "user"], name="membership_unique_org_user")]
        indexes = [models.Index(fields=["user", "org"], name="membership_user_org")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.org} ({self.role})"

    def can(self, capability: str) -> bool:
        return role_can(self.role, capability)


class Invitation(models.Model):
    org = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("email address"))
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["org", "email"], name="invitation_org_email")]

    def __str__(self) -> str:
        return f"{self.email} -> {self.org} ({self.role})"

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > timezone.now()


class ApiKey(models.Model):
    """A Bearer key for the API. Only a SHA-256 of the key is stored; the key is shown once."""

    org = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.ADMIN)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["org", "created_at"], name="apikey_org_created")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class AuditEntry(models.Model):
    """Who did what, in which organisation, on which object. Written by services only."""

    org = models.ForeignKey(Organisation, on_delete=models.CASCADE, null=True, related_name="audit_entries")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["org", "-created_at"], name="audit_org_created")]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"
