"""Deployment checks of the payment and invoicing settings (``manage.py check --deploy``)."""

from __future__ import annotations

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def stripe_configured(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """A production deployment on Stripe without its keys cannot sell credits nor trust a payment."""
    if settings.PAYMENT_ADAPTER != "stripe":
        return []
    keys = {
        "STRIPE_SECRET_KEY": settings.STRIPE_SECRET_KEY,
        "STRIPE_WEBHOOK_SECRET": settings.STRIPE_WEBHOOK_SECRET,
    }
    missing = [name for name, value in keys.items() if not value]
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


@checks.register(checks.Tags.compatibility, deploy=True)
def invoice_issuer_configured(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """An invoice must name its real issuer (SIREN, VAT number, address): placeholders make it void."""
    placeholders = [
        name
        for name, placeholder in settings.INVOICE_ISSUER_PLACEHOLDERS.items()
        if getattr(settings, name) == placeholder
    ]
    if not placeholders:
        return []
    return [
        checks.Warning(
            f"{', '.join(placeholders)} still {'holds its' if len(placeholders) == 1 else 'hold their'} "
            "development placeholder: invoices and credit notes would name a fictitious issuer.",
            hint="Set them in the environment to the company that sells the credits (docs/operations.md).",
            id="billing.W002",
        )
    ]
