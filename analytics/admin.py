from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .link_safety import blocklist_changed, normalise_host
from .models import BlockedLinkHost, Click, TrackedLink


class BlockedLinkHostForm(forms.ModelForm):
    class Meta:
        model = BlockedLinkHost
        fields = ("host", "reason")

    def clean_host(self) -> str:
        host = normalise_host(self.cleaned_data["host"])
        if "." not in host:
            raise forms.ValidationError(_("Enter a host name such as evil.example or login.evil.example."))
        if BlockedLinkHost.objects.filter(host=host).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(_("This host is already blocked."))
        return host


@admin.register(BlockedLinkHost)
class BlockedLinkHostAdmin(admin.ModelAdmin):
    """The operator's blocklist of phishing hosts: short links never lead there (launch refused)."""

    form = BlockedLinkHostForm
    list_display = ("host", "reason", "created_at")
    search_fields = ("host", "reason")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        blocklist_changed()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        blocklist_changed()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        blocklist_changed()


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
