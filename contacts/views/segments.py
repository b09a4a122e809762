"""Segment pages: the saved segments, their form with its live count, deletion."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from smsplatform.tenancy import OrgPageMixin, get_org_object_or_404
from smsplatform.views import apply_validation_error

from .. import forms, selectors, services
from ..models import Segment
from ._common import OrgObjectActionView


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


class SegmentDeleteView(OrgObjectActionView):
    tenant_model = Segment
    success_url = "contacts:segments"

    def act(self, segment: Segment) -> str:
        services.segment_delete(org=self.org, actor=self.request.user, segment=segment)
        return _("Segment deleted.")
