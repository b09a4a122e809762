"""Pages of accounts and organisation settings. Views validate forms, call a service and render."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import FormView, TemplateView

from billing.payments import payments_take_real_money

from . import forms, onboarding, services
from .middleware import SESSION_ORG_KEY
from .models import ApiKey, Invitation, Membership, Role
from .selectors import (
    org_api_keys,
    org_audit_entries,
    org_members,
    org_open_invitations,
    user_email_verified,
)
from .tenancy import OrgPageMixin, get_org_object_or_404


def apply_validation_error(form, exc: ValidationError) -> None:
    """Shows a service's ValidationError on the form, field by field where it names fields."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def dashboard_widgets(request) -> list[str]:
    """Templates that other apps contribute to the dashboard (rendered only when they exist)."""
    from django.template.loader import select_template

    names = []
    # The results (last 30 days, comparison of campaigns) first: the home page is where they are read.
    for candidate in ("analytics/_dashboard.html", "contacts/_dashboard.html"):
        try:
            select_template([candidate])
            names.append(candidate)
        except Exception:  # noqa: S112 - an app without a widget is simply absent
            continue
    return names


class DashboardView(OrgPageMixin, TemplateView):
    template_name = "dashboard.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["widgets"] = dashboard_widgets(self.request)
        ctx["checklist"] = onboarding.onboarding_checklist(self.org)
        ctx["checklist_done"] = all(step["done"] for step in ctx["checklist"])
        ctx["email_unverified"] = not user_email_verified(self.request.user)
        ctx["purchases_wait"] = ctx["email_unverified"] and payments_take_real_money()
        return ctx


class NoOrganisationView(TemplateView):
    """A logged-in user who belongs to no organisation (removed from their last one)."""

    template_name = "registration/no_organisation.html"


class SwitchOrganisationView(View):
    def post(self, request):
        if not request.user.is_authenticated:
            return redirect("account_login")
        org_id = request.POST.get("org")
        if Membership.objects.filter(
            user=request.user, org_id=org_id if str(org_id).isdigit() else None
        ).exists():
            request.session[SESSION_ORG_KEY] = int(org_id)
        else:
            messages.error(request, _("You are not a member of this organisation."))
        next_url = request.POST.get("next") or reverse("dashboard")
        if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
            next_url = reverse("dashboard")
        return HttpResponseRedirect(next_url)


class OrganisationSettingsView(OrgPageMixin, FormView):
    template_name = "settings/organisation.html"
    form_class = forms.OrganisationSettingsForm

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        # An unsaved copy: the form must not mutate the organisation the request works with.
        kwargs["instance"] = type(self.org).objects.get(pk=self.org.pk)
        kwargs["actor_role"] = self.membership.role
        return kwargs

    def dispatch(self, request, *args, **kwargs):
        # Everyone may read the settings; only owners and admins change them.
        self.required_capability = "read" if request.method == "GET" else "manage"
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form):
        try:
            onboarding.organisation_settings_update(
                org=self.org, actor=self.request.user, **{f: form.cleaned_data[f] for f in form.Meta.fields}
            )
        except ValidationError as exc:
            apply_validation_error(form, exc)
            return self.form_invalid(form)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
            return self.form_invalid(form)
        messages.success(self.request, _("Settings saved."))
        return redirect("org_settings")


class MembersView(OrgPageMixin, TemplateView):
    template_name = "settings/members.html"
    required_capability = "manage"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        actor_role = self.membership.role
        ctx.setdefault("form", forms.InvitationForm(actor_role=actor_role))
        ctx["members"] = org_members(self.org)
        ctx["invitations"] = org_open_invitations(self.org)
        ctx["role_form"] = forms.MemberRoleForm(actor_role=actor_role)
        # Admins see the owners' roles but get no control over them (the service refuses anyway).
        ctx["manages_owners"] = actor_role == Role.OWNER
        return ctx

    def post(self, request):
        form = forms.InvitationForm(request.POST, actor_role=self.membership.role)
        status = 400
        if form.is_valid():
            try:
                created = services.invitation_create(
                    org=self.org,
                    actor=request.user,
                    email=form.cleaned_data["email"],
                    role=form.cleaned_data["role"],
                    base_url=request.build_absolute_uri("/"),
                )
            except PermissionDenied as exc:
                form.add_error("role", str(exc))
                status = 403
            except ValidationError as exc:
                apply_validation_error(form, exc)
            else:
                messages.success(
                    request, _("Invitation sent to %(email)s.") % {"email": created.invitation.email}
                )
                return redirect("members")
        return self.render_to_response(self.get_context_data(form=form), status=status)


class _MemberChangeView(OrgPageMixin, TemplateView):
    """A change to one member: on refusal, the members page again with the reason (403 when the role
    lacks the authority, 400 when the change would break a rule such as "keep one owner")."""

    template_name = "settings/members.html"
    required_capability = "manage"
    tenant_model = Membership
    http_method_names = ["post"]

    def refused(self, request, exc: Exception, status: int):
        messages.error(request, " ".join(getattr(exc, "messages", None) or [str(exc)]))
        members_page = MembersView(request=request, args=(), kwargs={})
        members_page.org, members_page.membership = self.org, self.membership
        return self.render_to_response(members_page.get_context_data(), status=status)

    def change(self, request, membership: Membership):
        raise NotImplementedError

    def post(self, request, pk):
        membership = get_org_object_or_404(Membership.objects.select_related("user"), self.org, pk=pk)
        try:
            self.change(request, membership)
        except PermissionDenied as exc:
            return self.refused(request, exc, 403)
        except ValidationError as exc:
            return self.refused(request, exc, 400)
        return redirect("members")


class MemberRoleView(_MemberChangeView):
    def change(self, request, membership):
        form = forms.MemberRoleForm(request.POST, actor_role=self.membership.role)
        if not form.is_valid():
            raise ValidationError(_("Unknown role."))
        services.membership_set_role(
            org=self.org, actor=request.user, membership=membership, role=form.cleaned_data["role"]
        )
        messages.success(request, _("Role updated."))


class MemberRemoveView(_MemberChangeView):
    def change(self, request, membership):
        services.membership_remove(org=self.org, actor=request.user, membership=membership)
        messages.success(request, _("%(email)s was removed.") % {"email": membership.user.email})


class InvitationRevokeView(OrgPageMixin, View):
    required_capability = "manage"
    tenant_model = Invitation

    def post(self, request, pk):
        invitation = get_org_object_or_404(Invitation, self.org, pk=pk)
        services.invitation_revoke(org=self.org, actor=request.user, invitation=invitation)
        messages.success(request, _("Invitation withdrawn."))
        return redirect("members")


class ApiKeysView(OrgPageMixin, TemplateView):
    template_name = "settings/api_keys.html"
    required_capability = "manage"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx.setdefault("form", forms.ApiKeyForm())
        ctx["api_keys"] = org_api_keys(self.org)
        return ctx

    def post(self, request):
        form = forms.ApiKeyForm(request.POST)
        created = None
        if form.is_valid():
            try:
                created = services.api_key_create(
                    org=self.org,
                    actor=request.user,
                    name=form.cleaned_data["name"],
                    role=form.cleaned_data["role"],
                )
                form = forms.ApiKeyForm()
            except ValidationError as exc:
                apply_validation_error(form, exc)
        # Rendered, not redirected: the key is shown once, in this response only.
        return self.render_to_response(self.get_context_data(form=form, created=created))


class ApiKeyRevokeView(OrgPageMixin, View):
    required_capability = "manage"
    tenant_model = ApiKey

    def post(self, request, pk):
        api_key = get_org_object_or_404(ApiKey, self.org, pk=pk)
        services.api_key_revoke(org=self.org, actor=request.user, api_key=api_key)
        messages.success(request, _("The key %(name)s is revoked.") % {"name": api_key.name})
        return redirect("api_keys")


class AuditLogView(OrgPageMixin, TemplateView):
    template_name = "settings/audit.html"
    required_capability = "manage"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        paginator = Paginator(org_audit_entries(self.org), 50)
        ctx["page"] = paginator.get_page(self.request.GET.get("page"))
        return ctx


def page_not_found(request, exception=None):
    return render(request, "404.html", status=404)


def server_error(request):
    return render(request, "500.html", status=500)
