"""`docintake staff`: Enrol the people who decide, and look after their one-time codes."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from handlers.staff import Enrolment

app = typer.Typer(
    help="Enrol the staff who decide, with a one-time-code app (TOTP).", no_args_is_help=True
)


def _show(enrolment: Enrolment, *, as_json: bool) -> None:
    if as_json:
        data = {"username": enrolment.username, "otpauth_uri": enrolment.otpauth_uri}
        typer.echo(json.dumps(data))
        return
    import segno

    typer.echo(
        f"Scan with an authenticator app (Google Authenticator, Aegis, 1Password…) as "
        f"{enrolment.username}:"
    )
    segno.make(enrolment.otpauth_uri, error="m").terminal(out=sys.stdout, compact=True)
    typer.echo(f"or add by hand: {enrolment.otpauth_uri}")
    typer.echo("Shown once: the secret is stored encrypted and cannot be read back.")


def _fail(exc: Exception) -> typer.Exit:
    typer.echo(f"Error: {exc}", err=True)
    return typer.Exit(1)


@app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="Lower-case login, e.g. ilze.")],
    name: Annotated[str, typer.Option("--name", help='Full name, e.g. "Ilze Kalniņa".')],
    email: Annotated[str, typer.Option("--email", help="Work e-mail.")],
    as_json: Annotated[
        bool, typer.Option("--json", help='Print {"username", "otpauth_uri"} only.')
    ] = False,
) -> None:
    """Enrol a staff member: a new TOTP secret, shown as a QR code and an otpauth:// URI."""
    from pydantic import ValidationError

    from flows.common import load_settings, staff_key, uow_factory
    from handlers.staff import EnrolStaff, StaffError, enrol_staff

    try:
        cmd = EnrolStaff(username=username.strip(), full_name=name, email=email)
    except ValidationError:
        raise typer.BadParameter(
            "username: 2-64 lower-case letters, digits, '.', '_' or '-', starting with a letter"
        ) from None
    settings = load_settings()
    try:
        enrolment = enrol_staff(cmd, uow=uow_factory(settings), key=staff_key(settings))
    except StaffError as exc:
        raise _fail(exc) from None
    _show(enrolment, as_json=as_json)


@app.command("list")
def list_command() -> None:
    """Every staff member: username, name, e-mail and whether they may decide."""
    from flows.common import load_settings, uow_factory
    from handlers.staff import list_staff

    for member in list_staff(uow=uow_factory(load_settings())):
        state = "locked" if member.locked else ("active" if member.active else "disabled")
        typer.echo(f"{member.username:<16} {state:<9} {member.full_name} <{member.email}>")


@app.command("disable")
def disable(username: Annotated[str, typer.Argument(help="The staff member's username.")]) -> None:
    """Take a staff member off the drop-down; their codes stop working."""
    from flows.common import load_settings, uow_factory
    from handlers.staff import StaffError, disable_staff

    try:
        disable_staff(username, uow=uow_factory(load_settings()))
    except StaffError as exc:
        raise _fail(exc) from None
    typer.echo(f"{username} disabled")


@app.command("reset")
def reset(
    username: Annotated[str, typer.Argument(help="The staff member's username.")],
    as_json: Annotated[
        bool, typer.Option("--json", help='Print {"username", "otpauth_uri"} only.')
    ] = False,
) -> None:
    """A new secret (a lost phone, a lock after 5 wrong codes); enables and unlocks them."""
    from flows.common import load_settings, staff_key, uow_factory
    from handlers.staff import StaffError, reset_staff

    settings = load_settings()
    try:
        enrolment = reset_staff(username, uow=uow_factory(settings), key=staff_key(settings))
    except StaffError as exc:
        raise _fail(exc) from None
    _show(enrolment, as_json=as_json)
