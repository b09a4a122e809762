"""Operator's view of campaigns, messages and replies: read-only, since every write goes through the
services (the admin would otherwise bypass the state machine, the credits and the audit log)."""

from django.contrib import admin

from .models import Campaign, InboundMessage, Message, Template


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
    )
    list_filter = ("status", "category")
    search_fields = ("name", "org__name")
    list_select_related = ("org",)


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
