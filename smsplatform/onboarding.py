"""Sign-up, the organisation's settings and the dashboard's first steps: what composes several apps.

A new organisation gets its sign-up credits (billing) and, in the sandbox, its default sender ID
(compliance); a change of brand or default sender goes through the sender registry; the dashboard's
checklist reads contacts and campaigns. Billing and compliance both audit through
smsplatform, so this composition cannot live in smsplatform.services without an import cycle: it sits
above the apps, beside the views and URLs that call it (the layering contracts in pyproject.toml treat
it as wiring)."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils.text import slugify
from django.utils.translation import gettext as _

from billing.services import credits_grant
from campaigns.models import Campaign, CampaignStatus, Template
from compliance.packs import all_packs
from compliance.sender_registry import default_sender_set, sender_register_default
from contacts.models import Contact

from .audit import audit_record
from .countries import default_rule_pack_for_country, default_timezone_for_country
from .models import Membership, Organisation, Role, User
from .services import organisation_update, user_create


def _unique_slug(name: str) -> str:
    base = slugify(name)[:60] or "org"
    slug = base
    while Organisation.objects.filter(slug=slug).exists():
        slug = f"{base}-{secrets.token_hex(3)}"
    return slug


def organisation_create(
    *,
    name: str,
    owner: User,
    country: str = "FR",
    timezone_name: str | None = None,
    brand: str = "",
    legal_name: str = "",
    slug: str | None = None,
) -> Organisation:
    """A new tenant with its owner and the sign-up credits, in one transaction."""
    with transaction.atomic():
        org = Organisation(
            name=name.strip(),
            slug=slug or _unique_slug(name),
            country=country.upper(),
            timezone=timezone_name or default_timezone_for_country(country),
            rule_pack=default_rule_pack_for_country(country),
            brand=(brand or name).strip()[:100],
            legal_name=legal_name or name.strip(),
        )
        org.full_clean()
        org.save()
        Membership.objects.create(org=org, user=owner, role=Role.OWNER)
        audit_record(org=org, actor=owner, action="organisation.created", target=org, data={"name": org.name})
        credits_grant(
            org=org,
            amount=settings.SIGNUP_FREE_CREDITS,
            reference="signup",
            actor=owner,
            reason="Sign-up credits",
        )
        # In the sandbox the brand becomes the organisation's sender ID at once (when free), so that the
        # first campaign is instant; elsewhere the operator approves sender IDs.
        sender_register_default(org=org, actor=owner)
    return org


def signup(
    *,
    email: str,
    password: str,
    org_name: str,
    country: str = "FR",
    full_name: str = "",
    email_verified: bool = True,
) -> tuple[User, Organisation]:
    """An account with its organisation, the owner membership and the sign-up credits, or nothing: for
    the operator's commands, the benchmarks and the tests. People sign up through allauth
    (``smsplatform.accounts``), which creates the organisation with the same ``organisation_create``."""
    with transaction.atomic():
        user = user_create(email=email, password=password, full_name=full_name, email_verified=email_verified)
        org = organisation_create(name=org_name, owner=user, country=country)
    return user, org


def organisation_settings_update(*, org: Organisation, actor: User, **fields: Any) -> Organisation:
    """The settings page's write: ``organisation_update`` and, in the same transaction, the sender
    registry, since a default sender ID is one the organisation may hold. A name refused by the registry
    (ValidationError on ``default_sender_id``) leaves the organisation unchanged."""
    # Read before the update, which applies the new values to ``org``.
    changed = {key for key, value in fields.items() if getattr(org, key, value) != value}
    if "rule_pack" in changed and fields["rule_pack"] not in all_packs():
        raise ValidationError(
            {"rule_pack": _("“%(value)s” is not a rule pack.") % {"value": fields["rule_pack"]}}
        )
    with transaction.atomic():
        organisation_update(org=org, actor=actor, **fields)
        if "default_sender_id" in changed and fields["default_sender_id"]:
            default_sender_set(org=org, actor=actor, name=fields["default_sender_id"])
        elif {"brand", "name"} & changed:
            sender_register_default(org=org, actor=actor)
    return org


def onboarding_checklist(org: Organisation) -> list[dict]:
    """The dashboard's first steps, each done or not, from existing data: the same four steps as the
    navigation (import, compose, schedule or send, results); credits are a balance, not a step. At most
    four ``EXISTS`` queries on indexed organisation foreign keys, whatever the size of the organisation."""
    S = CampaignStatus
    launched = (S.SCHEDULED, S.SENDING, S.PAUSED, S.COMPLETED)
    has_campaign = Campaign.objects.filter(org=org).exists()
    has_launched = has_campaign and Campaign.objects.filter(org=org, status__in=launched).exists()
    steps = [
        (
            "import",
            _("Import your contacts"),
            reverse("contacts:import"),
            Contact.objects.filter(org=org).exists(),
        ),
        (
            "message",
            _("Write your first message"),
            reverse("campaigns:create"),
            has_campaign or Template.objects.filter(org=org).exists(),
        ),
        (
            "campaign",
            _("Schedule or send your first campaign"),
            reverse("campaigns:list"),
            has_launched,
        ),
        (
            "results",
            _("See your results"),
            reverse("analytics:index"),
            has_launched and Campaign.objects.filter(org=org, status=S.COMPLETED).exists(),
        ),
    ]
    return [{"key": k, "label": label, "url": url, "done": done} for k, label, url, done in steps]
