"""`docintake accounts`: Staff access to users' accounts (self-service on a client's behalf)."""

from __future__ import annotations

import getpass
import uuid
from datetime import date

import typer

from flows.common import load_settings, uow_factory
from forms.values import InvalidValue, parse_money
from handlers.accounts import balance, statement, top_up
from handlers.commands import RequestPasswordReset, TopUp, UpdateContact
from handlers.results import OperationResult
from handlers.selfservice import request_password_reset, update_contact

app = typer.Typer(
    help="Staff access to users' accounts (self-service on a client's behalf).",
    no_args_is_help=True,
)
db_app = typer.Typer(help="The accounts database schema.", no_args_is_help=True)

QUEUED = "E-pasts ievietots izsūtnē / e-mail queued (`docintake outbox send` delivers it)."


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


@db_app.command("upgrade")
def db_upgrade(
    revision: str = typer.Argument("head", help="Target revision (default: the newest)."),
) -> None:
    """Bring the accounts database (DOCINTAKE_DATABASE_URL, or SQLite under home) to head."""
    from handlers.migrations import current, upgrade

    url = load_settings().resolved_database_url
    upgrade(url, revision)
    typer.echo(f"database at revision {current(url)}")


@app.command("show")
def show(username: str = typer.Argument(..., help="The user's username.")) -> None:
    """A user's contract, status, contact and balance."""
    result = balance(username, uow=uow_factory(load_settings()))
    _finish(result)
    data = result.data
    typer.echo(f"{data['username']}: {data['first_name']} {data['last_name']}")
    typer.echo(f"  contract     {data['contract_no']}")
    typer.echo(f"  role         {data['role']}")
    blocked = f" ({data['blocked_reason']})" if data["blocked_reason"] else ""
    typer.echo(f"  status       {data['status']}{blocked}")
    typer.echo(f"  e-mail       {data['email']}")
    typer.echo(f"  phone        {data['phone'] or '-'}")
    typer.echo(f"  balance      {data['balance']} EUR")


@app.command("statement")
def show_statement(
    username: str = typer.Argument(..., help="The user's username."),
    date_from: str | None = typer.Option(None, "--from", help="First day, YYYY-MM-DD."),
    date_to: str | None = typer.Option(None, "--to", help="Last day, YYYY-MM-DD."),
) -> None:
    """The user's ledger entries in a period with opening and closing balance."""
    try:
        start = date.fromisoformat(date_from) if date_from else None
        end = date.fromisoformat(date_to) if date_to else None
    except ValueError as bad:
        raise typer.BadParameter(f"dates are YYYY-MM-DD: {bad}") from None
    result = statement(username, uow=uow_factory(load_settings()), date_from=start, date_to=end)
    _finish(result)
    data = result.data
    typer.echo(f"{data['username']}  {data['date_from'] or '…'} – {data['date_to'] or '…'}")
    typer.echo(f"{'opening':>32} {data['opening']:>10}")
    for entry in data["entries"]:
        typer.echo(f"{entry['date']}  {entry['kind']:<20}{entry['amount']:>10}")
    typer.echo(f"{'closing':>32} {data['closing']:>10}")


@app.command("top-up")
def top_up_command(
    username: str = typer.Argument(..., help="The user's username."),
    amount: str = typer.Argument(..., help="Amount in EUR, e.g. 25.00 or 25,00."),
    key: str | None = typer.Option(None, help="Request key: the same key applies only once."),
) -> None:
    """Credit the amount at once, issue a top-up invoice and queue it for e-mail."""
    try:
        money = parse_money(amount)
    except InvalidValue as bad:
        raise typer.BadParameter(f"{bad.expected_lv} / {bad.expected_en}") from None
    cmd = TopUp(
        request_key=_request_key("top-up", key), actor=_actor(), username=username, amount=money
    )
    result = top_up(cmd, uow=uow_factory(load_settings()), today=date.today())
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
    cmd = RequestPasswordReset(
        request_key=_request_key("reset", key), actor=_actor(), identifier=username
    )
    result = request_password_reset(cmd, uow=uow_factory(load_settings()), today=date.today())
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
    cmd = UpdateContact(
        request_key=_request_key("contact", key),
        actor=_actor(),
        username=username,
        email=email,
        phone=phone,
    )
    result = update_contact(cmd, uow=uow_factory(load_settings()), today=date.today())
    _finish(result)
    data = result.data
    typer.echo(f"{data['username']}: e-mail {data['email']}, phone {data['phone'] or '-'}")
