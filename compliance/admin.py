"""Admin of the compliance data (operators, across organisations).

Suppressions are never lost silently: they cannot be edited, only a superuser may delete one (one at a
time, after a warning, and the deletion is audited), and additions go through ``suppression_add``.
Sending policies go through ``sending_policy_set``, so the admin cannot make a pack looser either.
"""

from __future__ import annotations

import re

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from smsplatform.audit import audit_record

from .checker import normalise_phone
from .models import OrgSendingPolicy, ProtectedSenderName, SenderId, SenderStatus, Suppression, phone_hash
from .packs import effective_policy, get_pack, restrictions_to_json
from .sender_registry import sender_approve, sender_reject, squash
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


# --- sender IDs --------------------------------------------------------------------------------------


class SenderReviewForm(forms.ModelForm):
    class Meta:
        model = SenderId
        fields = ["status", "reason"]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("status") == SenderStatus.REJECTED and not (cleaned.get("reason") or "").strip():
            self.add_error("reason", _("Say why: the organisation reads this reason."))
        if cleaned.get("status") == SenderStatus.PENDING and self.instance.status != SenderStatus.PENDING:
            self.add_error("status", _("Approve or reject the sender ID."))
        return cleaned


@admin.register(SenderId)
class SenderIdAdmin(admin.ModelAdmin):
    """The operator reviews sender IDs: reads the proof, approves (the list's action or the form) or
    rejects with a reason (the form). Every decision goes through the registry's services (audited)."""

    form = SenderReviewForm
    list_display = ["name", "org", "status", "gateway", "has_proof", "reviewed_at", "created_at"]
    list_filter = ["status", ("reviewed_at", admin.EmptyFieldListFilter), "created_at"]
    list_select_related = ["org"]
    search_fields = ["name", "org__name", "org__slug"]
    readonly_fields = [
        "org", "name", "proof_link", "proof_name", "requested_by", "reviewed_by", "reviewed_at", "created_at"
    ]  # fmt: skip
    fields = [
        "org", "name", "status", "reason", "proof_link", "proof_name", "requested_by", "reviewed_by",
        "reviewed_at", "created_at",
    ]  # fmt: skip
    actions = ["approve_selected"]

    @admin.display(description=_("gateway"))
    def gateway(self, obj):
        return obj.org.gateway_name

    @admin.display(description=_("proof"), boolean=True)
    def has_proof(self, obj):
        return bool(obj.proof)

    @admin.display(description=_("proof"))
    def proof_link(self, obj):
        if obj is None or not obj.proof:
            return _("No proof uploaded.")
        url = reverse("admin:compliance_senderid_proof", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.proof_name or _("Download"))

    def has_add_permission(self, request):
        return False  # organisations request sender IDs; the operator reviews them

    def has_delete_permission(self, request, obj=None):
        return False  # a rejection keeps the history; deleting would free the name silently

    def get_urls(self):
        return [
            path(
                "<path:object_id>/proof/",
                self.admin_site.admin_view(self.proof_view),
                name="compliance_senderid_proof",
            ),
            *super().get_urls(),
        ]

    def proof_view(self, request, object_id):
        """Streams a proof to the operator only: proofs are stored outside the web root, never served."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        sender = get_object_or_404(SenderId, pk=object_id) if str(object_id).isdigit() else None
        if sender is None or not sender.proof:
            raise Http404
        response = FileResponse(
            sender.proof.open("rb"), as_attachment=True, filename=sender.proof.name.rsplit("/", 1)[-1]
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response

    @admin.action(description=_("Approve the selected sender IDs (proof checked)"))
    def approve_selected(self, request, queryset):
        done = 0
        for sender in queryset.select_related("org"):
            try:
                sender_approve(sender=sender, actor=request.user)
                done += 1
            except ValidationError as exc:
                self.message_user(request, f"{sender.name}: {' '.join(exc.messages)}", messages.ERROR)
        if done:
            self.message_user(request, _("%(n)s sender ID(s) approved.") % {"n": done}, messages.SUCCESS)

    def save_model(self, request, obj, form, change):
        if not change:  # not reachable: adding is refused
            raise PermissionError("sender IDs are requested by organisations")
        if obj.status == SenderStatus.APPROVED:
            saved = sender_approve(sender=obj, actor=request.user)
        elif obj.status == SenderStatus.REJECTED:
            saved = sender_reject(sender=obj, actor=request.user, reason=obj.reason)
        else:
            return
        obj.reviewed_at, obj.reviewed_by = saved.reviewed_at, saved.reviewed_by


class ProtectedSenderNameForm(forms.ModelForm):
    class Meta:
        model = ProtectedSenderName
        fields = ["name", "match_contained", "note"]

    def clean_name(self):
        # Stored squashed, as it is compared: "La Poste" and "LAPOSTE" are one entry.
        name = squash(self.cleaned_data.get("name") or "")
        if len(name) < 2:
            raise ValidationError(_("Give a name of at least two letters or digits."))
        return name


@admin.register(ProtectedSenderName)
class ProtectedSenderNameAdmin(admin.ModelAdmin):
    """Names no organisation may send as (banks, public services, operators, carriers); audited."""

    form = ProtectedSenderNameForm
    list_display = ["name", "match_contained", "note", "created_at"]
    list_filter = ["match_contained"]
    search_fields = ["name", "note"]

    def get_actions(self, request):
        return _without_bulk_delete(super().get_actions(request))

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit_record(
            org=None,
            actor=request.user,
            action="compliance.protected_sender_changed" if change else "compliance.protected_sender_added",
            target=obj,
            data={"name": obj.name, "match_contained": obj.match_contained, "note": obj.note},
        )

    def delete_model(self, request, obj):
        audit_record(
            org=None,
            actor=request.user,
            action="compliance.protected_sender_deleted",
            target=obj,
            data={"name": obj.name},
        )
        super().delete_model(request, obj)
