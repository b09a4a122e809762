"""Buying a pack with the fake adapter, through the pages; roles and tenancy of the pages and the API."""

import pytest
from django.urls import reverse

from billing.models import CreditEntry, EntryKind, Invoice, InvoiceKind, Purchase, PurchaseStatus
from billing.selectors import credits_balance, credits_ledger_sum
from billing.services import InsufficientCredits, purchase_confirm, purchase_refund, purchase_start
from smsplatform.models import AuditEntry

from .conftest import add_member


@pytest.fixture(autouse=True)
def fake_adapter(settings):
    settings.PAYMENT_ADAPTER = "fake"


def buy(client, pack):
    response = client.post(reverse("billing:buy"), {"pack": pack.pk})
    assert response.status_code == 302
    return response


def test_billing_page_shows_balance_packs_and_history(owner_client, packs):
    response = owner_client.get("/billing/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="pack-50000"' in body
    assert "1\u202f950,00\u00a0€" in body  # HT
    assert "2\u202f340,00\u00a0€" in body  # TTC beside it
    assert "0,039" in body
    assert response.context["balance"] == 100
    assert response.context["reserved"] == 0


def test_buying_with_the_fake_adapter_credits_only_once_confirmed(owner_client, org, packs):
    pack = packs[1]  # 1,000 credits
    response = buy(owner_client, pack)
    purchase = Purchase.objects.get(org=org)
    assert response.url == reverse("billing:fake_checkout", args=[purchase.pk])
    assert purchase.status == PurchaseStatus.PENDING
    assert (purchase.amount_ht_cents, purchase.vat_cents, purchase.amount_ttc_cents) == (5900, 1180, 7080)
    assert credits_balance(org) == 100  # nothing before the payment is confirmed

    assert owner_client.get(response.url).status_code == 200
    confirmed = owner_client.post(response.url)
    assert confirmed.status_code == 302
    purchase.refresh_from_db()
    assert purchase.status == PurchaseStatus.PAID
    assert credits_balance(org) == 1100
    entry = CreditEntry.objects.get(org=org, kind=EntryKind.PURCHASE)
    assert entry.reference == f"purchase:{purchase.pk}"
    invoice = Invoice.objects.get(purchase=purchase)
    assert invoice.kind == InvoiceKind.INVOICE and invoice.amount_ttc_cents == 7080

    owner_client.post(response.url)  # a double click credits nothing twice
    assert credits_balance(org) == 1100
    assert Invoice.objects.filter(purchase=purchase).count() == 1
    assert credits_balance(org) == credits_ledger_sum(org)
    page = owner_client.get(reverse("billing:purchase", args=[purchase.pk]))
    assert invoice.number in page.content.decode()


def test_fake_checkout_is_closed_when_another_adapter_is_configured(
    owner_client, org, owner, packs, settings
):
    purchase, _url = purchase_start(org=org, actor=owner, pack=packs[0], success_url="x", cancel_url="y")
    settings.PAYMENT_ADAPTER = "stripe"
    assert owner_client.post(reverse("billing:fake_checkout", args=[purchase.pk])).status_code == 404
    assert credits_balance(org) == 100


def test_inactive_pack_cannot_be_bought(owner_client, org, packs):
    packs[0].active = False
    packs[0].save()
    response = owner_client.post(reverse("billing:buy"), {"pack": packs[0].pk})
    assert response.status_code == 302 and response.url == reverse("billing:index")
    assert not Purchase.objects.filter(org=org).exists()


@pytest.mark.parametrize("role", ["analyst", "marketer"])
def test_analyst_and_marketer_cannot_open_billing_nor_buy(client, org, packs, role):
    user = add_member(org, role)
    client.force_login(user)
    assert client.get("/billing/").status_code == 403
    assert client.post(reverse("billing:buy"), {"pack": packs[0].pk}).status_code == 403
    assert client.post(reverse("billing:settings"), {"low_balance_threshold": 5}).status_code == 403
    assert not Purchase.objects.filter(org=org).exists()


def test_admin_can_buy(client, org, packs):
    client.force_login(add_member(org, "admin"))
    assert client.get("/billing/").status_code == 200
    buy(client, packs[0])
    assert Purchase.objects.filter(org=org).count() == 1


def test_anonymous_is_sent_to_login(client):
    response = client.get("/billing/")
    assert response.status_code == 302 and "/login/" in response.url


def test_another_organisations_purchases_and_invoices_are_404(owner_client, org, other_org, packs):
    other_owner, other = other_org
    purchase, _url = purchase_start(
        org=other, actor=other_owner, pack=packs[0], success_url="x", cancel_url="y"
    )
    purchase_confirm(purchase=purchase)
    invoice = Invoice.objects.get(purchase=purchase)
    for url in (
        reverse("billing:purchase", args=[purchase.pk]),
        reverse("billing:fake_checkout", args=[purchase.pk]),
        reverse("billing:invoice_pdf", args=[invoice.pk]),
        reverse("billing:purchase_return") + f"?purchase={purchase.pk}",
    ):
        assert owner_client.get(url).status_code == 404, url
    assert owner_client.post(reverse("billing:fake_checkout", args=[purchase.pk])).status_code == 404
    assert credits_balance(org) == 100
    page = owner_client.get("/billing/")
    assert invoice.number not in page.content.decode()


def test_api_credits_readable_by_every_role(client, org, owner, api_key_for):
    from billing.services import credits_reserve

    credits_reserve(org=org, amount=30, reference="campaign:9")
    key = api_key_for(org, owner, role="analyst")
    response = client.get("/api/v1/credits", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 200
    data = response.json()
    assert data["balance"] == 70 and data["reserved"] == 30
    assert data["entries"][0] == {
        "amount": -30,
        "kind": "reservation",
        "reference": "campaign:9",
        "created_at": data["entries"][0]["created_at"],
    }
    assert [e["reference"] for e in data["entries"]] == ["campaign:9", "signup"]
    assert client.get("/api/v1/credits").status_code == 401


def test_api_credits_shows_only_own_entries(client, org, owner, other_org, api_key_for):
    _other_owner, other = other_org
    from billing.services import credits_grant

    credits_grant(org=other, amount=7, reference="decoy")
    key = api_key_for(org, owner)
    data = client.get("/api/v1/credits", HTTP_AUTHORIZATION=f"Bearer {key}").json()
    assert "decoy" not in [e["reference"] for e in data["entries"]]


def test_api_invoices_and_purchases_are_scoped(client, org, owner, other_org, packs, api_key_for):
    other_owner, other = other_org
    mine, _ = purchase_start(org=org, actor=owner, pack=packs[0], success_url="x", cancel_url="y")
    purchase_confirm(purchase=mine)
    theirs, _ = purchase_start(org=other, actor=other_owner, pack=packs[0], success_url="x", cancel_url="y")
    purchase_confirm(purchase=theirs)
    their_invoice = Invoice.objects.get(purchase=theirs)
    my_invoice = Invoice.objects.get(purchase=mine)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {api_key_for(org, owner)}"}

    listed = client.get("/api/v1/invoices", **auth).json()["results"]
    assert [i["number"] for i in listed] == [my_invoice.number]
    assert client.get(f"/api/v1/invoices/{my_invoice.pk}", **auth).status_code == 200
    pdf = client.get(f"/api/v1/invoices/{my_invoice.pk}/pdf", **auth)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert client.get(f"/api/v1/invoices/{their_invoice.pk}", **auth).status_code == 404
    assert client.get(f"/api/v1/invoices/{their_invoice.pk}/pdf", **auth).status_code == 404
    assert client.get(f"/api/v1/purchases/{theirs.pk}", **auth).status_code == 404
    assert [p["id"] for p in client.get("/api/v1/purchases", **auth).json()["results"]] == [mine.pk]

    analyst = {"HTTP_AUTHORIZATION": f"Bearer {api_key_for(org, owner, role='analyst')}"}
    assert client.get("/api/v1/invoices", **analyst).status_code == 403


def test_refund_takes_credits_back_and_issues_a_credit_note(org, owner, packs):
    purchase, _ = purchase_start(org=org, actor=owner, pack=packs[0], success_url="x", cancel_url="y")
    purchase_confirm(purchase=purchase)
    assert credits_balance(org) == 600
    purchase_refund(org=org, actor=owner, purchase=purchase, reason="client unhappy")
    purchase_refund(org=org, actor=owner, purchase=purchase, reason="twice")  # no-op
    assert credits_balance(org) == 100
    note = Invoice.objects.get(purchase=purchase, kind=InvoiceKind.CREDIT_NOTE)
    invoice = Invoice.objects.get(purchase=purchase, kind=InvoiceKind.INVOICE)
    assert note.corrects == invoice
    assert note.amount_ttc_cents == -invoice.amount_ttc_cents
    assert note.number.startswith("AV-")
    assert AuditEntry.objects.filter(org=org, action="purchase.refunded").count() == 1
    assert credits_balance(org) == credits_ledger_sum(org)


def test_refund_refused_when_the_credits_are_spent(org, owner, packs):
    from billing.services import credits_reserve

    purchase, _ = purchase_start(org=org, actor=owner, pack=packs[0], success_url="x", cancel_url="y")
    purchase_confirm(purchase=purchase)
    credits_reserve(org=org, amount=550, reference="campaign:1")
    with pytest.raises(InsufficientCredits):
        purchase_refund(org=org, actor=owner, purchase=purchase)
    purchase.refresh_from_db()
    assert purchase.status == PurchaseStatus.PAID
    assert not Invoice.objects.filter(purchase=purchase, kind=InvoiceKind.CREDIT_NOTE).exists()
