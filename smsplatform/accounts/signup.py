"""What a sign-up creates besides the account: the owner's organisation, or the invited membership.

Called by the sign-up form inside the sign-up's transaction (``views.SignupView``), so that the account,
its organisation, the owner membership and the sign-up credits exist together or not at all. This is
wiring (it composes billing and compliance through ``smsplatform.onboarding``)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.utils import translation
from django.utils.translation import gettext as _

from smsplatform import onboarding, services
from smsplatform.middleware import SESSION_ORG_KEY
from smsplatform.models import Invitation, User

# Session keys of an invitation being accepted by a sign-up or a log-in (see views.InvitationAcceptView).
INVITATION_SESSION_KEY = "invitation_token"


def account_created(request, user: User, data: dict, *, invitation: Invitation | None = None) -> None:
    # The language of the sign-up page is the person's: what the emails written without a request of
    # theirs (the low-balance alert) are written in.
    user.language = translation.get_language() or ""
    user.save(update_fields=["language"])
    if invitation is not None:
        membership = services.invitation_accept(invitation=invitation, user=user)
        request.session.pop(INVITATION_SESSION_KEY, None)
        request.session[SESSION_ORG_KEY] = membership.org_id
        messages.success(request, _("You joined %(org)s.") % {"org": membership.org.name})
        return
    org = onboarding.organisation_create(name=data["org_name"], owner=user, country=data["country"])
    request.session[SESSION_ORG_KEY] = org.pk
    messages.success(
        request,
        _("Welcome! Your organisation is ready and %(credits)s free credits are waiting for you.")
        % {"credits": settings.SIGNUP_FREE_CREDITS},
    )
