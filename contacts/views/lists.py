"""Static list pages: the lists, one list's contacts, deletion."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from smsplatform.tenancy import OrgPageMixin, get_org_object_or_404
from smsplatform.views import apply_validation_error

from .. import forms, selectors, services
from ..models import ContactList
from ._common import OrgObjectActionView


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


class ListDeleteView(OrgObjectActionView):
    tenant_model = ContactList
    success_url = "contacts:lists"

    def act(self, contact_list: ContactList) -> str:
        services.contact_list_delete(org=self.org, actor=self.request.user, contact_list=contact_list)
        return _("List deleted; its contacts are kept.")
