"""The opt-out page: the suppression list and a manual opt-out."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.generic import TemplateView

from compliance.selectors import suppression_list
from smsplatform.tenancy import OrgPageMixin
from smsplatform.views import apply_validation_error

from .. import forms, services
from ._common import paginate_without_count


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
