"""`docintake intake`: Take in what is waiting in the mailboxes."""

from __future__ import annotations

import typer

app = typer.Typer(help="Take in what is waiting in the mailboxes.", no_args_is_help=True)
