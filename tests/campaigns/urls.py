"""The project's URLs plus the gateway webhooks, for tests run before the root URLconf includes them."""

from django.urls import include, path

from smsplatform.urls import handler404, handler500  # noqa: F401
from smsplatform.urls import urlpatterns as project_urlpatterns

urlpatterns = list(project_urlpatterns)
if not any(str(getattr(p, "pattern", "")) == "webhooks/sms/" for p in urlpatterns):
    urlpatterns.append(path("webhooks/sms/", include("campaigns.webhook_urls")))
