"""Contacts of an organisation: people, tags, static lists, saved segments, consent proofs, import jobs
and the public opt-in form.

Every table carries its own ``org`` foreign key (child tables too) and its indexes start with it, so that
one organisation with a million contacts stays fast and no query can reach another's rows by a join.
Writes go through :mod:`contacts.services`; nothing here has business logic in ``save()``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone as dj_timezone
from django.utils.translation import gettext_lazy as _


class ConsentBasis(models.TextChoices):
    OPT_IN = "opt_in", _("Opt-in (prior, explicit consent)")
    SOFT_OPT_IN = "soft_opt_in", _("Soft opt-in (existing customer)")
    NONE = "none", _("No consent")
    UNKNOWN = "unknown", _("Unknown")


# Bases that allow marketing SMS (docs/compliance.md, "Consent").
MARKETING_BASES = frozenset({ConsentBasis.OPT_IN, ConsentBasis.SOFT_OPT_IN})
# An import or an edit never replaces a stronger basis with a weaker one (an opt-out is a suppression).
BASIS_STRENGTH = {
    ConsentBasis.UNKNOWN: 0,
    ConsentBasis.NONE: 1,
    ConsentBasis.SOFT_OPT_IN: 2,
    ConsentBasis.OPT_IN: 3,
}


class ConsentSource(models.TextChoices):
    IMPORT = "import", _("Import")
    WEB_FORM = "web_form", _("Web form")
    KEYWORD = "keyword", _("Keyword")
    API = "api", _("API")
    MANUAL = "manual", _("Manual")


class Gender(models.TextChoices):
    # The codes of the import engine (``Mme`` -> F, ``M.`` -> M).
    FEMALE = "F", _("Female")
    MALE = "M", _("Male")
    OTHER = "X", _("Other")


# The personal fields of a contact that a person (page) or a client (API) may set; the contact form, the
# services and the API serializer follow this list.
CONTACT_FIELDS = ("first_name", "last_name", "email", "gender", "birth_date", "postal_code", "city")


class Contact(models.Model):
    """A person an organisation may text. ``phone`` is E.164 and unique per organisation.

    ``region``, ``timezone`` and ``calendar`` are computed once from the number (and the postal code) by
    :func:`compliance.context.recipient_context` so that the gate never parses numbers. ``opted_out``
    mirrors the compliance suppression list for fast filtering; the suppression list stays the truth.
    The consent fields are the current state; the history is :class:`ConsentProof`.
    """

    org = models.ForeignKey("smsplatform.Organisation", on_delete=models.CASCADE, related_name="contacts")
    phone = models.CharField(_("phone"), max_length=16)
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    email = models.EmailField(_("email address"), max_length=254, blank=True)
    gender = models.CharField(_("gender"), max_length=8, choices=Gender.choices, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=12, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    consent_basis = models.CharField(
        _("consent basis"), max_length=16, choices=ConsentBasis.choices, default=ConsentBasis.UNKNOWN
    )
    consent_source = models.CharField(
        _("consent source"), max_length=16, choices=ConsentSource.choices, blank=True
    )
    consent_collected_at = models.DateTimeField(_("consent collected at"), null=True, blank=True)
    opted_out = models.BooleanField(_("opted out"), default=False)
    region = models.CharField(_("region"), max_length=4, blank=True)
    timezone = models.CharField(_("time zone"), max_length=100, blank=True)
    calendar = models.CharField(_("holiday calendar"), max_length=32, blank=True)
    # The import job that last wrote this contact: a later row of the same file with the same number is a
    # duplicate, even after the job was interrupted and resumed (no in-memory state needed).
    last_import_id = models.BigIntegerField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=dj_timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=dj_timezone.now)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        constraints = [models.UniqueConstraint(fields=["org", "phone"], name="contact_unique_org_phone")]
        indexes = [
            models.Index(fields=["org", "-id"], name="contact_org_id"),
            # Number search by prefix ("+3361..."): LIKE 'x%' needs the pattern operator class on PostgreSQL.
            models.Index(
                fields=["org", "phone"],
                name="contact_org_phone_like",
                opclasses=["int8_ops", "varchar_pattern_ops"],
            ),
            models.Index(fields=["org", "last_name"], name="contact_org_last_name"),
            models.Index(fields=["org", "opted_out"], name="contact_org_opted_out"),
            models.Index(fields=["org", "postal_code"], name="contact_org_postal"),
            models.Index(fields=["org", "created_at"], name="contact_org_created"),
        ]

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return f"{name} ({self.phone})" if name else self.phone

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def can_receive_marketing(self) -> bool:
        return not self.opted_out and self.consent_basis in MARKETING_BASES


class Tag(models.Model):
    """A label on contacts. A table (not a JSON array) so that filtering by tag is an indexed join on
    PostgreSQL and SQLite alike."""

    org = models.ForeignKey("smsplatform.Organisation", on_delete=models.CASCADE, related_name="contact_tags")
    name = models.CharField(_("name"), max_length=50)
    created_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        constraints = [models.UniqueConstraint(fields=["org", "name"], name="tag_unique_org_name")]

    def __str__(self) -> str:
        return self.name


class ContactTag(models.Model):
    org = models.ForeignKey("smsplatform.Organisation", on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="contact_tags")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="contact_tags")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["contact", "tag"], name="contacttag_unique")]
        indexes = [models.Index(fields=["org", "tag", "contact"], name="contacttag_org_tag")]

    def __str__(self) -> str:
        return f"{self.contact_id}:{self.tag_id}"


class ContactList(models.Model):
    """A static list: contacts are added and removed explicitly (by hand, import or API)."""

    org = models.ForeignKey(
        "smsplatform.Organisation", on_delete=models.CASCADE, related_name="contact_lists"
    )
    name = models.CharField(_("name"), max_length=100)
    description = models.CharField(_("description"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), default=dj_timezone.now)

    class Meta:
        verbose_name = _("list")
        verbose_name_plural = _("lists")
        constraints = [models.UniqueConstraint(fields=["org", "name"], name="contactlist_unique_org_name")]
        indexes = [models.Index(fields=["org", "name"], name="contactlist_org_name")]

    def __str__(self) -> str:
        return self.name


class ListMembership(models.Model):
    org = models.ForeignKey("smsplatform.Organisation", on_delete=models.CASCADE, related_name="+")
    contact_list = models.ForeignKey(ContactList, on_delete=models.CASCADE, related_name="memberships")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="list_memberships")
    added_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact_list", "contact"], name="listmembership_unique")
        ]
        indexes = [
            models.Index(fields=["org", "contact_list", "contact"], name="listmembership_org_list"),
            models.Index(fields=["org", "contact"], name="listmembership_org_contact"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_list_id}:{self.contact_id}"


class Segment(models.Model):
    """A saved filter, evaluated when used (see ``selectors.segment_contacts``).

    ``filters`` keys (all optional, combined with AND): ``tags`` (any of), ``lists`` (ids, any of),
    ``postal_code_prefix``, ``city``, ``gender``, ``age_min``, ``age_max``, ``attributes`` (a list of
    ``{"key", "op": "equals"|"contains", "value"}``), ``created_since`` (ISO date). Validated by
    ``services.segment_filters_clean``.
    """

    org = models.ForeignKey("smsplatform.Organisation", on_delete=models.CASCADE, related_name="segments")
    name = models.CharField(_("name"), max_length=100)
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), default=dj_timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=dj_timezone.now)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        constraints = [models.UniqueConstraint(fields=["org", "name"], name="segment_unique_org_name")]

    def __str__(self) -> str:
        return self.name


class ConsentProof(models.Model):
    """One piece of evidence of consent (docs/compliance.md, "Consent"): a history, never updated."""

    org = models.ForeignKey("smsplatform.Organisation", on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="consent_proofs")
    basis = models.CharField(_("basis"), max_length=16, choices=ConsentBasis.choices)
    source = models.CharField(_("source"), max_length=16, choices=ConsentSource.choices)
    collected_at = models.DateTimeField(_("collected at"), default=dj_timezone.now)
    wording_version = models.CharField(_("wording version"), max_length=32, blank=True)
    wording = models.TextField(_("wording shown"), blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    import_job = models.ForeignKey(
        "ImportJob", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_constraint=False
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recorded_by_label = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("consent proof")
        verbose_name_plural = _("consent proofs")
        indexes = [models.Index(fields=["org", "contact", "-collected_at"], name="consentproof_org_contact")]

    def __str__(self) -> str:
        return f"{self.basis} ({self.source}) {self.collected_at:%Y-%m-%d}"


class ImportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ImportJob(models.Model):
    """One file being imported in the background, its attestation, progress and report.

    ``processed_rows`` and ``rejected_bytes`` form the checkpoint: they are written in the same
    transaction as the contacts of each chunk, so a job killed half-way resumes exactly after the last
    committed chunk (and truncates the rejected-rows file to the committed size).
    """

    org = models.ForeignKey("smsplatform.Organisation", on_delete=models.CASCADE, related_name="import_jobs")
    status = models.CharField(
        _("status"), max_length=8, choices=ImportStatus.choices, default=ImportStatus.QUEUED
    )
    file_path = models.CharField(max_length=300)
    original_filename = models.CharField(_("file"), max_length=255)
    file_size = models.BigIntegerField(default=0)
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    keep_unknown_columns = models.BooleanField(_("keep other columns as attributes"), default=False)
    consent_basis = models.CharField(_("consent basis"), max_length=16, choices=ConsentBasis.choices)
    consent_source = models.CharField(_("where the consents were collected"), max_length=300)
    attested_at = models.DateTimeField(null=True, blank=True)
    contact_list = models.ForeignKey(
        ContactList,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("list"),
    )
    tags = models.JSONField(default=list, blank=True)
    default_region = models.CharField(max_length=2, default="FR")
    total_rows = models.IntegerField(default=0)
    processed_rows = models.IntegerField(default=0)
    created = models.IntegerField(default=0)
    updated = models.IntegerField(default=0)
    invalid = models.IntegerField(default=0)
    duplicates = models.IntegerField(default=0)
    suppressed = models.IntegerField(default=0)
    invalid_by_reason = models.JSONField(default=dict, blank=True)
    rejected_path = models.CharField(max_length=300, blank=True)
    rejected_bytes = models.BigIntegerField(default=0)
    error_message = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by_label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=dj_timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        indexes = [models.Index(fields=["org", "-created_at"], name="importjob_org_created")]
        constraints = [
            models.CheckConstraint(
                condition=Q(processed_rows__gte=0) & Q(created__gte=0), name="importjob_counters_positive"
            )
        ]

    def __str__(self) -> str:
        return f"{self.original_filename} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (ImportStatus.DONE, ImportStatus.FAILED)

    @property
    def percent(self) -> int:
        if self.status == ImportStatus.DONE:
            return 100
        if not self.total_rows:
            return 0
        return min(99, int(self.processed_rows * 100 / self.total_rows))


class OptInForm(models.Model):
    """The organisation's public opt-in form (``/f/<slug>/``) and the current version of its wording.

    Every version of the wording is kept in :class:`ConsentWording` so that a proof can show the exact
    text the person agreed to.
    """

    org = models.OneToOneField(
        "smsplatform.Organisation", on_delete=models.CASCADE, related_name="optin_form"
    )
    # Off until the owner turns it on: every code it sends is an SMS paid by the shop.
    enabled = models.BooleanField(_("enabled"), default=False)
    title = models.CharField(_("title"), max_length=120, blank=True)
    wording = models.TextField(_("consent wording"))
    version = models.PositiveIntegerField(default=1)
    contact_list = models.ForeignKey(
        ContactList,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("list"),
    )
    updated_at = models.DateTimeField(default=dj_timezone.now)
    # ISO codes of the countries whose mobile numbers the form accepts (phonenumbers regions).
    countries = models.JSONField(_("countries"), default=list, blank=True)
    # Codes the form may send a day, whatever the numbers: set by the platform operator, not the shop.
    daily_cap = models.PositiveIntegerField(_("daily cap of codes"), default=200)
    # The day the owner and the operator were last told the cap was reached: one alert a day.
    cap_alerted_on = models.DateField(null=True, blank=True, editable=False)

    def __str__(self) -> str:
        return f"opt-in form of org {self.org_id} (v{self.version})"


class ConsentWording(models.Model):
    org = models.ForeignKey("smsplatform.Organisation", on_delete=models.CASCADE, related_name="+")
    version = models.PositiveIntegerField()
    text = models.TextField()
    created_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "version"], name="consentwording_unique")]

    def __str__(self) -> str:
        return f"v{self.version}"


class PendingOptIn(models.Model):
    """A web-form sign-up waiting for its SMS code (double opt-in). Only a hash of the code is kept."""

    org = models.ForeignKey("smsplatform.Organisation", on_delete=models.CASCADE, related_name="+")
    token = models.CharField(max_length=64, unique=True)
    phone = models.CharField(max_length=16)
    first_name = models.CharField(max_length=100, blank=True)
    code_hash = models.CharField(max_length=64)
    wording_version = models.PositiveIntegerField()
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=dj_timezone.now)
    expires_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["org", "phone"], name="pendingoptin_org_phone"),
            models.Index(fields=["org", "created_at"], name="pendingoptin_org_created"),
        ]

    def __str__(self) -> str:
        return f"pending opt-in {self.phone}"
