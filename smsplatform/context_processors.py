from billing.selectors import credits_balance

from .selectors import user_memberships


def organisation(request):
    """The header needs the organisation, the user's other organisations and the credit balance."""
    org = getattr(request, "org", None)
    membership = getattr(request, "membership", None)
    if org is None or membership is None:
        return {}
    return {
        "current_org": org,
        "current_membership": membership,
        "user_memberships": user_memberships(request.user),
        "credit_balance": credits_balance(org),
        "can_manage": membership.can("manage"),
        "can_write": membership.can("write"),
        "sms_gateway": org.gateway_name,
    }
