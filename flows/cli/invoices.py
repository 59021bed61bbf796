"""`docintake invoices`: show an invoice, or write the PDF that was mailed with it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from flows.common import load_settings, uow_factory
from flows.invoices import invoice_pdf
from handlers.invoices import invoice_view
from notifications.formats import day, money

app = typer.Typer(help="Show invoices and download their PDF.", no_args_is_help=True)


@app.command("show")
def show(
    number: Annotated[str, typer.Argument(help="R-YYYY-NNNNNN")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON for programs.")] = False,
) -> None:
    """Show one invoice: dates, buyer as on its date, lines, VAT and the amount due."""
    view = invoice_view(number, uow=uow_factory(load_settings()))
    if view is None:
        typer.echo(f"No invoice {number}", err=True)
        raise typer.Exit(1)
    if as_json:
        data = {
            "number": view.number,
            "kind": view.kind,
            "issued_on": view.issued_on.isoformat(),
            "due_on": view.due_on.isoformat(),
            "contract_no": view.contract_no,
            "buyer": view.buyer,
            "lines": [
                {"description_lv": ln.description_lv, "amount": str(ln.amount)} for ln in view.lines
            ],
            "net": str(view.net),
            "vat_rate": str(view.vat_rate),
            "vat": str(view.vat),
            "total": str(view.total),
        }
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    typer.echo(f"Rēķins / Invoice {view.number} ({view.kind})")
    typer.echo(
        f"Datums / Date: {day(view.issued_on, 'lv')}  Termiņš / Due: {day(view.due_on, 'lv')}"
    )
    typer.echo(f"Pircējs / Buyer: {view.buyer.get('name')} ({view.buyer.get('reg_no')})")
    typer.echo(f"Līgums / Contract: {view.contract_no}")
    for line in view.lines:
        typer.echo(f"  {line.description_lv}: {money(line.amount, 'lv')}")
    typer.echo(f"Summa bez PVN / Net: {money(view.net, 'lv')}")
    typer.echo(f"PVN / VAT {view.vat_rate.normalize()}%: {money(view.vat, 'lv')}")
    typer.echo(f"Kopā apmaksai / Total due: {money(view.total, 'lv')}")


@app.command("pdf")
def pdf(
    number: Annotated[str, typer.Argument(help="R-YYYY-NNNNNN")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="File to write (default NUMBER.pdf).")
    ] = None,
) -> None:
    """Write the invoice's PDF, the same document its e-mail carried."""
    data = invoice_pdf(number, load_settings())
    if data is None:
        typer.echo(f"No invoice {number}", err=True)
        raise typer.Exit(1)
    target = output or Path(f"{number.strip().upper()}.pdf")
    target.write_bytes(data)
    typer.echo(str(target))
