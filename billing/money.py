"""Money helpers: integer euro cents everywhere, Decimal for rates, never float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.utils.formats import get_format, number_format


def vat_rate() -> Decimal:
    """The VAT rate in percent (France: 20)."""
    return Decimal(str(settings.BILLING_VAT_RATE)).quantize(Decimal("0.01"))


def vat_of(ht_cents: int, rate: Decimal | None = None) -> int:
    """The VAT on an amount excluding VAT, rounded half up to the cent (the rule French invoices use)."""
    rate = vat_rate() if rate is None else rate
    return int((Decimal(ht_cents) * rate / Decimal(100)).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def ttc_of(ht_cents: int, rate: Decimal | None = None) -> int:
    return ht_cents + vat_of(ht_cents, rate)


def format_eur(cents: int | None, *, symbol: str = "€") -> str:
    """Euro cents as money in the active language: ``195000`` -> ``1 950,00 €`` in French (narrow
    no-break space for thousands, smsplatform/formats), ``1,950.00 €`` in English."""
    if cents is None:
        return ""
    sign = "-" if cents < 0 else ""
    euros, rest = divmod(abs(int(cents)), 100)
    grouped = f"{euros:,}".replace(",", get_format("THOUSAND_SEPARATOR"))
    return f"{sign}{grouped}{get_format('DECIMAL_SEPARATOR')}{rest:02d}\u00a0{symbol}"


def format_unit_price(price_cents: int, credits: int, *, symbol: str = "€") -> str:
    """The price of one credit in the active language: ``0,039 €``, ``0.039 €``."""
    return f"{number_format(unit_price_eur(price_cents, credits), 3)}\u00a0{symbol}"


def unit_price_eur(price_cents: int, credits: int) -> Decimal:
    """The price of one credit in euros, to three decimals (``0,039``) for display."""
    return (Decimal(price_cents) / Decimal(100) / Decimal(credits)).quantize(
        Decimal("0.001"), rounding=ROUND_HALF_UP
    )
