"""Invoices as documents: the books' view (handlers) and the seller (settings) → a PDF.

The one place that joins them, used by the delivery loop (the PDF attached to top-up and
e-invoice mails) and by `docintake invoices pdf`, so a downloaded invoice is the mailed one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from flows.common import uow_factory
from flows.settings import Settings
from handlers.invoices import InvoiceView, invoice_view
from handlers.outbox import ClaimedMail
from notifications.smtp import Document

if TYPE_CHECKING:
    # fpdf2 takes ~0.4 s to import: only a process that makes an invoice PDF pays for it, not
    # every flow run that delivers a receipt (a request run's mail must not wait on it).
    from notifications.invoice_pdf import InvoiceDocument, Party

# The mails that carry their invoice as a PDF.
INVOICE_TEMPLATES = frozenset({"topup_invoice", "invoice_notice"})


def seller(settings: Settings) -> Party:
    """The provider as the seller on every invoice."""
    from notifications.invoice_pdf import Party

    return Party(
        name=settings.provider_name,
        reg_no=settings.provider_reg_no,
        vat_no=settings.provider_vat_no,
        address=settings.provider_address,
        bank=settings.provider_bank,
        swift=settings.provider_swift,
        iban=settings.provider_iban,
    )


def invoice_document(view: InvoiceView, settings: Settings) -> InvoiceDocument:
    """The printable invoice: the books' view with the seller from the settings."""
    from notifications.invoice_pdf import InvoiceDocument, Line, Party

    buyer = view.buyer
    return InvoiceDocument(
        number=view.number,
        issued_on=view.issued_on,
        due_on=view.due_on,
        contract_no=view.contract_no,
        seller=seller(settings),
        buyer=Party(
            name=buyer.get("name") or buyer.get("reg_no") or "",
            reg_no=buyer.get("reg_no"),
            vat_no=buyer.get("vat_no"),
            address=buyer.get("address"),
            bank=buyer.get("bank"),
            swift=buyer.get("swift"),
            iban=buyer.get("iban"),
        ),
        lines=tuple(
            Line(ln.description_lv, ln.description_en, ln.quantity, ln.unit_price, ln.amount)
            for ln in view.lines
        ),
        net=view.net,
        vat_rate=view.vat_rate,
        vat=view.vat,
        total=view.total,
    )


def invoice_pdf(number: str, settings: Settings) -> bytes | None:
    """The invoice's PDF, or None when no invoice has that number."""
    from notifications.invoice_pdf import render_invoice_pdf

    view = invoice_view(number, uow=uow_factory(settings))
    if view is None:
        return None
    return render_invoice_pdf(invoice_document(view, settings), font_dir=settings.invoice_font_dir)


def invoice_attachments(settings: Settings) -> Callable[[ClaimedMail], Sequence[Document]]:
    """For the delivery loop: the invoice PDF of a top-up or invoice mail, else nothing."""

    def documents(mail: ClaimedMail) -> Sequence[Document]:
        number = mail.context.get("invoice_number")
        if mail.template not in INVOICE_TEMPLATES or not number:
            return ()
        pdf = invoice_pdf(str(number), settings)
        if pdf is None:
            raise LookupError(f"invoice {number} is not in the books")
        return (Document(filename=f"{number}.pdf", data=pdf),)

    return documents
