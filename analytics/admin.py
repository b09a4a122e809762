from django.contrib import admin

from .models import Click, TrackedLink


@admin.register(TrackedLink)
class TrackedLinkAdmin(admin.ModelAdmin):
    """Read-only: links are created at launch and changed through campaign_utm_set."""

    list_display = ("id", "org", "campaign", "url", "created_at", "expires_at")
    list_filter = ("created_at",)
    search_fields = ("url",)
    raw_id_fields = ("org", "campaign")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Click)
class ClickAdmin(admin.ModelAdmin):
    list_display = ("id", "org", "campaign_id", "message_id", "at", "user_agent_class")
    list_filter = ("user_agent_class",)
    raw_id_fields = ("org", "link", "code")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
