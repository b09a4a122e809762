"""Writes on organisations, users, memberships, invitations, API keys and the audit log."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from .countries import default_rule_pack_for_country, default_timezone_for_country
from .models import ApiKey, AuditEntry, Invitation, Membership, Organisation, Role, User

INVITATION_LIFETIME = timedelta(days=7)


def audit_record(
    *, org: Organisation | None, actor, action: str, target: Any = None, data: dict | None = None
) -> AuditEntry:
    """Keeps who did what, where, on which object: owners must be able to answer "who sent this?"."""
    actor_user = actor if isinstance(actor, User) else None
    return AuditEntry.objects.create(
        org=org,
        actor=actor_user,
        actor_label=str(actor) if actor is not None else "system",
        action=action,
        target_type=target._meta.label_lower if target is not None and hasattr(target, "_meta") else "",
        target_id=str(getattr(target, "pk", "") or "") if target is not None else "",
        data=data or {},
    )


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
    from billing.services import credits_grant

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
    return org


def user_create(*, email: str, password: str, full_name: str = "") -> User:
    """A person's account; the password is checked against the project's validators first."""
    email = User.objects.normalize_email(email.strip()).lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": [_("An account already exists with this email address.")]})
    candidate = User(email=email, full_name=full_name)
    validate_password(password, user=candidate)
    try:
        return User.objects.create_user(email=email, password=password, full_name=full_name)
    except IntegrityError:
        raise ValidationError({"email": [_("An account already exists with this email address.")]})


def signup(
    *, email: str, password: str, org_name: str, country: str = "FR", full_name: str = ""
) -> tuple[User, Organisation]:
    """Sign-up: the user, their organisation, the owner membership and 100 free credits, or nothing."""
    with transaction.atomic():
        user = user_create(email=email, password=password, full_name=full_name)
        org = organisation_create(name=org_name, owner=user, country=country)
    return user, org


def organisation_update(*, org: Organisation, actor: User, **fields: Any) -> Organisation:
    """Settings of the organisation; validated as a whole before anything is written."""
    allowed = {
        "name",
        "legal_name",
        "brand",
        "country",
        "timezone",
        "default_sender_id",
        "stop_mention",
        "rule_pack",
    }
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"Not editable: {', '.join(sorted(unknown))}")
    changed = {k: v for k, v in fields.items() if getattr(org, k) != v}
    for key, value in changed.items():
        setattr(org, key, value)
    org.full_clean()
    if changed:
        with transaction.atomic():
            org.save(update_fields=list(changed))
            audit_record(
                org=org,
                actor=actor,
                action="organisation.updated",
                target=org,
                data={"fields": sorted(changed)},
            )
    return org


# --- Memberships and invitations ------------------------------------------------------------------


def _owners_left_after(org: Organisation, membership: Membership) -> int:
    return Membership.objects.filter(org=org, role=Role.OWNER).exclude(pk=membership.pk).count()


def membership_set_role(*, org: Organisation, actor: User, membership: Membership, role: str) -> Membership:
    """Changes a member's role; an organisation always keeps at least one owner."""
    if role not in Role.values:
        raise ValidationError({"role": [_("Unknown role.")]})
    if membership.org_id != org.pk:
        raise ValueError("membership of another organisation")
    if membership.role == Role.OWNER and role != Role.OWNER and _owners_left_after(org, membership) == 0:
        raise ValidationError({"role": [_("An organisation must keep at least one owner.")]})
    with transaction.atomic():
        Membership.objects.filter(pk=membership.pk).update(role=role)
        audit_record(
            org=org,
            actor=actor,
            action="membership.role_changed",
            target=membership,
            data={"user": membership.user.email, "from": membership.role, "to": role},
        )
    membership.role = role
    return membership


def membership_remove(*, org: Organisation, actor: User, membership: Membership) -> None:
    """Removes a member; the last owner cannot be removed."""
    if membership.org_id != org.pk:
        raise ValueError("membership of another organisation")
    if membership.role == Role.OWNER and _owners_left_after(org, membership) == 0:
        raise ValidationError(_("An organisation must keep at least one owner."))
    with transaction.atomic():
        audit_record(
            org=org,
            actor=actor,
            action="membership.removed",
            target=membership,
            data={"user": membership.user.email},
        )
        membership.delete()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class CreatedInvitation:
    invitation: Invitation
    url: str


def invitation_create(
    *, org: Organisation, actor: User, email: str, role: str, base_url: str | None = None
) -> CreatedInvitation:
    """Invites someone by email; the link carries a token of which we keep only a hash."""
    email = User.objects.normalize_email(email.strip()).lower()
    if role not in Role.values:
        raise ValidationError({"role": [_("Unknown role.")]})
    if Membership.objects.filter(org=org, user__email__iexact=email).exists():
        raise ValidationError({"email": [_("This person is already a member of the organisation.")]})
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        invitation = Invitation.objects.create(
            org=org,
            email=email,
            role=role,
            token_hash=_token_hash(token),
            invited_by=actor,
            expires_at=timezone.now() + INVITATION_LIFETIME,
        )
        audit_record(
            org=org,
            actor=actor,
            action="invitation.created",
            target=invitation,
            data={"email": email, "role": role},
        )
    url = (base_url or settings.SITE_URL).rstrip("/") + reverse("invitation_accept", args=[token])
    transaction.on_commit(
        lambda: send_mail(
            subject=_("You are invited to join %(org)s on smsplatform") % {"org": org.name},
            message=_(
                "%(inviter)s invites you to join %(org)s as %(role)s.\n\nAccept the invitation: %(url)s\n"
            )
            % {"inviter": actor.email, "org": org.name, "role": Role(role).label, "url": url},
            from_email=None,
            recipient_list=[email],
        )
    )
    return CreatedInvitation(invitation=invitation, url=url)


def invitation_find(token: str) -> Invitation | None:
    """The open invitation behind a token, or None (expired, revoked, used, or never existed)."""
    invitation = Invitation.objects.select_related("org").filter(token_hash=_token_hash(token)).first()
    if invitation is None or not invitation.is_open:
        return None
    return invitation


def invitation_accept(*, invitation: Invitation, user: User) -> Membership:
    """Turns an invitation into a membership for the user who opened the link."""
    if not invitation.is_open:
        raise ValidationError(_("This invitation is no longer valid."))
    if user.email.lower() != invitation.email.lower():
        raise ValidationError(_("This invitation was sent to another email address."))
    with transaction.atomic():
        membership, _created = Membership.objects.get_or_create(
            org=invitation.org, user=user, defaults={"role": invitation.role}
        )
        Invitation.objects.filter(pk=invitation.pk).update(accepted_at=timezone.now())
        audit_record(
            org=invitation.org,
            actor=user,
            action="invitation.accepted",
            target=invitation,
            data={"role": membership.role},
        )
    return membership


def invitation_revoke(*, org: Organisation, actor: User, invitation: Invitation) -> None:
    """Withdraws an invitation that has not been used yet."""
    with transaction.atomic():
        Invitation.objects.filter(pk=invitation.pk, org=org).update(revoked_at=timezone.now())
        audit_record(
            org=org,
            actor=actor,
            action="invitation.revoked",
            target=invitation,
            data={"email": invitation.email},
        )


# --- API keys -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreatedApiKey:
    api_key: ApiKey
    raw_key: str  # shown once, never stored


def api_key_create(
    *, org: Organisation, actor: User | None, name: str, role: str = Role.ADMIN
) -> CreatedApiKey:
    """A new Bearer key; only its SHA-256 is stored, so the caller must show ``raw_key`` now or never."""
    from .api.authentication import KEY_PREFIX, hash_api_key

    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": [_("Give the key a name, for example the tool that will use it.")]})
    if role not in (Role.ADMIN, Role.MARKETER, Role.ANALYST):
        raise ValidationError({"role": [_("An API key may have the admin, marketer or analyst role.")]})
    prefix = secrets.token_hex(6)
    raw_key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        key = ApiKey.objects.create(
            org=org,
            name=name[:100],
            prefix=prefix,
            key_hash=hash_api_key(raw_key),
            role=role,
            created_by=actor,
        )
        audit_record(
            org=org, actor=actor, action="api_key.created", target=key, data={"name": key.name, "role": role}
        )
    return CreatedApiKey(api_key=key, raw_key=raw_key)


def api_key_revoke(*, org: Organisation, actor: User, api_key: ApiKey) -> None:
    """Revokes a key at once: the next request with it gets 401."""
    with transaction.atomic():
        ApiKey.objects.filter(pk=api_key.pk, org=org, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        audit_record(
            org=org, actor=actor, action="api_key.revoked", target=api_key, data={"name": api_key.name}
        )
