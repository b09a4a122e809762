"""The pages allauth does not have: the sign-up with an invitation, the invitation link itself, and the
"send the verification email again" button of the dashboard."""

from __future__ import annotations

from allauth.account import views as allauth_views
from allauth.account.internal.flows.email_verification import send_verification_email_to_address
from allauth.account.models import EmailAddress
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views import View

from smsplatform import services
from smsplatform.middleware import SESSION_ORG_KEY
from smsplatform.models import Invitation, User

from .signup import INVITATION_SESSION_KEY


def invitation_in_session(request) -> Invitation | None:
    token = request.session.get(INVITATION_SESSION_KEY)
    return services.invitation_find(token) if token else None


class SignupView(allauth_views.SignupView):
    """allauth's sign-up, in one transaction with what it creates (organisation, credits, membership),
    and in "invitation" mode when the visitor came from an invitation link."""

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["invitation"] = invitation_in_session(self.request)
        return kwargs

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["invitation"] = ctx["form"].invitation
        return ctx

    def form_valid(self, form):
        try:
            with transaction.atomic():
                return super().form_valid(form)
        except ValidationError as exc:
            form.add_error(None, exc.messages)
            return self.form_invalid(form)


class InvitationAcceptView(View):
    """The link of an invitation email. A visitor without an account goes on to the sign-up (the address
    is the invited one, already proven by this link), one with an account to the log-in; once logged in
    with the invited address, one button joins the organisation."""

    template_name = "registration/invitation.html"

    def _render(self, request, invitation, status=200, **extra):
        return render(request, self.template_name, {"invitation": invitation, **extra}, status=status)

    def get(self, request, token):
        invitation = services.invitation_find(token)
        if invitation is None:
            return self._render(request, None, status=404)
        if not request.user.is_authenticated:
            request.session[INVITATION_SESSION_KEY] = token
            # allauth's sign-up marks this address verified: the invitation was sent to it.
            request.session["account_verified_email"] = invitation.email
        here = request.path
        return self._render(
            request,
            invitation,
            signup_url=reverse("account_signup"),
            login_url=f"{reverse('account_login')}?{urlencode({'next': here})}",
            other_user=request.user.is_authenticated
            and request.user.email.lower() != invitation.email.lower(),
        )

    def post(self, request, token):
        invitation = services.invitation_find(token)
        if invitation is None:
            return self._render(request, None, status=404)
        if not request.user.is_authenticated:
            return redirect(request.path)
        try:
            membership = services.invitation_accept(invitation=invitation, user=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("dashboard")
        request.session.pop(INVITATION_SESSION_KEY, None)
        # Following the invitation's link proves the address: the same as allauth's verification.
        EmailAddress.objects.filter(user=request.user, email__iexact=invitation.email).update(verified=True)
        request.session[SESSION_ORG_KEY] = membership.org_id
        messages.success(request, _("You joined %(org)s.") % {"org": membership.org.name})
        return redirect("dashboard")


class ResendVerificationView(LoginRequiredMixin, View):
    """The dashboard's "send the email again" button (allauth rate-limits it per address)."""

    http_method_names = ["post"]

    def post(self, request):
        user: User = request.user
        address = EmailAddress.objects.filter(user=user, verified=False, primary=True).first()
        if address is None:
            messages.info(request, _("Your email address is already confirmed."))
        elif send_verification_email_to_address(request, address):
            messages.success(
                request, _("We sent the email again to %(email)s. Open its link.") % {"email": address.email}
            )
        else:
            messages.warning(
                request,
                _("An email was sent to %(email)s a moment ago: wait a few minutes before asking again.")
                % {"email": address.email},
            )
        return redirect("dashboard")
