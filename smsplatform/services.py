"""Writes on organisations, users, memberships, invitations, API keys and the audit log."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from .api.authentication import KEY_PREFIX, hash_api_key
from .audit import audit_record
from .models import ApiKey, Invitation, Membership, Organisation, Role, User, role_can
from .selectors import user_has_mfa

INVITATION_LIFETIME = timedelta(days=7)


def user_create(*, email: str, password: str, full_name: str = "", email_verified: bool = True) -> User:
    """An account created by the operator's commands (``createorg``, ``seed_demo``) and by tests: people
    sign up through allauth. The address is recorded as allauth's primary one, verified unless told
    otherwise (the operator vouches for it); the password is checked against the project's validators."""
    email = User.objects.normalize_email(email.strip()).lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": [_("An account already exists with this email address.")]})
    validate_password(password, user=User(email=email, full_name=full_name))
    try:
        with transaction.atomic():
            user = User.objects.create_user(email=email, password=password, full_name=full_name)
            EmailAddress.objects.create(user=user, email=email, primary=True, verified=email_verified)
    except IntegrityError:
        raise ValidationError({"email": [_("An account already exists with this email address.")]})
    return user


# The settings of an organisation its owners edit (the settings page's form shows the same list).
ORGANISATION_SETTINGS_FIELDS = (
    "name",
    "legal_name",
    "brand",
    "country",
    "timezone",
    "default_sender_id",
    "stop_mention",
    "rule_pack",
    "require_mfa",
)


def _require_mfa_check(org: Organisation, actor: User, required: bool) -> None:
    """Only an owner decides that every member needs two-factor, and only once they use it themselves:
    turning it on would otherwise send the owner to the enrolment page first thing."""
    if _actor_role(org, actor) != Role.OWNER:
        raise PermissionDenied(_("Only an owner can change the two-factor requirement."))
    if required and not user_has_mfa(actor):
        raise ValidationError(
            {
                "require_mfa": [
                    _("Set up two-factor authentication for yourself first (My account and security).")
                ]
            }
        )


def organisation_update(*, org: Organisation, actor: User, **fields: Any) -> Organisation:
    """Settings of the organisation; validated as a whole before anything is written."""
    unknown = set(fields) - set(ORGANISATION_SETTINGS_FIELDS)
    if unknown:
        raise ValueError(f"Not editable: {', '.join(sorted(unknown))}")
    changed = {k: v for k, v in fields.items() if getattr(org, k) != v}
    if "require_mfa" in changed:
        _require_mfa_check(org, actor, changed["require_mfa"])
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


def assignable_roles(actor_role: str) -> list[str]:
    """The roles a member with ``actor_role`` may give: only owners make owners, or an admin could take
    the organisation over (promote themselves, invite an accomplice as owner, then demote the owner)."""
    if actor_role == Role.OWNER:
        return list(Role.values)
    if role_can(actor_role, "manage"):
        return [role for role in Role.values if role != Role.OWNER]
    return []


def _actor_role(org: Organisation, actor: User) -> str | None:
    return Membership.objects.filter(org=org, user=actor).values_list("role", flat=True).first()


def _lock_memberships(org: Organisation) -> None:
    """Serialises the membership changes of one organisation, so that the "last owner" count cannot be
    read by two demotions at once. FOR NO KEY UPDATE: it does not block the inserts of rows that point
    at the organisation (contacts, messages), only other writers of the organisation row."""
    Organisation.objects.select_for_update(no_key=True).filter(pk=org.pk).first()


def _owners_left_after(org: Organisation, membership: Membership) -> int:
    return Membership.objects.filter(org=org, role=Role.OWNER).exclude(pk=membership.pk).count()


def membership_set_role(*, org: Organisation, actor: User, membership: Membership, role: str) -> Membership:
    """Changes a member's role. Only an owner grants or takes away the owner role, and an organisation
    always keeps at least one owner. Raises PermissionDenied when the actor lacks the authority."""
    if role not in Role.values:
        raise ValidationError({"role": [_("Unknown role.")]})
    if membership.org_id != org.pk:
        raise ValueError("membership of another organisation")
    with transaction.atomic():
        _lock_memberships(org)
        # Read again under the lock: the role shown on the page may have changed since.
        current = Membership.objects.select_related("user").get(pk=membership.pk)
        actor_role = _actor_role(org, actor)
        if Role.OWNER in (current.role, role) and actor_role != Role.OWNER:
            raise PermissionDenied(_("Only an owner can give or take away the owner role."))
        if role not in assignable_roles(actor_role or ""):
            raise PermissionDenied(_("Your role does not allow you to change roles."))
        if current.role == Role.OWNER and role != Role.OWNER and _owners_left_after(org, current) == 0:
            raise ValidationError({"role": [_("An organisation must keep at least one owner.")]})
        if current.role != role:
            Membership.objects.filter(pk=current.pk).update(role=role)
            audit_record(
                org=org,
                actor=actor,
                action="membership.role_changed",
                target=current,
                data={"user": current.user.email, "from": current.role, "to": role},
            )
    membership.role = role
    return membership


def membership_remove(*, org: Organisation, actor: User, membership: Membership) -> None:
    """Removes a member; only an owner removes an owner, and the last owner cannot be removed."""
    if membership.org_id != org.pk:
        raise ValueError("membership of another organisation")
    with transaction.atomic():
        _lock_memberships(org)
        current = Membership.objects.select_related("user").filter(pk=membership.pk).first()
        if current is None:  # removed meanwhile by someone else: nothing left to do
            return
        actor_role = _actor_role(org, actor)
        if not role_can(actor_role or "", "manage"):
            raise PermissionDenied(_("Your role does not allow you to remove members."))
        if current.role == Role.OWNER and actor_role != Role.OWNER:
            raise PermissionDenied(_("Only an owner can remove an owner."))
        if current.role == Role.OWNER and _owners_left_after(org, current) == 0:
            raise ValidationError(_("An organisation must keep at least one owner."))
        audit_record(
            org=org,
            actor=actor,
            action="membership.removed",
            target=current,
            data={"user": current.user.email},
        )
        current.delete()


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
    if role not in assignable_roles(_actor_role(org, actor) or ""):
        raise PermissionDenied(_("Only an owner can invite someone as owner."))
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
    context = {
        "inviter": actor.email,
        "org": org.name,
        "role": Role(role).label,
        "url": url,
        "lifetime_days": INVITATION_LIFETIME.days,
    }
    # Rendered at commit time, in the language then active: the inviter's.
    transaction.on_commit(
        lambda: send_mail(
            subject=" ".join(render_to_string("emails/invitation_subject.txt", context).split()),
            message=render_to_string("emails/invitation_message.txt", context),
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
        # An owner invitation sent by an admin before only owners could send them, or by someone who is no
        # longer an owner, must not make an owner.
        if invitation.role == Role.OWNER and (
            invitation.invited_by is None or _actor_role(invitation.org, invitation.invited_by) != Role.OWNER
        ):
            raise ValidationError(_("This invitation is no longer valid. Ask an owner for a new one."))
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
