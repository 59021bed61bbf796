"""Invoices as documents: the VAT rule, the payment term, the typed view an invoice prints.

An invoice row keeps the buyer's details as they were on its date (`customer_details`, taken
from the dated details version in force when it was issued), its net amount, its VAT rate and
its due date, so the same invoice prints the same way later, whatever changed since.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlmodel import select

from handlers.db import UnitOfWork
from handlers.models import Contract, Invoice, User

# Latvia's standard VAT rate (PVN likums, 41. pants) and the provider's payment term.
STANDARD_VAT_RATE = Decimal("21.00")
PAYMENT_DAYS = 14
CENT = Decimal("0.01")


def vat_of(net: Decimal, rate: Decimal) -> Decimal:
    """The VAT on a net amount, rounded half up to the cent (as accounting rounds it)."""
    return (net * rate / 100).quantize(CENT, rounding=ROUND_HALF_UP)


def due_date(issued_on: date) -> date:
    """The last day to pay an invoice issued on a day."""
    return issued_on + timedelta(days=PAYMENT_DAYS)


@dataclass(frozen=True)
class InvoiceLine:
    """One line of an invoice: what, how many, at what net price, and the net sum."""

    description_lv: str
    description_en: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class InvoiceView:
    """Everything an invoice shows, as the books hold it; the seller comes from the settings."""

    number: str
    kind: str
    issued_on: date
    due_on: date
    contract_no: str
    # The buyer as on the invoice date: reg_no, name, address, vat_no, bank, swift, iban.
    buyer: dict[str, str | None]
    lines: tuple[InvoiceLine, ...]
    net: Decimal
    vat_rate: Decimal
    vat: Decimal
    total: Decimal
    recipients: tuple[str, ...] = field(default=())


def _lines(invoice: Invoice, username: str | None, contract_no: str) -> tuple[InvoiceLine, ...]:
    amount = Decimal(invoice.amount).quantize(CENT)
    if invoice.kind == "top_up":
        who_lv = f", lietotājs {username}" if username else ""
        who_en = f", user {username}" if username else ""
        return (
            InvoiceLine(
                f"Konta papildināšana (līgums Nr. {contract_no}{who_lv})",
                f"Account top-up (contract No. {contract_no}{who_en})",
                Decimal(1),
                amount,
                amount,
            ),
        )
    return (
        InvoiceLine(
            f"Abonentmaksa (līgums Nr. {contract_no})",
            f"Subscription fee (contract No. {contract_no})",
            Decimal(1),
            amount,
            amount,
        ),
    )


def invoice_view(number: str, *, uow: UnitOfWork) -> InvoiceView | None:
    """The invoice with this number as a document to print, or None when there is none."""
    with uow:
        invoice = uow.session.exec(
            select(Invoice).where(Invoice.number == number.strip().upper())
        ).first()
        if invoice is None:
            return None
        contract = uow.session.get(Contract, invoice.contract_id)
        user = uow.session.get(User, invoice.user_id) if invoice.user_id else None
        contract_no = contract.number if contract else ""
        lines = _lines(invoice, user.username if user else None, contract_no)
        net = sum((line.amount for line in lines), Decimal("0.00"))
        rate = Decimal(invoice.vat_rate).quantize(CENT)
        vat = vat_of(net, rate)
        details = invoice.customer_details
        return InvoiceView(
            number=invoice.number,
            kind=invoice.kind,
            issued_on=invoice.issued_on,
            due_on=invoice.due_on or due_date(invoice.issued_on),
            contract_no=contract_no,
            buyer={
                key: (None if details.get(key) is None else str(details[key]))
                for key in ("reg_no", "name", "address", "vat_no", "bank", "swift", "iban")
            },
            lines=lines,
            net=net,
            vat_rate=rate,
            vat=vat,
            total=net + vat,
            recipients=tuple(invoice.recipients),
        )
