"""Seeds the foreign region prices and the credit packs; the operator edits both in the admin afterwards."""

from django.db import migrations

# Credits per segment outside France (France and its overseas regions are fixed at 1 in code).
REGION_PRICES = {
    "BE": 2, "LU": 2, "CH": 2, "MC": 2, "DE": 2, "ES": 2, "IT": 2, "PT": 2, "NL": 2, "AT": 2, "IE": 2,
    "GB": 2, "US": 1, "CA": 1,
    "MA": 3, "TN": 3, "DZ": 3, "SN": 3, "CI": 3, "NC": 3, "PF": 3, "WF": 3,
}

# (credits, price excluding VAT in euro cents): unit price from 0.065 down to 0.039 EUR HT.
PACKS = [
    (500, 3250),
    (1000, 5900),
    (5000, 26000),
    (10000, 47000),
    (50000, 195000),
]


def seed(apps, schema_editor):
    RegionPrice = apps.get_model("billing", "RegionPrice")
    CreditPack = apps.get_model("billing", "CreditPack")
    for region, credits in REGION_PRICES.items():
        RegionPrice.objects.get_or_create(region=region, defaults={"credits_per_segment": credits})
    for credits, price in PACKS:
        CreditPack.objects.get_or_create(credits=credits, defaults={"price_ht_cents": price, "active": True})


def unseed(apps, schema_editor):
    apps.get_model("billing", "RegionPrice").objects.filter(region__in=REGION_PRICES).delete()
    apps.get_model("billing", "CreditPack").objects.filter(credits__in=[c for c, _ in PACKS]).delete()


class Migration(migrations.Migration):
    dependencies = [("billing", "0002_reservations_prices_packs_purchases_invoices")]

    operations = [migrations.RunPython(seed, unseed)]
