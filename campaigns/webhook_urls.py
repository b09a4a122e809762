"""Included at the root as ``path("webhooks/sms/", include("campaigns.webhook_urls"))``."""

from django.urls import path

from . import webhooks

urlpatterns = [
    path("<str:gateway>/status", webhooks.status_webhook, name="sms_webhook_status"),
    path("<str:gateway>/inbound", webhooks.inbound_webhook, name="sms_webhook_inbound"),
]
