import pytest

from billing.models import Invoice, InvoiceImmutable, InvoiceKind, InvoiceSequence
from billing.pdf import invoice_pdf
from billing.services import billing_settings_update, purchase_confirm, purchase_refund, purchase_start
from smsplatform.services import organisation_update


def paid_purchase(org, owner, pack):
    purchase, _ = purchase_start(org=org, actor=owner, pack=pack, success_url="x", cancel_url="y")
    return purchase_confirm(purchase=purchase)


def test_invoice_carries_buyer_legal_details_and_vat(org, owner, packs, settings):
    settings.INVOICE_ISSUER_NAME = "SMS Boutique SAS"
    organisation_update(org=org, actor=owner, legal_name="Boulangerie Martin SARL")
    billing_settings_update(
        org=org,
        actor=owner,
        billing_address="3 place du Marché\n69001 Lyon",
        vat_number="FR12345678901",
        siren="123456789",
    )
    purchase = paid_purchase(org, owner, packs[4])
    invoice = Invoice.objects.get(purchase=purchase)
    assert invoice.buyer["legal_name"] == "Boulangerie Martin SARL"
    assert invoice.buyer["vat_number"] == "FR12345678901"
    assert invoice.issuer["name"] == "SMS Boutique SAS"
    assert (invoice.amount_ht_cents, invoice.vat_cents, invoice.amount_ttc_cents) == (195000, 39000, 234000)
    assert str(invoice.vat_rate) == "20.00"
    assert "50000" in invoice.description

    # The organisation renames itself: the issued invoice does not change.
    organisation_update(org=org, actor=owner, legal_name="Autre Nom SAS")
    invoice.refresh_from_db()
    assert invoice.buyer["legal_name"] == "Boulangerie Martin SARL"

    pdf = invoice_pdf(invoice)
    assert pdf.startswith(b"%PDF")
    assert len(pdf) > 1000


def test_numbers_follow_one_unbroken_sequence_per_kind(org, owner, other_org, packs):
    other_owner, other = other_org
    numbers = []
    for i in range(4):
        purchase = paid_purchase(org if i % 2 else other, owner if i % 2 else other_owner, packs[0])
        numbers.append(Invoice.objects.get(purchase=purchase, kind=InvoiceKind.INVOICE).sequence_number)
    start = numbers[0]
    assert numbers == list(range(start, start + 4))
    note = purchase_refund(org=org, actor=owner, purchase=purchase)
    credit_note = Invoice.objects.get(purchase=note, kind=InvoiceKind.CREDIT_NOTE)
    assert credit_note.number.startswith("AV-") and credit_note.corrects.purchase_id == purchase.pk
    assert InvoiceSequence.objects.get(kind=InvoiceKind.INVOICE).last_number == start + 3


def test_a_rolled_back_purchase_gives_its_number_back(org, owner, packs, monkeypatch):
    first = paid_purchase(org, owner, packs[0])
    n = Invoice.objects.get(purchase=first).sequence_number
    purchase, _ = purchase_start(org=org, actor=owner, pack=packs[0], success_url="x", cancel_url="y")
    from billing.services import purchases

    def boom(**kwargs):
        raise RuntimeError("audit failed")

    real = purchases.audit_record

    def failing_audit(**kwargs):
        if kwargs.get("action") == "purchase.paid":
            boom()
        return real(**kwargs)

    monkeypatch.setattr(purchases, "audit_record", failing_audit)
    with pytest.raises(RuntimeError):
        purchase_confirm(purchase=purchase)
    monkeypatch.setattr(purchases, "audit_record", real)
    purchase_confirm(purchase=purchase)
    assert Invoice.objects.get(purchase=purchase).sequence_number == n + 1


def test_issued_invoices_are_immutable(org, owner, packs):
    invoice = Invoice.objects.get(purchase=paid_purchase(org, owner, packs[0]))
    invoice.amount_ttc_cents = 1
    with pytest.raises(InvoiceImmutable):
        invoice.save()
    with pytest.raises(InvoiceImmutable):
        invoice.delete()
    invoice.refresh_from_db()
    assert invoice.amount_ttc_cents == 3900


def test_pdf_download_page(owner_client, org, owner, packs):
    invoice = Invoice.objects.get(purchase=paid_purchase(org, owner, packs[0]))
    response = owner_client.get(f"/billing/invoices/{invoice.pk}/pdf/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert invoice.number in response["Content-Disposition"]
    assert response.content.startswith(b"%PDF")
    purchase_refund(org=org, actor=owner, purchase=invoice.purchase)
    note = Invoice.objects.get(kind=InvoiceKind.CREDIT_NOTE, purchase=invoice.purchase)
    assert owner_client.get(f"/billing/invoices/{note.pk}/pdf/").content.startswith(b"%PDF")


def test_pdf_survives_characters_outside_latin1(org, owner, packs):
    organisation_update(org=org, actor=owner, legal_name="Café «Ωmega» 🍞")
    invoice = Invoice.objects.get(purchase=paid_purchase(org, owner, packs[0]))
    assert invoice_pdf(invoice).startswith(b"%PDF")
