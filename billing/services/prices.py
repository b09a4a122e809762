"""The operator's tables: what a segment costs per region, and the packs on sale."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from smsplatform.audit import audit_record

from ..models import CreditPack, RegionPrice
from ..selectors import DOMESTIC_REGIONS


def region_price_set(*, actor, region: str, credits_per_segment: int) -> RegionPrice:
    """The operator sets what one segment to a foreign region costs (France is fixed at 1 credit)."""
    region = (region or "").strip().upper()
    if len(region) != 2 or not region.isalpha():
        raise ValidationError({"region": [_("Enter a two-letter country code.")]})
    if region in DOMESTIC_REGIONS:
        raise ValidationError(
            {"region": [_("France and its overseas regions always cost 1 credit per segment.")]}
        )
    if credits_per_segment < 1:
        raise ValidationError({"credits_per_segment": [_("At least 1 credit.")]})
    with transaction.atomic():
        price, _created = RegionPrice.objects.update_or_create(
            region=region, defaults={"credits_per_segment": credits_per_segment, "updated_at": timezone.now()}
        )
        audit_record(
            org=None,
            actor=actor,
            action="billing.price_set",
            target=price,
            data={"region": region, "credits": credits_per_segment},
        )
    return price


def region_price_delete(*, actor, region: str) -> None:
    """Removes a region's price: its messages then cost the default price."""
    with transaction.atomic():
        RegionPrice.objects.filter(region=region.upper()).delete()
        audit_record(org=None, actor=actor, action="billing.price_deleted", data={"region": region.upper()})


def credit_pack_save(
    *, actor, credits: int, price_ht_cents: int, active: bool = True, pack: CreditPack | None = None
) -> CreditPack:
    """Creates or changes a pack on sale; purchases already made keep the price they were made at."""
    if credits < 1 or price_ht_cents < 1:
        raise ValidationError(_("Credits and price must be positive."))
    with transaction.atomic():
        if pack is None:
            pack = CreditPack(credits=credits, price_ht_cents=price_ht_cents, active=active)
        else:
            pack.credits, pack.price_ht_cents, pack.active = credits, price_ht_cents, active
        pack.updated_at = timezone.now()
        pack.full_clean()
        pack.save()
        audit_record(
            org=None,
            actor=actor,
            action="billing.pack_saved",
            target=pack,
            data={"credits": credits, "price_ht_cents": price_ht_cents, "active": active},
        )
    return pack
