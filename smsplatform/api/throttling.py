from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Per API key (or per session user) request rate, ``API_RATE_LIMIT`` such as ``600/min``."""

    scope = "api_key"

    def get_rate(self):
        # Read at request time, not import time, so that the limit follows the settings.
        return settings.API_RATE_LIMIT

    def get_cache_key(self, request, view):
        auth = request.auth
        if auth is not None and hasattr(auth, "prefix"):
            ident = f"key:{auth.prefix}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
