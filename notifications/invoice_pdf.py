"""An invoice as a PDF (fpdf2), Latvian first with English beside, from plain values.

fpdf2 because it is pure Python with no system libraries (WeasyPrint needs Pango and Cairo,
ReportLab's open edition is heavier for one table), embeds TrueType subsets so Latvian letters
survive copy and `pdftotext`, and writes the same bytes for the same input. The font is DejaVu
Sans from Debian's fonts-dejavu-core (Makefile `system-deps`); the folder is a setting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from notifications.formats import day, money, number

FONT = "DejaVu"
REGULAR_FILE = "DejaVuSans.ttf"
BOLD_FILE = "DejaVuSans-Bold.ttf"
# A fixed creation date: the same invoice always gives the same bytes.
_EPOCH = datetime(2000, 1, 1)


@dataclass(frozen=True)
class Party:
    """A seller or buyer as printed: name and the details invoices carry."""

    name: str
    reg_no: str | None = None
    vat_no: str | None = None
    address: str | None = None
    bank: str | None = None
    swift: str | None = None
    iban: str | None = None


@dataclass(frozen=True)
class Line:
    """One invoice line (net amounts)."""

    description_lv: str
    description_en: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class InvoiceDocument:
    """Everything printed on an invoice, as plain values."""

    number: str
    issued_on: date
    due_on: date
    contract_no: str
    seller: Party
    buyer: Party
    lines: tuple[Line, ...]
    net: Decimal
    vat_rate: Decimal
    vat: Decimal
    total: Decimal


class _Pdf(FPDF):
    def footer(self) -> None:
        self.set_y(-15)
        self.set_font(FONT, size=7)
        self.cell(
            0,
            5,
            "Rēķins sagatavots elektroniski un ir derīgs bez paraksta. / "
            "This invoice was prepared electronically and is valid without a signature.",
            align="C",
        )


def _party_lines(party: Party) -> list[str]:
    rows = [
        ("Reģ. Nr. / Reg. No.", party.reg_no),
        ("PVN reģ. Nr. / VAT No.", party.vat_no),
        ("Adrese / Address", party.address),
        ("Banka / Bank", party.bank),
        ("SWIFT/BIC", party.swift),
        ("Konts (IBAN) / Account", party.iban),
    ]
    return [f"{label}: {value}" for label, value in rows if value]


def render_invoice_pdf(doc: InvoiceDocument, *, font_dir: Path) -> bytes:
    """The invoice as PDF bytes with DejaVu Sans embedded (Latvian letters intact)."""
    pdf = _Pdf(format="A4")
    pdf.set_creation_date(_EPOCH)
    pdf.set_title(f"Rēķins {doc.number}")
    pdf.set_author(doc.seller.name)
    pdf.add_font(FONT, "", str(font_dir / REGULAR_FILE))
    pdf.add_font(FONT, "B", str(font_dir / BOLD_FILE))
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()
    width = pdf.epw

    pdf.set_font(FONT, "B", 16)
    pdf.cell(0, 9, f"Rēķins Nr. {doc.number} / Invoice No. {doc.number}")
    pdf.ln(11)
    pdf.set_font(FONT, size=9)
    for text in (
        f"Datums / Date: {day(doc.issued_on, 'lv')}",
        f"Apmaksas termiņš / Due date: {day(doc.due_on, 'lv')}",
        f"Līgums Nr. / Contract No.: {doc.contract_no}",
    ):
        pdf.cell(0, 5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)

    top = pdf.get_y()
    half = width / 2 - 3
    for column, (title, party) in enumerate(
        (("Pārdevējs / Seller", doc.seller), ("Pircējs / Buyer", doc.buyer))
    ):
        pdf.set_xy(pdf.l_margin + column * (half + 6), top)
        pdf.set_font(FONT, "B", 10)
        pdf.cell(half, 6, title, new_x=XPos.LEFT, new_y=YPos.NEXT)
        pdf.set_font(FONT, "B", 9)
        pdf.multi_cell(half, 5, party.name, new_x=XPos.LEFT, new_y=YPos.NEXT)
        pdf.set_font(FONT, size=8)
        for text in _party_lines(party):
            pdf.multi_cell(half, 4.5, text, new_x=XPos.LEFT, new_y=YPos.NEXT)
        if column == 0:
            seller_bottom = pdf.get_y()
    pdf.set_y(max(seller_bottom, pdf.get_y()) + 6)

    pdf.set_font(FONT, size=8)
    with pdf.table(
        col_widths=(55, 10, 17, 18),
        text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT"),
        line_height=5,
    ) as table:
        header = table.row()
        for text in (
            "Nosaukums / Description",
            "Daudz. / Qty",
            "Cena / Price",
            "Summa / Amount",
        ):
            header.cell(text)
        for line in doc.lines:
            row = table.row()
            row.cell(f"{line.description_lv}\n{line.description_en}")
            row.cell(number(line.quantity, "lv", "#,##0.##"))
            row.cell(money(line.unit_price, "lv"))
            row.cell(money(line.amount, "lv"))
    pdf.ln(4)

    rate = number(doc.vat_rate, "lv", "#,##0.##")
    pdf.set_font(FONT, size=9)
    for label, value, bold in (
        ("Summa bez PVN / Net amount", doc.net, False),
        (f"PVN {rate}% / VAT {rate}%", doc.vat, False),
        ("Kopā apmaksai / Total due", doc.total, True),
    ):
        pdf.set_font(FONT, "B" if bold else "", 10 if bold else 9)
        pdf.cell(width - 40, 6, label, align="R")
        pdf.cell(40, 6, money(value, "lv"), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(6)

    pdf.set_font(FONT, size=9)
    account = doc.seller.iban or ""
    bank = f" ({doc.seller.bank})" if doc.seller.bank else ""
    pdf.multi_cell(
        0,
        5,
        f"Lūdzam samaksāt {money(doc.total, 'lv')} līdz {day(doc.due_on, 'lv')} uz kontu"
        f" {account}{bank}, maksājuma mērķī norādot rēķina numuru {doc.number}.\n"
        f"Please pay {money(doc.total, 'en')} by {day(doc.due_on, 'en')} to account"
        f" {account}{bank}, quoting the invoice number {doc.number} as the payment reference.",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    return bytes(pdf.output())
