from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SmsplatformConfig(AppConfig):
    name = "smsplatform"
    verbose_name = _("Organisations and users")

    def ready(self):
        from .api import schema  # noqa: F401 - registers the OpenAPI extension
