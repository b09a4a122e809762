"""The owner's page of the public opt-in form: its wording, list, countries and on/off switch."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.generic import TemplateView

from smsplatform.tenancy import OrgPageMixin
from smsplatform.views import apply_validation_error

from .. import forms, services
from .public_optin import codes_per_number, public_url


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
        ctx["codes_per_number"] = codes_per_number()
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
