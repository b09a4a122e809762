"""Dates and money read the way of the page's language: "3 December 2026" and "1,000.00 €" in English,
"03/12/2026" and "1 000,00 €" in French (smsplatform/formats, billing.money.format_eur)."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from billing.models import CreditPack, Invoice
from billing.services import purchase_confirm, purchase_start
from smsplatform.models import Role

pytestmark = pytest.mark.django_db

ISSUED = datetime(2026, 12, 3, 10, 30, tzinfo=ZoneInfo("Europe/Paris"))


@pytest.fixture
def billing_page(tenant_a):
    """The owner's billing page after buying 20,000 credits for 1,000.00 € excl. VAT, invoiced on
    3 December 2026: returns a function of the language."""
    pack = CreditPack.objects.create(credits=20_000, price_ht_cents=100_000)
    purchase, _url = purchase_start(
        org=tenant_a.org, actor=tenant_a.owner, pack=pack, success_url="x", cancel_url="y"
    )
    purchase_confirm(purchase=purchase)
    Invoice.objects.filter(org=tenant_a.org).update(issued_at=ISSUED)
    client = tenant_a.client(Role.OWNER)

    def page(language: str) -> str:
        response = client.get("/billing/", HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200
        return response.content.decode()

    return page


def test_english_page_writes_day_month_year_and_english_money(billing_page):
    html = billing_page("en")
    assert "3 December 2026" in html  # the invoice date, never 12/03/2026
    assert "12/03/2026" not in html
    assert "1,000.00\u00a0€" in html  # price excl. VAT
    assert "1,200.00\u00a0€" in html  # incl. 20 % VAT
    assert "0.050\u00a0€" in html  # per credit
    assert "20,000" in html  # credits, English grouping
    assert "1\u202f000,00" not in html


def test_french_page_keeps_french_dates_and_money(billing_page):
    html = billing_page("fr")
    assert "03/12/2026" in html
    assert "1\u202f000,00\u00a0€" in html
    assert "1\u202f200,00\u00a0€" in html
    assert "0,050\u00a0€" in html
    assert "20\u202f000" in html  # counts grouped like money
    assert "1,000.00" not in html
