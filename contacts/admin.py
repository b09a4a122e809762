"""Admin of contacts (operators, across organisations). Imports and exports go through ContactResource,
which is bound to one organisation: the import form asks which one."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from import_export.admin import ImportExportModelAdmin
from import_export.forms import ConfirmImportForm, ExportForm, ImportForm

from smsplatform.models import Organisation

from .models import ConsentProof, Contact, ContactList, ImportJob, OptInForm, Segment
from .resources import ContactResource
from .services import optin_form_daily_cap_set


class OrgImportForm(ImportForm):
    org = forms.ModelChoiceField(queryset=Organisation.objects.order_by("name"), required=True)


class OrgConfirmImportForm(ConfirmImportForm):
    """The confirmation step re-creates the resource: without the organisation carried over, the rows
    previewed for one shop would be saved with none."""

    org = forms.ModelChoiceField(queryset=Organisation.objects.all(), required=True, widget=forms.HiddenInput)


class OrgExportForm(ExportForm):
    org = forms.ModelChoiceField(queryset=Organisation.objects.order_by("name"), required=True)


@admin.register(Contact)
class ContactAdmin(ImportExportModelAdmin):
    resource_classes = [ContactResource]
    import_form_class = OrgImportForm
    confirm_form_class = OrgConfirmImportForm
    export_form_class = OrgExportForm
    list_display = ["phone", "first_name", "last_name", "org", "consent_basis", "opted_out", "created_at"]
    list_filter = ["opted_out", "consent_basis"]
    list_select_related = ["org"]
    search_fields = ["phone", "last_name"]
    raw_id_fields = ["org"]
    readonly_fields = ["opted_out", "region", "timezone", "calendar", "created_at", "updated_at"]
    show_full_result_count = False

    def get_import_resource_kwargs(self, request, **kwargs):
        form = kwargs.get("form")
        org = form.cleaned_data.get("org") if form is not None and hasattr(form, "cleaned_data") else None
        return {**super().get_import_resource_kwargs(request, **kwargs), "org": org}

    def get_confirm_form_initial(self, request, import_form):
        initial = super().get_confirm_form_initial(request, import_form)
        if import_form is not None:
            initial["org"] = import_form.cleaned_data["org"].pk
        return initial

    def get_export_resource_kwargs(self, request, **kwargs):
        form = kwargs.get("export_form")
        org = form.cleaned_data.get("org") if form is not None and hasattr(form, "cleaned_data") else None
        return {**super().get_export_resource_kwargs(request, **kwargs), "org": org}


@admin.register(ContactList)
class ContactListAdmin(admin.ModelAdmin):
    list_display = ["name", "org", "created_at"]
    list_select_related = ["org"]


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ["name", "org", "updated_at"]
    list_select_related = ["org"]


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = [
        "original_filename",
        "org",
        "status",
        "processed_rows",
        "created",
        "updated",
        "invalid",
        "created_at",
    ]
    list_filter = ["status"]
    list_select_related = ["org"]
    readonly_fields = [f.name for f in ImportJob._meta.fields]


@admin.register(ConsentProof)
class ConsentProofAdmin(admin.ModelAdmin):
    list_display = ["contact", "basis", "source", "collected_at", "org"]
    list_select_related = ["org", "contact"]
    raw_id_fields = ["contact", "org"]


@admin.register(OptInForm)
class OptInFormAdmin(admin.ModelAdmin):
    """The operator sets how many codes a shop's public form may send a day; the shop edits the rest."""

    list_display = ["org", "enabled", "daily_cap", "cap_alerted_on", "updated_at"]
    list_filter = ["enabled"]
    list_select_related = ["org"]
    search_fields = ["org__name", "org__slug"]
    fields = ["org", "enabled", "countries", "daily_cap", "cap_alerted_on"]
    readonly_fields = ["org", "enabled", "countries", "cap_alerted_on"]

    def has_add_permission(self, request) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        # Through the service, so that the change is audited in the organisation's log.
        optin_form_daily_cap_set(org=obj.org, actor=request.user, daily_cap=form.cleaned_data["daily_cap"])
