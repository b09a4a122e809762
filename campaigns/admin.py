"""Operator's view of campaigns, messages and replies: read-only, since every write goes through the
services (the admin would otherwise bypass the state machine, the credits and the audit log). The one
operator decision taken here, approving a campaign as transactional, is an action calling its service."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .errors import InvalidTransition
from .models import Campaign, Category, InboundMessage, Message, Template
from .services import campaign_transactional_approve, campaign_transactional_revoke


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Campaign)
class CampaignAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "org",
        "name",
        "category",
        "status",
        "recipients",
        "credits_reserved",
        "credits_spent",
        "scheduled_at",
        "launched_at",
        "completed_at",
        "transactional_approved_at",
    )
    list_filter = ("status", "category", ("transactional_approved_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "org__name")
    list_select_related = ("org",)
    actions = ("approve_transactional", "revoke_transactional")

    def has_review_permission(self, request):
        return bool(request.user.is_active and request.user.is_superuser)

    def _each(self, request, queryset, service, done_message):
        done = 0
        for campaign in queryset.select_related("org"):
            try:
                service(campaign=campaign, actor=request.user)
                done += 1
            except (ValidationError, InvalidTransition) as exc:
                detail = " ".join(exc.messages) if isinstance(exc, ValidationError) else exc.detail
                self.message_user(request, f"{campaign.name}: {detail}", messages.ERROR)
        if done:
            self.message_user(request, done_message % {"n": done}, messages.SUCCESS)

    @admin.action(
        description=_("Approve as transactional (order or appointment notices only; read the body first)"),
        permissions=("review",),
    )
    def approve_transactional(self, request, queryset):
        self._each(
            request,
            queryset.filter(category=Category.TRANSACTIONAL),
            campaign_transactional_approve,
            _("%(n)s campaign(s) approved as transactional."),
        )

    @admin.action(description=_("Withdraw the transactional approval"), permissions=("review",))
    def revoke_transactional(self, request, queryset):
        self._each(
            request,
            queryset.exclude(transactional_approved_at=None),
            campaign_transactional_revoke,
            _("%(n)s transactional approval(s) withdrawn."),
        )


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "org",
        "campaign_id",
        "to",
        "category",
        "status",
        "block_reason",
        "attempts",
        "provider_id",
        "claimed_at",
        "sent_at",
        "delivered_at",
    )
    list_filter = ("status", "category", "gateway")
    search_fields = ("to", "provider_id")
    list_select_related = ("org",)
    show_full_result_count = False


@admin.register(InboundMessage)
class InboundMessageAdmin(ReadOnlyAdmin):
    list_display = ("id", "org", "from_number", "to", "kind", "needs_review", "received_at")
    list_filter = ("kind", "needs_review", "gateway")
    search_fields = ("from_number", "text")
    list_select_related = ("org",)


@admin.register(Template)
class TemplateAdmin(ReadOnlyAdmin):
    list_display = ("id", "org", "name", "updated_at")
    search_fields = ("name",)
