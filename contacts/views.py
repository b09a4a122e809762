"""Pages of step 1, "J'importe mes contacts": contacts, lists, segments, the import wizard, opt-outs,
GDPR requests and the public opt-in form. Views validate a form, call a service and render."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from campaigns.selectors import contact_messages
from compliance.selectors import suppression_list
from smsplatform.client_ip import address_bucket, client_ip
from smsplatform.models import Organisation
from smsplatform.tenancy import OrgPageMixin, get_org_object_or_404
from smsplatform.views import apply_validation_error

from . import forms, jobs, selectors, services
from .importing.errors import ImportFileError
from .importing.rows import ROW_ERROR_MESSAGES
from .models import ConsentBasis, Contact, ContactList, ImportJob, Segment
from .optin_challenge import challenge_create
from .resources import export_csv_lines

PAGE_SIZE = 50
DRAFTS_KEY = "contacts_import_drafts"


def paginate_without_count(queryset, request, size: int = PAGE_SIZE) -> dict[str, Any]:
    """One page of a queryset and whether another follows, fetching ``size + 1`` rows: never a
    ``COUNT(*)`` over a million contacts."""
    try:
        number = max(1, int(request.GET.get("page", 1)))
    except (TypeError, ValueError):
        number = 1
    rows = list(queryset[(number - 1) * size : number * size + 1])
    query = request.GET.copy()
    query.pop("page", None)
    return {
        "rows": rows[:size],
        "number": number,
        "has_next": len(rows) > size,
        "has_previous": number > 1,
        "query": query.urlencode(),
    }


def _bool(value: str | None) -> bool | None:
    return {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}.get(
        (value or "").lower()
    )


# --- contacts -----------------------------------------------------------------------------------------


class ContactListView(OrgPageMixin, TemplateView):
    template_name = "contacts/list.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        params = self.request.GET
        filters = {
            "search": params.get("q", "").strip(),
            "tag": params.get("tag", "").strip(),
            "list_id": params.get("list") or None,
            "opted_out": _bool(params.get("opted_out")),
        }
        qs = selectors.with_tags(selectors.contacts_filtered(self.org, **filters))
        ctx["page"] = paginate_without_count(qs, self.request)
        ctx["filters"] = {**filters, "opted_out": params.get("opted_out", "")}
        ctx["lists"] = list(selectors.org_lists(self.org))
        ctx["tags"] = list(selectors.org_tags(self.org).values_list("name", flat=True)[:200])
        ctx["export_query"] = params.urlencode()
        return ctx


class ContactBulkView(OrgPageMixin, View):
    """Bulk actions on the selected contacts (add to a list, tag, delete), confirmed in the page."""

    def post(self, request):
        form = forms.BulkActionForm(request.POST, org=self.org)
        back = request.POST.get("next") or reverse("contacts:list")
        if not back.startswith("/contacts/"):
            back = reverse("contacts:list")
        if not form.is_valid():
            messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
            return redirect(back)
        ids = form.cleaned_data["contact"]
        action = form.cleaned_data["action"]
        try:
            if action == "add_to_list":
                n = services.contacts_add_to_list(
                    org=self.org,
                    actor=request.user,
                    contact_list=form.cleaned_data["contact_list"],
                    contact_ids=ids,
                )
                messages.success(request, _("%(n)s contacts added to the list.") % {"n": n})
            elif action == "tag":
                n = services.contacts_tag(
                    org=self.org, actor=request.user, contact_ids=ids, tags=[form.cleaned_data["tag"]]
                )
                messages.success(request, _("%(n)s contacts tagged.") % {"n": n})
            else:
                n = services.contacts_delete(org=self.org, actor=request.user, contact_ids=ids)
                messages.success(request, _("%(n)s contacts deleted.") % {"n": n})
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return redirect(back)


class ContactExportView(OrgPageMixin, View):
    """CSV for Excel (UTF-8 with BOM, ``;``) of all contacts or the current filter, streamed; formulas
    are neutralised by the resource's export."""

    def get(self, request):
        params = request.GET
        qs = selectors.contacts_filtered(
            self.org,
            search=params.get("q", ""),
            tag=params.get("tag", ""),
            list_id=params.get("list") or None,
            opted_out=_bool(params.get("opted_out")),
        )
        response = StreamingHttpResponse(
            export_csv_lines(qs.order_by("id")), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="contacts-{timezone.localdate():%Y%m%d}.csv"'
        return response


def _contact_form_initial(contact: Contact) -> dict[str, Any]:
    return {
        "phone": contact.phone,
        **{name: getattr(contact, name) for name in services.EDITABLE_FIELDS},
        "tags": ", ".join(selectors.tag_names(contact)),
        "consent_basis": contact.consent_basis,
    }


class ContactCreateView(OrgPageMixin, TemplateView):
    template_name = "contacts/form.html"
    required_capability = "write"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx.setdefault("form", forms.ContactForm())
        return ctx

    def post(self, request):
        form = forms.ContactForm(request.POST)
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                contact = services.contact_create(
                    org=self.org,
                    actor=request.user,
                    **data,
                    consent_source="manual" if data["consent_basis"] != ConsentBasis.UNKNOWN else "",
                )
            except ValidationError as exc:
                apply_validation_error(form, exc)
            else:
                messages.success(request, _("Contact created."))
                return redirect("contacts:detail", pk=contact.pk)
        return self.render_to_response(self.get_context_data(form=form), status=400)


class ContactDetailView(OrgPageMixin, TemplateView):
    tenant_model = Contact
    template_name = "contacts/detail.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        contact = selectors.contact_detail(self.org, kwargs["pk"])
        if contact is None:
            raise Http404
        ctx["contact"] = contact
        ctx["tags"] = selectors.tag_names(contact)
        ctx["contact_lists"] = selectors.contact_lists_of(self.org, contact)
        ctx["proofs"] = selectors.contact_consent_history(self.org, contact)[:100]
        ctx["suppression"] = suppression_list(self.org).filter(phone_e164=contact.phone).first()
        ctx["sms_messages"] = contact_messages(self.org, contact.pk)
        return ctx


class ContactEditView(OrgPageMixin, TemplateView):
    tenant_model = Contact
    template_name = "contacts/form.html"
    required_capability = "write"

    def _contact(self, pk) -> Contact:
        return get_org_object_or_404(Contact, self.org, pk=pk)

    def get(self, request, pk):
        contact = self._contact(pk)
        form = forms.ContactForm(initial=_contact_form_initial(contact))
        return self.render_to_response(self.get_context_data(form=form, contact=contact))

    def post(self, request, pk):
        contact = self._contact(pk)
        form = forms.ContactForm(request.POST)
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                services.contact_update(org=self.org, actor=request.user, contact=contact, **data)
            except ValidationError as exc:
                apply_validation_error(form, exc)
            else:
                messages.success(request, _("Contact saved."))
                return redirect("contacts:detail", pk=contact.pk)
        return self.render_to_response(self.get_context_data(form=form, contact=contact), status=400)


class ContactOptOutView(OrgPageMixin, View):
    tenant_model = Contact

    def post(self, request, pk):
        contact = get_org_object_or_404(Contact, self.org, pk=pk)
        services.optout_add(org=self.org, actor=request.user, phone=contact.phone, source="manual")
        messages.success(request, _("This number will no longer receive marketing SMS."))
        return redirect("contacts:detail", pk=contact.pk)


class ContactGdprExportView(OrgPageMixin, View):
    tenant_model = Contact
    required_capability = "manage"

    def get(self, request, pk):
        contact = get_org_object_or_404(Contact, self.org, pk=pk)
        data = services.contact_access_export(org=self.org, actor=request.user, contact=contact)
        response = JsonResponse(data, json_dumps_params={"ensure_ascii": False, "indent": 2})
        response["Content-Disposition"] = f'attachment; filename="contact-{contact.pk}-data.json"'
        return response


class ContactGdprEraseView(OrgPageMixin, View):
    tenant_model = Contact
    required_capability = "manage"

    def post(self, request, pk):
        contact = get_org_object_or_404(Contact, self.org, pk=pk)
        services.contact_erase(org=self.org, actor=request.user, contact=contact)
        messages.success(request, _("The contact's personal data was erased. Its opt-out, if any, is kept."))
        return redirect("contacts:list")


class ContactDeleteView(OrgPageMixin, View):
    tenant_model = Contact

    def post(self, request, pk):
        contact = get_org_object_or_404(Contact, self.org, pk=pk)
        services.contact_delete(org=self.org, actor=request.user, contact=contact)
        messages.success(request, _("Contact deleted."))
        return redirect("contacts:list")


# --- lists ----------------------------------------------------------------------------------------------


class ListsView(OrgPageMixin, TemplateView):
    template_name = "contacts/lists.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx.setdefault("form", forms.ContactListForm())
        ctx["lists"] = selectors.org_lists_with_counts(self.org)
        return ctx

    def post(self, request):
        form = forms.ContactListForm(request.POST)
        if form.is_valid():
            try:
                services.contact_list_create(org=self.org, actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                apply_validation_error(form, exc)
            else:
                messages.success(request, _("List created."))
                return redirect("contacts:lists")
        return self.render_to_response(self.get_context_data(form=form), status=400)


class ListDetailView(OrgPageMixin, View):
    tenant_model = ContactList

    def get(self, request, pk):
        contact_list = get_org_object_or_404(ContactList, self.org, pk=pk)
        return redirect(f"{reverse('contacts:list')}?list={contact_list.pk}")


class ListDeleteView(OrgPageMixin, View):
    tenant_model = ContactList

    def post(self, request, pk):
        contact_list = get_org_object_or_404(ContactList, self.org, pk=pk)
        services.contact_list_delete(org=self.org, actor=request.user, contact_list=contact_list)
        messages.success(request, _("List deleted; its contacts are kept."))
        return redirect("contacts:lists")


# --- segments -------------------------------------------------------------------------------------------


class SegmentsView(OrgPageMixin, TemplateView):
    template_name = "contacts/segments.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["segments"] = selectors.org_segments(self.org)
        return ctx


class SegmentEditView(OrgPageMixin, TemplateView):
    tenant_model = Segment
    template_name = "contacts/segment_form.html"

    def _segment(self) -> Segment | None:
        pk = self.kwargs.get("pk")
        return get_org_object_or_404(Segment, self.org, pk=pk) if pk else None

    def get(self, request, pk=None):
        segment = self._segment()
        initial = forms.SegmentForm.initial_from(segment) if segment else {}
        form = forms.SegmentForm(initial=initial, org=self.org)
        count = selectors.segment_count(self.org, segment.filters) if segment else None
        return self.render_to_response(self.get_context_data(form=form, segment=segment, count=count))

    def post(self, request, pk=None):
        segment = self._segment()
        form = forms.SegmentForm(request.POST, org=self.org)
        if form.is_valid():
            try:
                if segment is None:
                    services.segment_create(
                        org=self.org,
                        actor=request.user,
                        name=form.cleaned_data["name"],
                        filters=form.filters(),
                    )
                else:
                    services.segment_update(
                        org=self.org,
                        actor=request.user,
                        segment=segment,
                        name=form.cleaned_data["name"],
                        filters=form.filters(),
                    )
            except ValidationError as exc:
                apply_validation_error(form, exc)
            else:
                messages.success(request, _("Segment saved."))
                return redirect("contacts:segments")
        return self.render_to_response(self.get_context_data(form=form, segment=segment), status=400)


class SegmentCountView(OrgPageMixin, View):
    """The live count while a segment is edited (htmx, on every change of the form)."""

    required_capability = "read"

    def post(self, request):
        form = forms.SegmentForm(request.POST, org=self.org)
        count, error = None, ""
        if form.is_valid():
            try:
                filters = services.segment_filters_clean(org=self.org, filters=form.filters())
                count = selectors.segment_count(self.org, filters)
            except ValidationError as exc:
                error = " ".join(exc.messages)
        else:
            error = _("Check the filters.")
        return render(request, "contacts/_segment_count.html", {"count": count, "error": error})


class SegmentDeleteView(OrgPageMixin, View):
    tenant_model = Segment

    def post(self, request, pk):
        segment = get_org_object_or_404(Segment, self.org, pk=pk)
        services.segment_delete(org=self.org, actor=request.user, segment=segment)
        messages.success(request, _("Segment deleted."))
        return redirect("contacts:segments")


# --- import wizard --------------------------------------------------------------------------------------


class _DraftMixin:
    """The wizard's state between steps 1 and 4 lives in the session, per organisation and draft."""

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        except ImportFileError as exc:
            # Step 1 refuses the files the later steps cannot read; this catches a limit lowered since.
            messages.error(request, jobs.file_error_message(exc))
            return redirect("contacts:import")

    def drafts(self) -> dict:
        return self.request.session.setdefault(DRAFTS_KEY, {})

    def draft(self, token: str) -> dict:
        draft = self.drafts().get(token)
        if not draft or draft.get("org") != self.org.pk:
            raise Http404
        return draft

    def save_draft(self, token: str, draft: dict) -> None:
        drafts = self.drafts()
        drafts[token] = draft
        # A session keeps the last few drafts only; older uploads are abandoned.
        for old in list(drafts)[:-5]:
            jobs.import_file_discard(drafts.pop(old)["path"])
        self.request.session.modified = True


class ImportUploadView(_DraftMixin, OrgPageMixin, TemplateView):
    template_name = "contacts/import_upload.html"
    required_capability = "write"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx.setdefault("form", forms.ImportUploadForm())
        ctx["max_mb"] = f"{jobs.max_upload_bytes() / (1024 * 1024):.0f}"
        ctx["step"] = 1
        return ctx

    def post(self, request):
        form = forms.ImportUploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                path, size = jobs.import_file_store(org=self.org, fileobj=upload, filename=upload.name)
            except ValidationError as exc:
                apply_validation_error(form, exc)
            else:
                try:
                    # The rows the next steps show, so that a bad line among them is refused here.
                    jobs.import_file_inspect(path=path, filename=upload.name)
                except ImportFileError as exc:
                    jobs.import_file_discard(path)
                    form.add_error("file", jobs.file_error_message(exc))
                else:
                    token = secrets.token_urlsafe(12)
                    self.save_draft(
                        token, {"org": self.org.pk, "path": path, "filename": upload.name, "size": size,
                                "mapping": None,
                                "keep_unknown": False},
                    )  # fmt: skip
                    return redirect("contacts:import_mapping", token=token)
        return self.render_to_response(self.get_context_data(form=form), status=400)


class ImportMappingView(_DraftMixin, OrgPageMixin, TemplateView):
    tenant_model = ImportJob
    template_name = "contacts/import_mapping.html"
    required_capability = "write"

    def _form(self, draft: dict, data=None):
        preview = jobs.import_preview(
            org=self.org,
            path=draft["path"],
            filename=draft["filename"],
            mapping=draft.get("mapping"),
            keep_unknown=draft.get("keep_unknown", False),
            limit=5,
        )
        form = forms.ImportMappingForm(
            data,
            headers=preview.headers,
            field_choices=jobs.contact_fields(),
            initial_mapping=preview.mapping,
            initial={"keep_unknown_columns": draft.get("keep_unknown", False)},
        )
        return form, preview

    def _context(self, form, preview, token, draft):
        columns = []
        for index, _header in enumerate(preview.headers):
            examples = [
                r.cells[index] for r in preview.rows[:3] if index < len(r.cells) and r.cells[index].strip()
            ]
            columns.append((form[f"col_{index}"], " · ".join(e[:30] for e in examples)))
        return self.get_context_data(
            form=form, preview=preview, token=token, draft=draft, step=2, columns=columns
        )

    def get(self, request, token):
        draft = self.draft(token)
        form, preview = self._form(draft)
        return self.render_to_response(self._context(form, preview, token, draft))

    def post(self, request, token):
        draft = self.draft(token)
        form, preview = self._form(draft, request.POST)
        if form.is_valid():
            mapping = form.mapping()
            keep = form.cleaned_data["keep_unknown_columns"]
            if keep:
                mapping = {h: (v or jobs.ATTRIBUTE) for h, v in mapping.items()}
            try:
                jobs.mapping_clean(preview.headers, mapping, keep_unknown=keep)
            except ValidationError as exc:
                form.add_error(None, exc.messages)
            else:
                draft.update(mapping=mapping, keep_unknown=keep)
                self.save_draft(token, draft)
                return redirect("contacts:import_preview", token=token)
        return self.render_to_response(self._context(form, preview, token, draft), status=400)


class ImportPreviewView(_DraftMixin, OrgPageMixin, TemplateView):
    tenant_model = ImportJob
    template_name = "contacts/import_preview.html"
    required_capability = "write"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        draft = self.draft(kwargs["token"])
        preview = jobs.import_preview(
            org=self.org,
            path=draft["path"],
            filename=draft["filename"],
            mapping=draft.get("mapping"),
            keep_unknown=draft.get("keep_unknown", False),
            limit=20,
        )
        fields = dict(jobs.contact_fields())
        columns = [
            (header, preview.mapping.get(header, ""), fields.get(preview.mapping.get(header, ""), ""))
            for header in preview.headers
        ]
        rows = []
        for row in preview.rows:
            if row.error:
                problem = row.message
            elif row.number in preview.duplicate_numbers:
                problem = _("Duplicate: this number is already earlier in the file")
            elif row.phone in preview.suppressed:
                problem = _("Opted out: this number asked not to receive SMS")
            else:
                problem = ""
            rows.append({"number": row.number, "cells": row.cells, "phone": row.phone, "problem": problem})
        ctx.update(preview=preview, columns=columns, rows=rows, draft=draft, token=kwargs["token"], step=3)
        return ctx


class ImportConsentView(_DraftMixin, OrgPageMixin, TemplateView):
    tenant_model = ImportJob
    template_name = "contacts/import_consent.html"
    required_capability = "write"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx.setdefault("form", forms.ImportConsentForm(org=self.org))
        ctx["draft"] = self.draft(kwargs["token"])
        ctx["token"] = kwargs["token"]
        ctx["step"] = 4
        return ctx

    def post(self, request, token):
        draft = self.draft(token)
        form = forms.ImportConsentForm(request.POST, org=self.org)
        if form.is_valid():
            data = form.cleaned_data
            try:
                job = jobs.import_job_create(
                    org=self.org,
                    actor=request.user,
                    path=draft["path"],
                    original_filename=draft["filename"],
                    file_size=draft["size"],
                    consent_basis=data["consent_basis"],
                    consent_source=data["consent_source"],
                    mapping=draft.get("mapping"),
                    keep_unknown_columns=draft.get("keep_unknown", False),
                    contact_list=data.get("contact_list"),
                    list_name=data.get("list_name", ""),
                    tags=data.get("tags", []),
                )
            except ValidationError as exc:
                apply_validation_error(form, exc)
            else:
                self.drafts().pop(token, None)
                request.session.modified = True
                return redirect("contacts:import_job", pk=job.pk)
        return self.render_to_response(self.get_context_data(form=form, token=token), status=400)


class ImportJobView(OrgPageMixin, TemplateView):
    """Step 5: the progress bar (polled with htmx) and, at the end, the report."""

    tenant_model = ImportJob

    template_name = "contacts/import_job.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        job = get_org_object_or_404(
            ImportJob.objects.select_related("contact_list"), self.org, pk=kwargs["pk"]
        )
        ctx["job"] = job
        ctx["step"] = 5
        ctx["reasons"] = _reason_rows(job)
        return ctx

    def get_template_names(self):
        if self.request.headers.get("HX-Request"):
            return ["contacts/_import_progress.html"]
        return [self.template_name]


def _reason_rows(job: ImportJob) -> list[tuple[str, int]]:
    return sorted(
        ((str(ROW_ERROR_MESSAGES.get(code, code)), n) for code, n in (job.invalid_by_reason or {}).items()),
        key=lambda item: -item[1],
    )


class ImportRejectedView(OrgPageMixin, View):
    tenant_model = ImportJob

    def get(self, request, pk):
        job = get_org_object_or_404(ImportJob, self.org, pk=pk)
        path = jobs.rejected_rows_file(job)
        if path is None:
            raise Http404
        return FileResponse(
            open(path, "rb"),  # noqa: SIM115 - closed by the response
            as_attachment=True,
            filename=f"rejected-{job.pk}.csv",
            content_type="text/csv; charset=utf-8",
        )


class ImportResumeView(OrgPageMixin, View):
    tenant_model = ImportJob

    def post(self, request, pk):
        job = get_org_object_or_404(ImportJob, self.org, pk=pk)
        try:
            jobs.import_job_resume(org=self.org, actor=request.user, job=job)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return redirect("contacts:import_job", pk=job.pk)


class ImportsView(OrgPageMixin, TemplateView):
    template_name = "contacts/imports.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["page"] = paginate_without_count(selectors.org_import_jobs(self.org), self.request, size=20)
        return ctx


# --- opt-outs -------------------------------------------------------------------------------------------


class OptOutsView(OrgPageMixin, TemplateView):
    template_name = "contacts/optouts.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx.setdefault("form", forms.OptOutForm())
        ctx["page"] = paginate_without_count(suppression_list(self.org), self.request)
        return ctx

    def post(self, request):
        form = forms.OptOutForm(request.POST)
        if form.is_valid():
            try:
                services.optout_add(
                    org=self.org, actor=request.user, phone=form.cleaned_data["phone"], source="manual"
                )
            except ValidationError as exc:
                apply_validation_error(form, exc)
            else:
                messages.success(request, _("The number is opted out."))
                return redirect("contacts:optouts")
        return self.render_to_response(self.get_context_data(form=form), status=400)


# --- public opt-in form -----------------------------------------------------------------------------------


class OptInSettingsView(OrgPageMixin, TemplateView):
    template_name = "contacts/optin_settings.html"

    def dispatch(self, request, *args, **kwargs):
        self.required_capability = "read" if request.method == "GET" else "manage"
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        optin = services.optin_form_get(org=self.org)
        ctx.setdefault(
            "form",
            forms.OptInSettingsForm(
                initial={"title": optin.title, "wording": optin.wording,
                         "contact_list": optin.contact_list_id, "countries": ", ".join(optin.countries)},
                org=self.org,
            ),
        )  # fmt: skip
        ctx["optin"] = optin
        ctx["optin_countries"] = ", ".join(optin.countries or services.optin_default_countries(self.org))
        ctx["codes_per_number"] = _codes_per_number()
        ctx["public_url"] = self.request.build_absolute_uri(public_url("optin", self.org.slug))
        return ctx

    def post(self, request):
        if "toggle" in request.POST:
            toggle = forms.OptInToggleForm(request.POST)
            if not toggle.is_valid():
                messages.error(request, _("Choose whether the form is online or offline."))
                return self.render_to_response(self.get_context_data(), status=400)
            enabled = toggle.cleaned_data["toggle"] == "on"
            services.optin_form_set_enabled(org=self.org, actor=request.user, enabled=enabled)
            messages.success(
                request,
                _("The opt-in form is online.") if enabled else _("The opt-in form is offline."),
            )
            return redirect("contacts:optin_settings")
        form = forms.OptInSettingsForm(request.POST, org=self.org)
        if form.is_valid():
            try:
                services.optin_form_update(org=self.org, actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                apply_validation_error(form, exc)
            else:
                messages.success(request, _("Opt-in form saved."))
                return redirect("contacts:optin_settings")
        return self.render_to_response(self.get_context_data(form=form), status=400)


def public_url(name: str, *args) -> str:
    """The public form's URL: at the root (``/f/<slug>/``) once included there, else under /contacts/."""
    from django.urls import NoReverseMatch

    try:
        return reverse(f"contacts_public:{name}", args=args)
    except NoReverseMatch:
        return reverse(f"contacts:public_{name}", args=args)


def _client_ip(request) -> str | None:
    # Behind the proxies of settings.TRUSTED_PROXIES, REMOTE_ADDR is the proxy: one bucket for everyone.
    return client_ip(request) or None


def _rate_limited(request, scope: str, limit: int, seconds: int = 3600) -> bool:
    """A fixed-window counter per client address in the cache: the public form must not become an SMS
    cannon."""
    key = f"contacts:optin:{scope}:{address_bucket(_client_ip(request) or '') or 'unknown'}"
    if cache.add(key, 1, seconds):
        return limit < 1
    try:
        count = cache.incr(key)
    except ValueError:
        cache.set(key, 1, seconds)
        return limit < 1
    return count > limit


def _hourly_limit() -> int:
    return int(settings.OPTIN_RATE_LIMIT_PER_HOUR)


def _codes_per_number() -> int:
    return int(settings.OPTIN_CODES_PER_NUMBER_PER_DAY)


def _public_org(slug: str) -> Organisation:
    org = Organisation.objects.filter(slug=slug).first()
    if org is None:
        raise Http404
    return org


def _open_optin(slug: str):
    """The organisation and its form, or 404 while the owner has not put the form online."""
    org = _public_org(slug)
    optin = services.optin_form_get(org=org)
    if not optin.enabled:
        raise Http404
    return org, optin


class PublicOptInView(View):
    """``/f/<slug>/``: phone, first name and an unticked consent box with the organisation's wording, and
    the proof-of-work widget."""

    template_name = "public/optin.html"

    def _context(self, org, form, optin):
        return {
            "org": org,
            "form": form,
            "optin": optin,
            "challenge_url": public_url("optin_challenge", org.slug),
        }

    def get(self, request, slug):
        org, optin = _open_optin(slug)
        return render(request, self.template_name, self._context(org, forms.PublicOptInForm(org=org), optin))

    def post(self, request, slug):
        org, optin = _open_optin(slug)
        form = forms.PublicOptInForm(request.POST, org=org)
        if _rate_limited(request, "request", _hourly_limit()):
            form.is_valid()
            form.add_error(None, _("Too many attempts from your connection. Please try again later."))
            return render(request, self.template_name, self._context(org, form, optin), status=429)
        if form.is_valid():
            if form.cleaned_data.get("website"):
                return redirect(public_url("optin", slug))
            try:
                pending = services.optin_request(
                    org=org,
                    phone=form.cleaned_data["phone"],
                    first_name=form.cleaned_data["first_name"],
                    ip_address=_client_ip(request),
                )
            except ValidationError as exc:
                apply_validation_error(form, exc)
            else:
                return redirect(public_url("optin_confirm", slug, pending.token))
        return render(request, self.template_name, self._context(org, form, optin), status=400)


class PublicOptInChallengeView(View):
    """``/f/<slug>/challenge/``: a fresh proof-of-work challenge for the widget of an open form (JSON)."""

    def get(self, request, slug):
        org, _optin = _open_optin(slug)
        if _rate_limited(request, "challenge", _hourly_limit() * 6):
            response = JsonResponse({"error": _("Too many attempts. Please try again later.")}, status=429)
        else:
            response = JsonResponse(challenge_create(org=org))
        response["Cache-Control"] = "no-store"
        return response


class PublicOptInConfirmView(View):
    template_name = "public/optin_confirm.html"

    def get(self, request, slug, token):
        org = _public_org(slug)
        return render(request, self.template_name, {"org": org, "form": forms.PublicOptInCodeForm()})

    def post(self, request, slug, token):
        org = _public_org(slug)
        form = forms.PublicOptInCodeForm(request.POST)
        if _rate_limited(request, "confirm", _hourly_limit() * 3):
            form.is_valid()
            form.add_error(None, _("Too many attempts from your connection. Please try again later."))
            return render(request, self.template_name, {"org": org, "form": form}, status=429)
        if form.is_valid():
            try:
                services.optin_confirm(
                    org=org, token=token, code=form.cleaned_data["code"], ip_address=_client_ip(request)
                )
            except ValidationError as exc:
                apply_validation_error(form, exc)
            else:
                return render(request, "public/optin_done.html", {"org": org})
        return render(request, self.template_name, {"org": org, "form": form}, status=400)
