"""`docintake accounts`: Staff access to users' accounts (self-service on a client's behalf)."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Staff access to users' accounts (self-service on a client's behalf).",
    no_args_is_help=True,
)
db_app = typer.Typer(help="The accounts database schema.", no_args_is_help=True)
