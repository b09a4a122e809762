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


def onboarding_checklist(org: Organisation) -> list[dict]:
    """The dashboard's first steps, each done or not, from existing data: four ``EXISTS`` queries on
    indexed organisation foreign keys, whatever the size of the organisation."""
    from django.urls import reverse
    from django.utils.translation import gettext as _

    from billing.models import Purchase, PurchaseStatus
    from campaigns.models import Campaign, CampaignStatus, Template
    from contacts.models import Contact

    S = CampaignStatus
    launched = (S.SCHEDULED, S.SENDING, S.PAUSED, S.COMPLETED)
    has_campaign = Campaign.objects.filter(org=org).exists()
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
            reverse("campaigns_ui:create"),
            has_campaign or Template.objects.filter(org=org).exists(),
        ),
        (
            "campaign",
            _("Schedule your first campaign"),
            reverse("campaigns_ui:list"),
            has_campaign and Campaign.objects.filter(org=org, status__in=launched).exists(),
        ),
        (
            "credits",
            _("Buy credits"),
            "/billing/",
            Purchase.objects.filter(org=org, status=PurchaseStatus.PAID).exists(),
        ),
    ]
    return [{"key": k, "label": label, "url": url, "done": done} for k, label, url, done in steps]
