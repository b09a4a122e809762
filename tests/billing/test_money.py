from decimal import Decimal

from billing.money import format_eur, ttc_of, unit_price_eur, vat_of


def test_vat_is_twenty_percent_rounded_half_up_to_the_cent():
    assert vat_of(195000) == 39000
    assert ttc_of(195000) == 234000
    assert vat_of(3250) == 650
    assert vat_of(1) == 0  # 0.2 cent
    assert vat_of(3) == 1  # 0.6 cent
    assert vat_of(5, Decimal("10.00")) == 1  # 0.5 cent rounds up


def test_french_formatting():
    assert format_eur(195000) == "1\u202f950,00\u00a0€"
    assert format_eur(-650) == "-6,50\u00a0€"


def test_largest_pack_unit_price():
    assert unit_price_eur(195000, 50000) == Decimal("0.039")
