"""Admin of the compliance data (operators, across organisations).

Suppressions are never lost silently: they cannot be edited, only a superuser may delete one (one at a
time, after a warning, and the deletion is audited), and additions go through ``suppression_add``.
Sending policies go through ``sending_policy_set``, so the admin cannot make a pack looser either.
"""

from __future__ import annotations

import re

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from smsplatform.services import audit_record

from .checker import normalise_phone
from .models import OrgSendingPolicy, Suppression, phone_hash
from .packs import effective_policy, get_pack, restrictions_to_json
from .services import sending_policy_set, suppression_add

_HEX_HASH = re.compile(r"^[0-9a-f]{8,64}$")


def _without_bulk_delete(actions: dict) -> dict:
    actions.pop("delete_selected", None)
    return actions


class SuppressionAddForm(forms.ModelForm):
    class Meta:
        model = Suppression
        fields = ["org", "phone_e164", "source", "reason", "proof"]

    def clean(self):
        cleaned = super().clean()
        org, phone = cleaned.get("org"), cleaned.get("phone_e164")
        if org is not None and phone:
            try:
                cleaned["phone_e164"] = normalise_phone(phone, org.country or "FR")
            except ValueError:
                self.add_error("phone_e164", _("This is not a valid phone number."))
        return cleaned

    def validate_unique(self):
        # An existing suppression is not an error: suppression_add is idempotent and keeps the first one.
        pass


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "org", "source", "created_at"]
    list_filter = ["source", "created_at"]
    list_select_related = ["org"]
    date_hierarchy = "created_at"
    search_fields = ["phone_e164"]  # shows the search box; the search itself is get_search_results
    search_help_text = _(
        "A phone number (E.164 or national; found by its hash even after an erasure) or a phone hash."
    )
    raw_id_fields = ["org"]
    readonly_fields = ["org", "phone_hash", "phone_e164", "source", "reason", "proof", "created_at"]
    show_full_result_count = False
    delete_confirmation_template = "compliance/admin/suppression_delete_confirmation.html"

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = SuppressionAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def get_search_results(self, request, queryset, search_term):
        term = (search_term or "").strip()
        if not term:
            return queryset, False
        condition = Q(phone_e164=term)
        if _HEX_HASH.match(term.lower()):
            condition |= Q(phone_hash__startswith=term.lower())
        for region in ("FR", None):
            try:
                e164 = normalise_phone(term, region or "ZZ")
            except ValueError:
                continue
            condition |= Q(phone_hash=phone_hash(e164)) | Q(phone_e164=e164)
            break
        return queryset.filter(condition), False

    def has_change_permission(self, request, obj=None):
        return False  # a suppression is a fact (an opt-out and its proof): read-only

    def has_delete_permission(self, request, obj=None):
        return bool(request.user.is_active and request.user.is_superuser)

    def get_actions(self, request):
        return _without_bulk_delete(super().get_actions(request))

    def save_model(self, request, obj, form, change):
        if change:  # not reachable: change permission is refused
            raise PermissionError("suppressions are read-only")
        saved = suppression_add(
            org=obj.org,
            phone_e164=obj.phone_e164,
            source=obj.source,
            actor=request.user,
            proof=obj.proof,
            reason=obj.reason,
        )
        obj.pk, obj.phone_hash, obj.created_at = saved.pk, saved.phone_hash, saved.created_at

    def delete_model(self, request, obj):
        audit_record(
            org=obj.org,
            actor=request.user,
            action="compliance.suppression_deleted",
            data={
                "phone_hash": obj.phone_hash,
                "source": obj.source,
                "created_at": obj.created_at.isoformat() if obj.created_at else "",
                "proof": (obj.proof or "")[:500],
                "via": "admin",
            },
        )
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):  # bulk delete is disabled; audited all the same
        for obj in queryset.select_related("org"):
            self.delete_model(request, obj)


class OrgSendingPolicyForm(forms.ModelForm):
    class Meta:
        model = OrgSendingPolicy
        fields = ["org", "restrictions"]

    def clean(self):
        cleaned = super().clean()
        org = cleaned.get("org") or getattr(self.instance, "org", None)
        if org is not None and "restrictions" in cleaned:
            try:
                policy = effective_policy(get_pack(org.rule_pack), cleaned["restrictions"] or {})
            except ValidationError as exc:
                self.add_error("restrictions", exc)
            else:
                cleaned["restrictions"] = restrictions_to_json(policy.restrictions)
        return cleaned


@admin.register(OrgSendingPolicy)
class OrgSendingPolicyAdmin(admin.ModelAdmin):
    form = OrgSendingPolicyForm
    list_display = ["org", "rule_pack", "restrictions", "updated_at"]
    list_select_related = ["org"]
    search_fields = ["org__name", "org__slug"]
    raw_id_fields = ["org"]
    readonly_fields = ["updated_at"]

    @admin.display(description=_("rule pack"))
    def rule_pack(self, obj):
        return obj.org.rule_pack

    def get_readonly_fields(self, request, obj=None):
        return ["org", "updated_at"] if obj is not None else ["updated_at"]

    def has_delete_permission(self, request, obj=None):
        # Deleting drops an organisation's own closing days and caps: superusers only, audited.
        return bool(request.user.is_active and request.user.is_superuser)

    def get_actions(self, request):
        return _without_bulk_delete(super().get_actions(request))

    def save_model(self, request, obj, form, change):
        saved = sending_policy_set(org=obj.org, restrictions=obj.restrictions, actor=request.user)
        obj.pk, obj.restrictions, obj.updated_at = saved.pk, saved.restrictions, saved.updated_at

    def delete_model(self, request, obj):
        audit_record(
            org=obj.org,
            actor=request.user,
            action="compliance.sending_policy_deleted",
            data={"restrictions": obj.restrictions, "via": "admin"},
        )
        super().delete_model(request, obj)
