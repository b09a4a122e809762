"""Reads of the billing app: balances, reservations, prices, packs, purchases and invoices."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db.models import F, QuerySet, Sum

from smsplatform.models import Organisation

from .models import (
    CreditAccount,
    CreditEntry,
    CreditPack,
    CreditReservation,
    Invoice,
    Purchase,
    RegionPrice,
)

# France and its overseas departments and communities served by French mobile numbers: 1 credit per
# segment, the product's promise ("1 credit = 1 SMS to a French mobile"); not editable.
DOMESTIC_REGIONS = frozenset({"FR", "RE", "GP", "MQ", "GF", "YT", "PM", "BL", "MF"})
DOMESTIC_PRICE = 1


def credits_balance(org: Organisation) -> int:
    """The credits an organisation can spend now (one indexed row)."""
    return CreditAccount.objects.filter(org=org).values_list("balance", flat=True).first() or 0


def credits_ledger_sum(org: Organisation) -> int:
    """The sum of every entry: always equal to ``credits_balance`` (checked by tests and the admin)."""
    return CreditEntry.objects.filter(org=org).aggregate(total=Sum("amount"))["total"] or 0


def credit_entries(org: Organisation) -> QuerySet[CreditEntry]:
    return CreditEntry.objects.filter(org=org).order_by("-created_at", "-id")


def credits_reserved(org: Organisation) -> int:
    """Credits held by campaigns that have not ended: reserved minus released minus spent, over the open
    reservations (a settled reservation holds nothing). One query."""
    total = CreditReservation.objects.filter(org=org, closed_at__isnull=True).aggregate(
        total=Sum(F("reserved") - F("released") - F("spent"))
    )["total"]
    return int(total or 0)


def credit_reservation(org: Organisation, reference: str) -> CreditReservation | None:
    return CreditReservation.objects.filter(org=org, reference=reference).first()


def default_price_per_segment() -> int:
    """What a segment to a region missing from the table costs (``BILLING_DEFAULT_PRICE_PER_SEGMENT``)."""
    return settings.BILLING_DEFAULT_PRICE_PER_SEGMENT


def prices_for_regions(regions: Iterable[str | None]) -> dict[str, int]:
    """Credits per segment for each region (ISO code as given by phone number parsing, any case), keyed
    by the region as given (``None`` as ``""``). One query at most, none when every region is domestic.
    An unknown or empty region costs the default price rather than failing a send."""
    given = [(r or "") for r in regions]
    foreign = {code.upper() for code in given if code and code.upper() not in DOMESTIC_REGIONS}
    table = (
        dict(RegionPrice.objects.filter(region__in=foreign).values_list("region", "credits_per_segment"))
        if foreign
        else {}
    )
    default = default_price_per_segment()
    prices: dict[str, int] = {}
    for region in given:
        code = region.upper()
        prices[region] = DOMESTIC_PRICE if code in DOMESTIC_REGIONS else table.get(code, default)
    return prices


def price_per_segment(org: Organisation, region: str | None) -> int:
    """Credits per segment to ``region`` for ``org`` (the same for every organisation today; the
    organisation is an argument so that negotiated prices can come without changing callers)."""
    return prices_for_regions([region])[region or ""]


def packs_on_sale() -> QuerySet[CreditPack]:
    return CreditPack.objects.filter(active=True).order_by("credits")


def pack_covering(credits: int) -> CreditPack | None:
    """The smallest pack on sale that brings at least ``credits`` (else the largest one)."""
    packs = packs_on_sale()
    return packs.filter(credits__gte=credits).first() or packs.last()


def org_purchases(org: Organisation) -> QuerySet[Purchase]:
    return Purchase.objects.filter(org=org).order_by("-created_at", "-id")


def org_invoices(org: Organisation) -> QuerySet[Invoice]:
    return Invoice.objects.filter(org=org).select_related("corrects").order_by("-issued_at", "-id")


def region_prices() -> QuerySet[RegionPrice]:
    return RegionPrice.objects.order_by("region")
