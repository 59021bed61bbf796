"""`docintake demo`: Seed a demo database and send sample e-mails."""

from __future__ import annotations

import typer

app = typer.Typer(help="Seed a demo database and send sample e-mails.", no_args_is_help=True)
