"""The public opt-in form: its settings, the double opt-in by SMS code and the limits that keep a stranger
from spending the shop's credits."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.services import InsufficientCredits
from campaigns.services import sms_send_transactional
from compliance.selectors import is_suppressed, suppressed_numbers
from compliance.services import suppression_lift
from smsplatform.audit import audit_record
from smsplatform.models import Membership, Organisation, Role, User

from ..models import (
    ConsentBasis,
    ConsentSource,
    ConsentWording,
    Contact,
    ContactList,
    ListMembership,
    OptInForm,
    PendingOptIn,
)
from .consent import consent_record
from .contacts import contact_create, contact_update
from .phones import phone_normalise

logger = logging.getLogger(__name__)

OPTIN_CODE_LIFETIME = timedelta(minutes=15)
OPTIN_MAX_ATTEMPTS = 5
# Regions that a shop of this country reaches under its own rules and numbering: France's overseas
# departments and collectivities have their own country codes (+262, +590...) but are France.
OPTIN_COUNTRY_REGIONS = {"FR": ("FR", "RE", "GP", "MQ", "GF", "YT", "PM", "BL", "MF")}


def default_optin_wording(org: Organisation) -> str:
    return _(
        "I agree to receive SMS offers from %(brand)s. "
        "I can unsubscribe at any time for free by replying STOP."
    ) % {"brand": org.display_brand}


def optin_default_countries(org: Organisation) -> list[str]:
    """The countries a new form accepts: the organisation's own (with its overseas regions)."""
    country = (org.country or "FR").upper()
    return list(OPTIN_COUNTRY_REGIONS.get(country, (country,)))


def optin_countries_clean(raw: str | Iterable[str] | None) -> list[str]:
    """ISO codes typed by the owner ("FR, BE" or a list), upper-cased, deduplicated, each one a region
    phone numbers are known for; raises ValidationError ``{"countries": [...]}`` naming the unknown ones."""
    import phonenumbers

    items = re.split(r"[\s,;]+", raw) if isinstance(raw, str) else list(raw or [])
    codes: list[str] = []
    unknown: list[str] = []
    for item in items:
        code = str(item or "").strip().upper()
        if not code or code in codes:
            continue
        (codes if code in phonenumbers.SUPPORTED_REGIONS else unknown).append(code)
    if unknown:
        raise ValidationError(
            {
                "countries": [
                    _("Unknown country codes: %(codes)s. Use two-letter ISO codes such as FR, BE, CH.")
                    % {"codes": ", ".join(unknown)}
                ]
            }
        )
    return codes


def optin_form_get(*, org: Organisation) -> OptInForm:
    """The organisation's opt-in form, created off, with a default wording (version 1) and the
    organisation's countries the first time."""
    form = OptInForm.objects.filter(org=org).first()
    if form is not None:
        return form
    with transaction.atomic():
        wording = default_optin_wording(org)
        form, created = OptInForm.objects.get_or_create(
            org=org,
            defaults={"wording": wording, "version": 1, "countries": optin_default_countries(org)},
        )
        if created:
            ConsentWording.objects.get_or_create(org=org, version=1, defaults={"text": wording})
    return form


@transaction.atomic
def optin_form_update(
    *,
    org: Organisation,
    actor: Any,
    title: str,
    wording: str,
    contact_list: ContactList | None,
    countries: str | Iterable[str] | None = None,
    enabled: bool | None = None,
) -> OptInForm:
    """Changes the opt-in form. A new wording gets a new version, and every version is kept: each proof
    names the exact text the person agreed to. ``countries`` left empty means the organisation's own;
    ``enabled`` None leaves the form on or off as it is (:func:`optin_form_set_enabled` switches it)."""
    wording = (wording or "").strip()
    if not wording:
        raise ValidationError({"wording": [_("The consent wording is required.")]})
    form = OptInForm.objects.select_for_update().get(pk=optin_form_get(org=org).pk)
    if countries is not None:
        form.countries = optin_countries_clean(countries) or optin_default_countries(org)
    if wording != form.wording:
        form.version += 1
        ConsentWording.objects.create(org=org, version=form.version, text=wording)
    form.wording, form.title = wording, (title or "")[:120]
    if enabled is not None:
        form.enabled = enabled
    form.contact_list = contact_list if contact_list is None or contact_list.org_id == org.pk else None
    form.updated_at = timezone.now()
    form.save(
        update_fields=["wording", "version", "enabled", "title", "contact_list", "countries", "updated_at"]
    )
    audit_record(
        org=org,
        actor=actor,
        action="optin_form.updated",
        target=form,
        data={"version": form.version, "enabled": form.enabled, "countries": form.countries},
    )
    return form


@transaction.atomic
def optin_form_set_enabled(*, org: Organisation, actor: Any, enabled: bool) -> OptInForm:
    """Puts the public form online or takes it down (the owner's one-click switch)."""
    form = OptInForm.objects.select_for_update().get(pk=optin_form_get(org=org).pk)
    if form.enabled != enabled:
        form.enabled = enabled
        form.updated_at = timezone.now()
        form.save(update_fields=["enabled", "updated_at"])
        audit_record(
            org=org,
            actor=actor,
            action="optin_form.enabled" if enabled else "optin_form.disabled",
            target=form,
        )
    return form


@transaction.atomic
def optin_form_daily_cap_set(*, org: Organisation, actor: Any, daily_cap: int) -> OptInForm:
    """The number of codes the form may send a day: the platform operator's decision, not the shop's."""
    if daily_cap is None or int(daily_cap) < 0:
        raise ValidationError({"daily_cap": [_("The daily cap must be zero or more.")]})
    form = OptInForm.objects.select_for_update().get(pk=optin_form_get(org=org).pk)
    before = form.daily_cap
    if before != int(daily_cap):
        form.daily_cap = int(daily_cap)
        form.save(update_fields=["daily_cap"])
        audit_record(
            org=org,
            actor=actor,
            action="optin_form.daily_cap_changed",
            target=form,
            data={"from": before, "to": form.daily_cap},
        )
    return form


def _code_hash(token: str, code: str) -> str:
    from django.conf import settings

    key = hashlib.sha256(b"smsplatform.contacts.optin:" + settings.SECRET_KEY.encode()).digest()
    return hmac.new(key, f"{token}:{code}".encode(), hashlib.sha256).hexdigest()


def _optin_country_check(*, form: OptInForm, org: Organisation, phone: str) -> None:
    import phonenumbers

    accepted = form.countries or optin_default_countries(org)
    region = phonenumbers.region_code_for_number(phonenumbers.parse(phone))
    if region not in accepted:
        raise ValidationError(
            {
                "phone": [
                    _("This form accepts mobile numbers from %(countries)s only.")
                    % {"countries": ", ".join(accepted)}
                ]
            }
        )


def optin_request(*, org: Organisation, phone: str, first_name: str, ip_address: str | None) -> PendingOptIn:
    """First step of the double opt-in: keeps the request and sends a 6-digit code by SMS (transactional,
    through the gateway layer). Only a keyed hash of the code is stored.

    Each code is an SMS the shop pays for, asked by a stranger: the form must be on, the number of a
    country the form accepts, and neither the number (``OPTIN_CODES_PER_NUMBER_PER_DAY``) nor the form
    (its ``daily_cap``) may have had its codes of the last 24 hours. Reaching the cap alerts the owners
    and the platform operator, once a day."""
    from django.conf import settings

    form = optin_form_get(org=org)
    if not form.enabled:
        raise ValidationError(_("This sign-up form is closed."))
    e164 = phone_normalise(org=org, raw=phone)
    _optin_country_check(form=form, org=org, phone=e164)
    if is_suppressed(org, e164):
        # A number that said STOP receives nothing from us, not even a code: a stranger could type it in.
        # Its owner lifts the opt-out by replying START to one of the shop's messages.
        raise ValidationError(
            {
                "phone": [
                    _(
                        "This number asked us to stop sending SMS. "
                        "Reply START to one of our messages to subscribe again."
                    )
                ]
            }
        )
    per_number = int(settings.OPTIN_CODES_PER_NUMBER_PER_DAY)
    pending = None
    with transaction.atomic():
        # The form's row is the lock: two requests at once cannot both take the last code of a count.
        form = OptInForm.objects.select_for_update().get(pk=form.pk)
        recent = PendingOptIn.objects.filter(org=org, created_at__gte=timezone.now() - timedelta(days=1))
        if recent.filter(phone=e164).count() >= per_number:
            raise ValidationError(
                {
                    "phone": [
                        _(
                            "This number has already received %(count)s codes today. Use the last code "
                            "you received, or try again tomorrow."
                        )
                        % {"count": per_number}
                    ]
                }
            )
        if recent.count() < form.daily_cap:
            token = secrets.token_urlsafe(24)
            code = f"{secrets.randbelow(1_000_000):06d}"
            pending = PendingOptIn.objects.create(
                org=org,
                token=token,
                phone=e164,
                first_name=" ".join(str(first_name or "").split())[:100],
                code_hash=_code_hash(token, code),
                wording_version=form.version,
                ip_address=ip_address or None,
                expires_at=timezone.now() + OPTIN_CODE_LIFETIME,
            )
            _optin_code_send(org=org, phone=e164, code=code, pending=pending)
    if pending is None:
        _optin_cap_alert(org=org, form=form)
        raise ValidationError(_("This shop has received too many sign-ups today. Please try again tomorrow."))
    return pending


def _optin_cap_alert(*, org: Organisation, form: OptInForm) -> None:
    """Tells the owners and the platform operator that the form reached its daily cap: the first time of
    the day only (a pumping attack would otherwise flood their mailboxes too)."""
    from django.conf import settings
    from django.core.mail import send_mail
    from django.urls import reverse

    today = timezone.localdate()
    with transaction.atomic():
        first_today = (
            OptInForm.objects.filter(pk=form.pk).exclude(cap_alerted_on=today).update(cap_alerted_on=today)
        )
        if not first_today:
            return
        audit_record(
            org=org,
            actor=None,
            action="optin_form.daily_cap_reached",
            target=form,
            data={"daily_cap": form.daily_cap},
        )
    owners = Membership.objects.filter(org=org, role=Role.OWNER).values_list("user__email", flat=True)
    operators = [a if isinstance(a, str) else a[1] for a in settings.ADMINS] or list(
        User.objects.filter(is_superuser=True, is_active=True).values_list("email", flat=True)
    )
    recipients = sorted({e for e in [*owners, *operators] if e})
    if not recipients:
        return
    url = settings.SITE_URL.rstrip("/") + reverse("contacts:optin_settings")
    try:
        send_mail(
            subject=_("%(org)s: the opt-in form reached its daily limit") % {"org": org.name},
            message=_(
                "The public opt-in form of %(org)s has sent %(cap)s confirmation codes in the last 24 "
                "hours, its daily limit: new sign-ups are refused until the count goes down.\n\n"
                "If you did not expect so many sign-ups, someone may be sending SMS at your expense: "
                "turn the form off on %(url)s. The platform operator can change the limit.\n"
            )
            % {"org": org.name, "cap": form.daily_cap, "url": url},
            from_email=None,
            recipient_list=recipients,
        )
    except Exception:  # the refusal stands; a mail failure must not turn it into an error page
        logger.exception("Opt-in cap alert for organisation %s could not be sent", org.pk)


def _optin_code_send(*, org: Organisation, phone: str, code: str, pending: PendingOptIn) -> None:
    """Sends the double opt-in code as a transactional SMS through the gateway layer. It is charged like
    any SMS of the shop (hence the limits of :func:`optin_request`); a shop without credits gets a clear
    refusal instead of a silent drop."""
    body = _("Your %(brand)s confirmation code: %(code)s") % {"brand": org.display_brand, "code": code}
    try:
        sms_send_transactional(
            org=org, to=phone, body=body, reason="optin_code", idempotency_key=f"optin:{pending.token}"
        )
    except InsufficientCredits:
        raise ValidationError(
            {"phone": [_("This shop cannot send confirmation codes right now. Please try again later.")]}
        )


def optin_confirm(*, org: Organisation, token: str, code: str, ip_address: str | None) -> Contact:
    """Second step: a correct code proves the person holds the number, so the contact is created or
    updated with an ``opt_in`` proof (IP, time, wording version and text). A previous opt-out is lifted:
    this is the new, proven opt-in that docs/compliance.md, "Opt-out (STOP)", requires."""
    with transaction.atomic():
        pending = PendingOptIn.objects.select_for_update().filter(org=org, token=token).first()
        if pending is None or pending.confirmed_at or pending.expires_at < timezone.now():
            raise ValidationError(
                {"code": [_("This confirmation has expired. Please fill in the form again.")]}
            )
        if pending.attempts >= OPTIN_MAX_ATTEMPTS:
            raise ValidationError({"code": [_("Too many attempts. Please fill in the form again.")]})
        if not hmac.compare_digest(pending.code_hash, _code_hash(token, str(code or "").strip())):
            PendingOptIn.objects.filter(pk=pending.pk).update(attempts=pending.attempts + 1)
            wrong = True
        else:
            wrong = False
            PendingOptIn.objects.filter(pk=pending.pk).update(confirmed_at=timezone.now())
    if wrong:
        raise ValidationError({"code": [_("This code is not correct.")]})
    form = optin_form_get(org=org)
    wording = (
        ConsentWording.objects.filter(org=org, version=pending.wording_version)
        .values_list("text", flat=True)
        .first()
    )
    with transaction.atomic():
        contact = Contact.objects.filter(org=org, phone=pending.phone).first()
        if contact is None:
            contact = contact_create(org=org, actor=None, phone=pending.phone, first_name=pending.first_name)
        elif pending.first_name and not contact.first_name:
            contact_update(org=org, actor=None, contact=contact, first_name=pending.first_name)
        consent_record(
            org=org,
            actor=None,
            contact=contact,
            basis=ConsentBasis.OPT_IN,
            source=ConsentSource.WEB_FORM,
            wording_version=str(pending.wording_version),
            wording=wording or "",
            ip_address=ip_address or pending.ip_address,
            note=_("Double opt-in confirmed by SMS code"),
        )
        if contact.opted_out or suppressed_numbers(org, [contact.phone]):
            suppression_lift(
                org=org,
                phone_e164=contact.phone,
                source="web_form",
                actor=None,
                proof=f"web form double opt-in, wording v{pending.wording_version}, ip {ip_address or ''}",
            )
            Contact.objects.filter(org=org, pk=contact.pk).update(opted_out=False)
            contact.opted_out = False
        if form.contact_list_id:
            ListMembership.objects.bulk_create(
                [ListMembership(org=org, contact_list_id=form.contact_list_id, contact=contact)],
                ignore_conflicts=True,
            )
    return contact
