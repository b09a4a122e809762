from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _

from billing.money import format_eur, format_unit_price, ttc_of

register = template.Library()


@register.filter
def eur(cents):
    """Euro cents as money in the active language: ``1 950,00 €``, ``1,950.00 €``."""
    return format_eur(cents)


@register.simple_tag
def unit_price(price_cents, credits):
    return format_unit_price(price_cents, credits)


@register.filter
def reference_label(reference: str):
    """A ledger reference as the owner reads it, linked when it names one of their purchases."""
    kind, _sep, ident = (reference or "").partition(":")
    if kind == "purchase" and ident.isdigit():
        return format_html(
            '<a href="{}">{}</a>', reverse("billing:purchase", args=[int(ident)]), _("Purchase #%s") % ident
        )
    if kind == "campaign" and ident:
        return _("Campaign #%s") % ident
    if reference == "signup":
        return _("Sign-up credits")
    if reference == "operator":
        return _("Operator")
    return reference or "—"


@register.filter
def ttc(ht_cents):
    """The price including VAT of an amount in cents excluding VAT."""
    return ttc_of(int(ht_cents))
