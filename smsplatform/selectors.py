from __future__ import annotations

from django.db.models import QuerySet

from .models import ApiKey, AuditEntry, Invitation, Membership, Organisation, User


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
