import pytest
from django.core.exceptions import ValidationError

from billing.models import RegionPrice
from billing.selectors import DOMESTIC_REGIONS, price_per_segment, prices_for_regions
from billing.services import region_price_set


@pytest.fixture
def table(db):
    for region, credits in {"BE": 2, "ES": 2, "DE": 2, "GB": 2, "US": 1, "MA": 3}.items():
        RegionPrice.objects.update_or_create(region=region, defaults={"credits_per_segment": credits})


def test_france_and_overseas_cost_one_credit(org, table, django_assert_num_queries):
    with django_assert_num_queries(0):
        prices = prices_for_regions(sorted(DOMESTIC_REGIONS))
    assert set(prices.values()) == {1}
    assert price_per_segment(org, "RE") == 1


def test_foreign_prices_come_from_the_table_in_one_query(table, django_assert_num_queries):
    with django_assert_num_queries(1):
        prices = prices_for_regions(["FR", "BE", "be", "US", "MA", "GP"])
    assert prices == {"FR": 1, "BE": 2, "be": 2, "US": 1, "MA": 3, "GP": 1}


def test_unknown_region_costs_the_default_price(org, table, settings):
    settings.BILLING_DEFAULT_PRICE_PER_SEGMENT = 4
    assert price_per_segment(org, "ZZ") == 4
    assert price_per_segment(org, None) == 4
    assert prices_for_regions(["", "JP"]) == {"": 4, "JP": 4}


def test_operator_sets_a_price(org, owner, table):
    region_price_set(actor=owner, region="it", credits_per_segment=3)
    assert price_per_segment(org, "IT") == 3
    with pytest.raises(ValidationError):
        region_price_set(actor=owner, region="RE", credits_per_segment=2)  # domestic is fixed
    with pytest.raises(ValidationError):
        region_price_set(actor=owner, region="BE", credits_per_segment=0)


def test_seed_migration_put_sensible_prices(db):
    # Seeded by billing/migrations/0003 (present unless a transactional test emptied the table).
    if not RegionPrice.objects.exists():
        pytest.skip("table emptied by a transactional test")
    assert RegionPrice.objects.get(region="BE").credits_per_segment == 2
