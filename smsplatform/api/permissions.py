from rest_framework import permissions

from smsplatform.models import role_can
from smsplatform.selectors import mfa_enrolment_pending


def request_role(request) -> str | None:
    """The role that acts on this request: the API key's, or the session member's."""
    role = getattr(request, "api_role", None)
    if role:
        return role
    membership = getattr(request, "membership", None)
    return membership.role if membership is not None else None


class HasOrganisationRole(permissions.BasePermission):
    """Safe methods need ``read``, others ``write``, unless the view asks for ``required_capability``."""

    message = "Your role does not allow this action."

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        role = request_role(request)
        if role is None or getattr(request, "org", None) is None:
            return False
        capability = getattr(view, "required_capability", None) or (
            "read" if request.method in permissions.SAFE_METHODS else "write"
        )
        if not role_can(role, capability):
            return False
        # A browser session of a member who must enrol in two-factor first (API keys are not affected).
        membership = getattr(request, "membership", None)
        if getattr(request, "api_role", None) is None and membership is not None:
            if mfa_enrolment_pending(membership, request.user):
                self.message = "Two-factor authentication is required in this organisation: set it up first."
                return False
        return True
