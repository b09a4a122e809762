from django.conf import settings

from .client_ip import is_trusted_proxy
from .selectors import membership_for_session

SESSION_ORG_KEY = "org_id"


class CurrentOrganisationMiddleware:
    """Puts the organisation the logged-in user works in on ``request.org`` and ``request.membership``.

    The organisation comes from the session (set by the switcher); a user who belongs to one only lands
    in it. API requests with a key get their organisation from the key instead (see the authentication).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.org = None
        request.membership = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            membership = membership_for_session(user, request.session.get(SESSION_ORG_KEY))
            if membership is not None:
                request.membership = membership
                request.org = membership.org
                if request.session.get(SESSION_ORG_KEY) != membership.org_id:
                    request.session[SESSION_ORG_KEY] = membership.org_id
        return self.get_response(request)


class ContentSecurityPolicyMiddleware:
    """Sends the content security policy: every script, style and font comes from our own origin."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = settings.CONTENT_SECURITY_POLICY
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response


class UntrustedForwardedHeadersMiddleware:
    """Drops the X-Forwarded-* headers of a request that did not come through a trusted proxy.

    Django's ``is_secure()`` (with SECURE_PROXY_SSL_HEADER) and any code reading these headers would
    otherwise believe whatever a client writes in them; only a proxy of settings.TRUSTED_PROXIES sets them.
    """

    HEADERS = (
        "HTTP_X_FORWARDED_PROTO",
        "HTTP_X_FORWARDED_FOR",
        "HTTP_X_FORWARDED_HOST",
        "HTTP_X_FORWARDED_PORT",
    )

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not is_trusted_proxy(request.META.get("REMOTE_ADDR", "")):
            for header in self.HEADERS:
                request.META.pop(header, None)
        return self.get_response(request)
