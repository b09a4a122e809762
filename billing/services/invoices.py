"""Invoices and credit notes: numbered without gap per issuer and kind, with the issuer's and the buyer's
details copied into the row so that an issued document never changes."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from smsplatform.audit import audit_record
from smsplatform.models import Organisation

from ..models import BillingSettings, Invoice, InvoiceKind, InvoiceSequence, Purchase


def _issuer_details() -> dict[str, str]:
    return {
        "code": settings.INVOICE_ISSUER_CODE,
        "name": settings.INVOICE_ISSUER_NAME,
        "address": settings.INVOICE_ISSUER_ADDRESS,
        "siren": settings.INVOICE_ISSUER_SIREN,
        "vat_number": settings.INVOICE_ISSUER_VAT_NUMBER,
        "email": settings.INVOICE_ISSUER_EMAIL,
    }


def _buyer_details(org: Organisation) -> dict[str, str]:
    prefs = BillingSettings.objects.filter(org=org).first()
    return {
        "legal_name": org.legal_name or org.name,
        "name": org.name,
        "country": org.country,
        "address": prefs.billing_address if prefs else "",
        "vat_number": prefs.vat_number if prefs else "",
        "siren": prefs.siren if prefs else "",
        "email": prefs.billing_email if prefs else "",
    }


NUMBER_PREFIX = {InvoiceKind.INVOICE: "FA", InvoiceKind.CREDIT_NOTE: "AV"}


def _next_number(issuer_code: str, kind: str) -> int:
    """The next number of a series, taken under the counter row's lock: concurrent invoices queue here, and
    a rolled-back transaction gives its number back, so the series has no gap and no duplicate."""
    InvoiceSequence.objects.get_or_create(issuer_code=issuer_code, kind=kind)
    sequence = InvoiceSequence.objects.select_for_update().get(issuer_code=issuer_code, kind=kind)
    number = sequence.last_number + 1
    InvoiceSequence.objects.filter(pk=sequence.pk).update(last_number=number)
    return number


def _document_issue(*, purchase: Purchase, kind: str) -> Invoice:
    """Issues the invoice of a paid purchase or the credit note of its refund; must run inside the
    transaction that changes the purchase, so that the number and the payment commit together."""
    issuer = _issuer_details()
    sign = 1 if kind == InvoiceKind.INVOICE else -1
    corrects = None
    if kind == InvoiceKind.CREDIT_NOTE:
        corrects = Invoice.objects.filter(purchase=purchase, kind=InvoiceKind.INVOICE).first()
    sequence_number = _next_number(issuer["code"], kind)
    number = f"{NUMBER_PREFIX[kind]}-{sequence_number:06d}"
    # Invoices are French documents whatever the language of the request that paid.
    with translation.override(settings.LANGUAGE_CODE):
        if kind == InvoiceKind.INVOICE:
            description = _("%(credits)s SMS credits") % {"credits": purchase.credits}
        else:
            corrected = corrects.number if corrects else purchase.reference
            description = _("Refund of invoice %(number)s") % {"number": corrected}
    invoice = Invoice(
        org_id=purchase.org_id,
        purchase=purchase,
        kind=kind,
        corrects=corrects,
        issuer_code=issuer["code"],
        sequence_number=sequence_number,
        number=number,
        issuer=issuer,
        buyer=_buyer_details(purchase.org),
        description=description,
        quantity=purchase.credits,
        amount_ht_cents=sign * purchase.amount_ht_cents,
        vat_rate=purchase.vat_rate,
        vat_cents=sign * purchase.vat_cents,
        amount_ttc_cents=sign * purchase.amount_ttc_cents,
        currency=purchase.currency,
    )
    invoice.full_clean()
    invoice.save()
    audit_record(
        org=purchase.org, actor=None, action=f"invoice.{kind}_issued", target=invoice, data={"number": number}
    )
    return invoice
