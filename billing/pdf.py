"""Invoices and credit notes as PDF, drawn with fpdf2 (pure Python) from the invoice row only.

The document is rebuilt from the issued row each time: the row is immutable, so the PDF is too. The
standard PDF fonts cover Latin-1 only; other characters are replaced rather than failing a download.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone
from fpdf import FPDF

from .models import Invoice, InvoiceKind


def _latin1(text: str) -> str:
    text = (text or "").replace("\u202f", " ").replace("\u00a0", " ").replace("’", "'").replace("€", "EUR")
    return text.encode("latin-1", errors="replace").decode("latin-1")


def _eur(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    euros, rest = divmod(abs(int(cents)), 100)
    return f"{sign}{euros:,}".replace(",", " ") + f",{rest:02d} EUR"


def _rate(rate: Decimal) -> str:
    return f"{rate.normalize():f}".replace(".", ",") + " %"


def invoice_pdf(invoice: Invoice) -> bytes:
    is_note = invoice.kind == InvoiceKind.CREDIT_NOTE
    pdf = _blank_document(invoice)
    _title(pdf, invoice, is_note)
    _parties(pdf, invoice.issuer, invoice.buyer)
    _line(pdf, invoice)
    _totals(pdf, invoice)
    _terms(pdf, is_note)
    return bytes(pdf.output())


def _blank_document(invoice: Invoice) -> FPDF:
    pdf = FPDF(format="A4")
    pdf.set_title(_latin1(invoice.number))
    pdf.set_author(_latin1(invoice.issuer.get("name", "")))
    pdf.set_creation_date(invoice.issued_at)
    pdf.add_page()
    pdf.set_auto_page_break(auto=True, margin=20)
    return pdf


def _title(pdf: FPDF, invoice: Invoice, is_note: bool) -> None:
    """The kind and number, the date of issue and, for a credit note, the invoice it corrects."""
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(
        0,
        10,
        _latin1(("AVOIR" if is_note else "FACTURE") + f" N° {invoice.number}"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font("Helvetica", "", 10)
    issued = timezone.localtime(invoice.issued_at)
    pdf.cell(0, 6, _latin1(f"Date d'émission : {issued:%d/%m/%Y}"), new_x="LMARGIN", new_y="NEXT")
    if is_note and invoice.corrects_id:
        pdf.cell(
            0, 6, _latin1(f"Avoir sur la facture N° {invoice.corrects.number}"), new_x="LMARGIN", new_y="NEXT"
        )
    pdf.ln(4)


def _issuer_lines(issuer: dict) -> list[str]:
    return [
        issuer.get("name", ""),
        issuer.get("address", ""),
        f"SIREN : {issuer.get('siren', '')}",
        f"TVA intracommunautaire : {issuer.get('vat_number', '')}",
        issuer.get("email", ""),
    ]


def _buyer_lines(buyer: dict) -> list[str]:
    lines = [buyer.get("legal_name", "")]
    if buyer.get("name") and buyer.get("name") != buyer.get("legal_name"):
        lines.append(buyer["name"])
    lines += [buyer.get("address", ""), f"Pays : {buyer.get('country', '')}"]
    if buyer.get("siren"):
        lines.append(f"SIREN : {buyer['siren']}")
    if buyer.get("vat_number"):
        lines.append(f"TVA intracommunautaire : {buyer['vat_number']}")
    return lines


def _parties(pdf: FPDF, issuer: dict, buyer: dict) -> None:
    """The issuer on the left and the buyer on the right, side by side from the same height."""
    top = pdf.get_y()
    pdf.set_font("Helvetica", "B", 10)
    pdf.multi_cell(90, 5, _latin1("Émetteur"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    pdf.multi_cell(
        90,
        5,
        _latin1("\n".join(line for line in _issuer_lines(issuer) if line)),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    left_bottom = pdf.get_y()

    pdf.set_xy(110, top)
    pdf.set_font("Helvetica", "B", 10)
    pdf.multi_cell(90, 5, _latin1("Client"), new_x="LEFT", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    pdf.set_x(110)
    pdf.multi_cell(
        90, 5, _latin1("\n".join(line for line in _buyer_lines(buyer) if line)), new_x="LMARGIN", new_y="NEXT"
    )
    pdf.set_y(max(left_bottom, pdf.get_y()) + 8)


def _line(pdf: FPDF, invoice: Invoice) -> None:
    """The one line of the document: the credits, their quantity, unit price and amount excluding VAT."""
    widths = (95, 25, 35, 35)
    pdf.set_font("Helvetica", "B", 10)
    for width, title in zip(
        widths, ("Désignation", "Quantité", "Prix unitaire HT", "Montant HT"), strict=True
    ):
        pdf.cell(width, 8, _latin1(title), border=1)
    pdf.ln()
    pdf.set_font("Helvetica", "", 10)
    unit = Decimal(abs(invoice.amount_ht_cents)) / Decimal(100) / Decimal(invoice.quantity or 1)
    unit_text = f"{unit.quantize(Decimal('0.0001')):f}".replace(".", ",") + " EUR"
    row = (invoice.description, f"{invoice.quantity}", unit_text, _eur(invoice.amount_ht_cents))
    for width, value in zip(widths, row, strict=True):
        pdf.cell(width, 8, _latin1(value), border=1)
    pdf.ln(12)


def _totals(pdf: FPDF, invoice: Invoice) -> None:
    for label, value, bold in (
        ("Total HT", _eur(invoice.amount_ht_cents), False),
        (f"TVA {_rate(invoice.vat_rate)}", _eur(invoice.vat_cents), False),
        ("Total TTC", _eur(invoice.amount_ttc_cents), True),
    ):
        pdf.set_font("Helvetica", "B" if bold else "", 10)
        pdf.cell(120)
        pdf.cell(35, 7, _latin1(label), border=1)
        pdf.cell(35, 7, _latin1(value), border=1, align="R", new_x="LMARGIN", new_y="NEXT")


def _terms(pdf: FPDF, is_note: bool) -> None:
    pdf.ln(8)
    pdf.set_font("Helvetica", "", 8)
    terms = (
        "Avoir : montant remboursé au moyen de paiement d'origine."
        if is_note
        else "Facture acquittée : payée en ligne à la commande. Pas d'escompte pour paiement anticipé. "
        "En cas de retard de paiement : pénalités au taux d'intérêt légal majoré de 10 points et "
        "indemnité forfaitaire pour frais de recouvrement de 40 EUR."
    )
    pdf.multi_cell(0, 4, _latin1(terms))
