"""`docintake accounts`: Staff access to users' accounts (self-service on a client's behalf)."""

from __future__ import annotations

import getpass
import uuid
from datetime import date
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from handlers.db import UnitOfWork
    from handlers.results import OperationResult

app = typer.Typer(
    help="Staff access to users' accounts (self-service on a client's behalf).",
    no_args_is_help=True,
)

QUEUED = "E-pasts ievietots izsūtnē / e-mail queued (`docintake outbox send` delivers it)."


def _books() -> UnitOfWork:
    from flows.common import load_settings, uow_factory

    return uow_factory(load_settings())


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _request_key(kind: str, key: str | None) -> str:
    # A staff-given key makes a repeated command (a retried phone call) apply once.
    return f"cli:{kind}:{key or uuid.uuid4().hex}"


def _finish(result: OperationResult) -> None:
    if not result.ok:
        typer.echo(f"{result.message_lv}\n{result.message_en}", err=True)
        raise typer.Exit(1)
    if result.replayed:
        typer.echo("Jau izpildīts iepriekš / already done before: nothing applied again.")


@app.command("show")
def show(username: str = typer.Argument(..., help="The user's username.")) -> None:
    """A user's contract, status, contact and balance."""
    from handlers.accounts import balance
    from handlers.results import OperationResult

    user = balance(username, uow=_books())
    if isinstance(user, OperationResult):
        _finish(user)
        return
    typer.echo(f"{user.username}: {user.first_name} {user.last_name}")
    typer.echo(f"  contract     {user.contract_no}")
    typer.echo(f"  role         {user.role}")
    blocked = f" ({user.blocked_reason})" if user.blocked_reason else ""
    typer.echo(f"  status       {user.status}{blocked}")
    typer.echo(f"  e-mail       {user.email}")
    typer.echo(f"  phone        {user.phone or '-'}")
    typer.echo(f"  balance      {user.balance} EUR")


@app.command("statement")
def show_statement(
    username: str = typer.Argument(..., help="The user's username."),
    date_from: str | None = typer.Option(None, "--from", help="First day, YYYY-MM-DD."),
    date_to: str | None = typer.Option(None, "--to", help="Last day, YYYY-MM-DD."),
) -> None:
    """The user's ledger entries in a period with opening and closing balance."""
    from handlers.accounts import statement
    from handlers.results import OperationResult

    try:
        start = date.fromisoformat(date_from) if date_from else None
        end = date.fromisoformat(date_to) if date_to else None
    except ValueError as bad:
        raise typer.BadParameter(f"dates are YYYY-MM-DD: {bad}") from None
    found = statement(username, uow=_books(), date_from=start, date_to=end)
    if isinstance(found, OperationResult):
        _finish(found)
        return
    typer.echo(f"{found.username}  {found.date_from or '…'} – {found.date_to or '…'}")
    typer.echo(f"{'opening':>32} {found.opening:>10}")
    for entry in found.entries:
        typer.echo(f"{entry.date}  {entry.kind:<20}{entry.amount:>10}")
    typer.echo(f"{'closing':>32} {found.closing:>10}")


@app.command("top-up")
def top_up_command(
    username: str = typer.Argument(..., help="The user's username."),
    amount: str = typer.Argument(..., help="Amount in EUR, e.g. 25.00 or 25,00."),
    key: str | None = typer.Option(None, help="Request key: the same key applies only once."),
) -> None:
    """Credit the amount at once, issue a top-up invoice and queue it for e-mail."""
    from forms.values import InvalidValue, parse_money
    from handlers.accounts import top_up
    from handlers.commands import TopUp

    try:
        money = parse_money(amount)
    except InvalidValue as bad:
        raise typer.BadParameter(f"{bad.expected_lv} / {bad.expected_en}") from None
    cmd = TopUp(
        request_key=_request_key("top-up", key), actor=_actor(), username=username, amount=money
    )
    result = top_up(cmd, uow=_books(), today=date.today())
    _finish(result)
    data = result.data
    typer.echo(
        f"{data['username']}: +{data['amount']} EUR, balance {data['balance']} EUR,"
        f" invoice {data['invoice_number']}"
    )
    typer.echo(QUEUED)


@app.command("reset-password")
def reset_password_command(
    username: str = typer.Argument(..., help="The user's username or e-mail."),
    key: str | None = typer.Option(None, help="Request key: the same key applies only once."),
) -> None:
    """Queue a one-time password reset link to the user's e-mail on record."""
    from handlers.commands import RequestPasswordReset
    from handlers.selfservice import request_password_reset

    cmd = RequestPasswordReset(
        request_key=_request_key("reset", key), actor=_actor(), identifier=username
    )
    result = request_password_reset(cmd, uow=_books(), today=date.today())
    _finish(result)
    typer.echo(f"{result.message_lv}\n{result.message_en}")


@app.command("contact")
def contact(
    username: str = typer.Argument(..., help="The user's username."),
    email: str | None = typer.Option(None, "--email", help="New e-mail."),
    phone: str | None = typer.Option(None, "--phone", help="New phone."),
    key: str | None = typer.Option(None, help="Request key: the same key applies only once."),
) -> None:
    """Change a user's e-mail and/or phone."""
    from handlers.commands import UpdateContact
    from handlers.selfservice import update_contact

    cmd = UpdateContact(
        request_key=_request_key("contact", key),
        actor=_actor(),
        username=username,
        email=email,
        phone=phone,
    )
    result = update_contact(cmd, uow=_books(), today=date.today())
    _finish(result)
    data = result.data
    typer.echo(f"{data['username']}: e-mail {data['email']}, phone {data['phone'] or '-'}")
