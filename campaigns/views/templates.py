"""Saved messages: the list, the save from the composer or this page, the delete."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.generic import TemplateView, View

from campaigns import selectors, services
from campaigns.forms import TemplateForm
from campaigns.models import Template
from smsplatform.tenancy import OrgObjectMixin, OrgPageMixin


class TemplatesView(OrgPageMixin, TemplateView):
    """Saved messages: the list, and the save from the composer (htmx) or from this page."""

    template_name = "campaigns/ui/templates.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["templates"] = selectors.org_templates(self.org)[:500]
        ctx.setdefault("form", TemplateForm())
        return ctx

    def post(self, request):
        form = TemplateForm(request.POST)
        htmx = bool(request.headers.get("HX-Request"))
        if form.is_valid():
            try:
                template = services.template_create(
                    org=self.org,
                    actor=request.user,
                    name=form.cleaned_data["name"],
                    body=form.cleaned_data["body"],
                )
            except ValidationError as exc:
                for key, errors in exc.message_dict.items():
                    form.add_error(key if key in form.fields else None, errors)
            else:
                if htmx:
                    return render(request, "campaigns/ui/_template_saved.html", {"template": template})
                messages.success(request, _("Template saved."))
                return redirect("campaigns:templates")
        if htmx:
            return render(request, "campaigns/ui/_template_saved.html", {"form": form}, status=400)
        return self.render_to_response(self.get_context_data(form=form), status=400)


class TemplateDeleteView(OrgObjectMixin, View):
    model = Template

    def post(self, request, pk):
        template = self.get_object()
        services.template_delete(org=self.org, actor=request.user, template=template)
        messages.success(request, _("Template deleted."))
        return redirect("campaigns:templates")
