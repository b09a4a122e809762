"""The import wizard (upload, mapping, preview, consent) and the import jobs' pages."""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from smsplatform.tenancy import OrgPageMixin, get_org_object_or_404
from smsplatform.views import apply_validation_error

from .. import forms, jobs, selectors
from ..downloads import rejected_rows_response
from ..importing.errors import ImportFileError
from ..importing.rows import ROW_ERROR_MESSAGES
from ..models import ImportJob
from ._common import paginate_without_count

DRAFTS_KEY = "contacts_import_drafts"


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

    def preview(self, draft: dict, limit: int):
        """The first ``limit`` rows of the draft's file, read with the mapping chosen so far."""
        return jobs.import_preview(
            org=self.org,
            path=draft["path"],
            filename=draft["filename"],
            mapping=draft.get("mapping"),
            keep_unknown=draft.get("keep_unknown", False),
            limit=limit,
        )

    def totals(self, token: str, draft: dict, *, compute: bool) -> jobs.ImportTotals | None:
        """The whole file's totals with the draft's mapping, counted once per mapping and kept in the
        draft; None when not counted yet and ``compute`` is false."""
        key = [draft.get("mapping"), draft.get("keep_unknown", False)]
        cached = draft.get("totals")
        if cached and cached.get("for") == key:
            return jobs.ImportTotals(**cached["counts"])
        if not compute:
            return None
        totals = jobs.import_totals(
            org=self.org,
            path=draft["path"],
            filename=draft["filename"],
            mapping=draft.get("mapping"),
            keep_unknown=draft.get("keep_unknown", False),
        )
        draft["totals"] = {"for": key, "counts": totals.as_dict()}
        self.save_draft(token, draft)
        return totals

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
        preview = self.preview(draft, limit=5)
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
        preview = self.preview(draft, limit=20)
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
        # Counting a large file takes a moment: the page comes at once, the totals follow (htmx).
        ctx["totals"] = self.totals(kwargs["token"], ctx["draft"], compute=False)
        ctx["recommended_basis"] = forms.ImportConsentForm.RECOMMENDED_BASIS
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
                    list_by_default=True,
                )
            except ValidationError as exc:
                apply_validation_error(form, exc)
            else:
                self.drafts().pop(token, None)
                request.session.modified = True
                return redirect("contacts:import_job", pk=job.pk)
        return self.render_to_response(self.get_context_data(form=form, token=token), status=400)


class ImportTotalsView(_DraftMixin, OrgPageMixin, TemplateView):
    """The whole file's totals before the start (step 4), as an htmx fragment."""

    tenant_model = ImportJob
    template_name = "contacts/_import_totals.html"
    required_capability = "write"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        draft = self.draft(kwargs["token"])
        try:
            ctx["totals"] = self.totals(kwargs["token"], draft, compute=True)
        except ValidationError as exc:
            ctx["totals_error"] = " ".join(exc.messages)
        return ctx


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
    """The rejected rows: ``?part=invalid`` the rows to fix, ``?part=other`` duplicates and opted-out
    numbers, none: all of them."""

    tenant_model = ImportJob

    def get(self, request, pk):
        job = get_org_object_or_404(ImportJob, self.org, pk=pk)
        return rejected_rows_response(job, part=request.GET.get("part") or None)


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
