from __future__ import annotations

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.db.models import QuerySet

from .models import ApiKey, AuditEntry, Invitation, Membership, Organisation, Role, User


def membership_for_session(user: User, org_id) -> Membership | None:
    """The membership of the organisation chosen in the session, or the user's first one."""
    memberships = Membership.objects.select_related("org").filter(user=user).order_by("created_at", "id")
    if org_id:
        chosen = memberships.filter(org_id=org_id).first()
        if chosen is not None:
            return chosen
    return memberships.first()


def user_memberships(user: User) -> QuerySet[Membership]:
    return Membership.objects.select_related("org").filter(user=user).order_by("org__name")


def org_members(org: Organisation) -> QuerySet[Membership]:
    return Membership.objects.select_related("user").filter(org=org).order_by("created_at", "id")


def org_open_invitations(org: Organisation) -> QuerySet[Invitation]:
    from django.utils import timezone

    return Invitation.objects.filter(
        org=org, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).order_by("-created_at")


def org_api_keys(org: Organisation) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(org=org).order_by("revoked_at", "-created_at")


def org_audit_entries(org: Organisation) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(org=org).select_related("actor").order_by("-created_at", "-id")


def user_email_verified(user: User) -> bool:
    """Whether the user proved their address (allauth's emailed link, or an invitation's)."""
    return EmailAddress.objects.filter(user=user, email__iexact=user.email, verified=True).exists()


def org_owner_email_verified(org: Organisation) -> bool:
    """Whether an owner of the organisation proved their address: what a real send or a purchase waits
    for (a fresh sign-up works in the sandbox meanwhile)."""
    return EmailAddress.objects.filter(
        verified=True, user__memberships__org=org, user__memberships__role=Role.OWNER
    ).exists()


def user_has_mfa(user: User) -> bool:
    """Whether the user logs in with a second factor (an authenticator app)."""
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def mfa_required(membership: Membership) -> bool:
    """Whether this member must use two-factor in this organisation: the owners' setting for every member,
    or the operator's rule for the owners of organisations that reach real handsets."""
    org = membership.org
    if org.require_mfa:
        return True
    return bool(
        settings.MFA_REQUIRED_FOR_OWNERS_ON_REAL_GATEWAY
        and membership.role == Role.OWNER
        and not org.on_sandbox
    )


def mfa_enrolment_pending(membership: Membership, user: User) -> bool:
    """Whether this member is held until they set up two-factor (pages redirect, the session API refuses)."""
    return mfa_required(membership) and not user_has_mfa(user)
