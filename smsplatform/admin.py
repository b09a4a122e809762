from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

# The admin is wiring: the operator chooses among the adapters of the sending layer.
from campaigns.gateways import available_gateways

from .models import ApiKey, AuditEntry, Invitation, Membership, Organisation, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_active", "date_joined"]
    search_fields = ["email", "full_name"]
    fieldsets = (
        (None, {"fields": ("email", "password", "full_name", "language")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "country", "rule_pack", "sms_gateway", "created_at"]
    list_filter = ["sms_gateway"]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        """The operator's switch from the sandbox to a real gateway offers registered gateways only."""
        if db_field.name != "sms_gateway":
            return super().formfield_for_dbfield(db_field, request, **kwargs)
        default = _("Platform default (%(name)s)") % {"name": settings.SMS_GATEWAY}
        return forms.ChoiceField(
            label=db_field.verbose_name,
            choices=[("", default), *((name, name) for name in available_gateways())],
            required=False,
            help_text=db_field.help_text,
        )

    search_fields = ["name", "slug", "legal_name"]
    inlines = [MembershipInline]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "org", "prefix", "role", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "key_hash", "created_at", "last_used_at"]
    list_select_related = ["org"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "org", "role", "created_at", "expires_at", "accepted_at", "revoked_at"]
    readonly_fields = ["token_hash"]


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "org", "actor_label", "action", "target_type", "target_id"]
    list_filter = ["action"]
    list_select_related = ["org"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
