"""Contact pages: the list and its bulk actions, the CSV export, a contact's page, form, opt-out, GDPR
requests and deletion."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from campaigns.selectors import contact_messages
from compliance.selectors import suppression_list
from smsplatform.tenancy import OrgPageMixin, get_org_object_or_404
from smsplatform.views import apply_validation_error

from .. import forms, selectors, services
from ..models import ConsentBasis, Contact
from ..resources import export_csv_lines
from ._common import OrgObjectActionView, bool_param, paginate_without_count


class ContactListView(OrgPageMixin, TemplateView):
    template_name = "contacts/list.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        params = self.request.GET
        filters = {
            "search": params.get("q", "").strip(),
            "tag": params.get("tag", "").strip(),
            "list_id": params.get("list") or None,
            "opted_out": bool_param(params.get("opted_out")),
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
            opted_out=bool_param(params.get("opted_out")),
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


class ContactOptOutView(OrgObjectActionView):
    tenant_model = Contact

    def act(self, contact: Contact) -> str:
        services.optout_add(org=self.org, actor=self.request.user, phone=contact.phone, source="manual")
        return _("This number will no longer receive marketing SMS.")

    def get_success_url(self, contact: Contact) -> str:
        return reverse("contacts:detail", kwargs={"pk": contact.pk})


class ContactGdprExportView(OrgPageMixin, View):
    tenant_model = Contact
    required_capability = "manage"

    def get(self, request, pk):
        contact = get_org_object_or_404(Contact, self.org, pk=pk)
        data = services.contact_access_export(org=self.org, actor=request.user, contact=contact)
        response = JsonResponse(data, json_dumps_params={"ensure_ascii": False, "indent": 2})
        response["Content-Disposition"] = f'attachment; filename="contact-{contact.pk}-data.json"'
        return response


class ContactGdprEraseView(OrgObjectActionView):
    tenant_model = Contact
    required_capability = "manage"
    success_url = "contacts:list"

    def act(self, contact: Contact) -> str:
        services.contact_erase(org=self.org, actor=self.request.user, contact=contact)
        return _("The contact's personal data was erased. Its opt-out, if any, is kept.")


class ContactDeleteView(OrgObjectActionView):
    tenant_model = Contact
    success_url = "contacts:list"

    def act(self, contact: Contact) -> str:
        services.contact_delete(org=self.org, actor=self.request.user, contact=contact)
        return _("Contact deleted.")
