"""The low-balance alert and the organisation's billing preferences (its threshold among them)."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from smsplatform.audit import audit_record
from smsplatform.models import Membership, Organisation, Role

from ..models import BillingSettings

logger = logging.getLogger(__name__)


def _default_threshold() -> int:
    return settings.BILLING_LOW_BALANCE_DEFAULT_THRESHOLD


def _low_balance_check(*, org: Organisation, old_balance: int, new_balance: int) -> None:
    """Runs under the account lock of every movement: arms the alert when the balance goes back above the
    threshold, sends it (after commit) the first time the balance falls below. At most one email per
    crossing, whatever the number of concurrent debits."""
    if new_balance >= old_balance:
        BillingSettings.objects.filter(
            org=org, alert_sent_at__isnull=False, low_balance_threshold__lte=new_balance
        ).update(alert_sent_at=None)
        return
    prefs, _created = BillingSettings.objects.get_or_create(
        org=org, defaults={"low_balance_threshold": _default_threshold()}
    )
    threshold = prefs.low_balance_threshold
    if not threshold or new_balance >= threshold or prefs.alert_sent_at is not None:
        return
    BillingSettings.objects.filter(pk=prefs.pk).update(alert_sent_at=timezone.now())
    org_id, balance = org.pk, new_balance
    transaction.on_commit(
        lambda: _send_low_balance_alert(org_id=org_id, balance=balance, threshold=threshold)
    )


def _send_low_balance_alert(*, org_id: int, balance: int, threshold: int) -> None:
    """One email per language among the owners, the admins and the billing address (the platform's
    default language for those who never chose one): the worker has no request to take a language from."""
    org = Organisation.objects.get(pk=org_id)
    default = settings.LANGUAGE_CODE
    recipients: dict[str, list[str]] = {}
    members = Membership.objects.filter(org=org, role__in=[Role.OWNER, Role.ADMIN]).values_list(
        "user__email", "user__language"
    )
    for email, language in members:
        recipients.setdefault(language or default, []).append(email)
    billing_email = BillingSettings.objects.filter(org=org).values_list("billing_email", flat=True).first()
    if billing_email and not any(billing_email in emails for emails in recipients.values()):
        recipients.setdefault(default, []).append(billing_email)
    url = settings.SITE_URL.rstrip("/") + "/billing/"
    context = {"org": org.name, "balance": balance, "threshold": threshold, "url": url}
    for language, emails in recipients.items():
        try:
            with translation.override(language):
                send_mail(
                    subject=" ".join(render_to_string("emails/low_balance_subject.txt", context).split()),
                    message=render_to_string("emails/low_balance_message.txt", context),
                    from_email=None,
                    recipient_list=emails,
                )
        except Exception:  # the movement is committed; a mail failure must not turn it into an error
            logger.exception("Low-balance alert for organisation %s could not be sent", org_id)


def billing_settings_get(*, org: Organisation) -> BillingSettings:
    """The organisation's billing preferences, created with the defaults on first use."""
    prefs, _created = BillingSettings.objects.get_or_create(
        org=org, defaults={"low_balance_threshold": _default_threshold()}
    )
    return prefs


def billing_settings_update(*, org: Organisation, actor, **fields: Any) -> BillingSettings:
    """Changes the alert threshold and the details printed on future invoices (issued ones keep theirs).
    A new threshold re-arms the alert so that the owner hears about the new level."""
    allowed = {"low_balance_threshold", "billing_email", "billing_address", "vat_number", "siren"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"Not editable: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        prefs = BillingSettings.objects.select_for_update().get(pk=billing_settings_get(org=org).pk)
        changed = sorted(key for key in fields if getattr(prefs, key) != fields[key])
        for key in changed:
            setattr(prefs, key, fields[key])
        prefs.full_clean()
        if not changed:
            return prefs
        rearmed = ["alert_sent_at"] if "low_balance_threshold" in changed else []
        if rearmed:
            prefs.alert_sent_at = None
        prefs.save(update_fields=changed + rearmed)
        audit_record(
            org=org, actor=actor, action="billing.settings_updated", target=prefs, data={"fields": changed}
        )
    return prefs
