"""Deployment checks of the payment settings (``manage.py check --deploy``)."""

from __future__ import annotations

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def stripe_configured(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """A production deployment on Stripe without its keys cannot sell credits nor trust a payment."""
    if settings.PAYMENT_ADAPTER != "stripe":
        return []
    missing = [name for name in ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET") if not getattr(settings, name)]
    if not missing:
        return []
    return [
        checks.Warning(
            f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set: no credit can be "
            "bought, and Stripe's webhooks are refused.",
            hint="Set them from the Stripe dashboard (API keys, and the webhook endpoint's signing secret).",
            id="billing.W001",
        )
    ]
