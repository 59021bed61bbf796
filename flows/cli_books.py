"""`docintake books`: Import and export the customer base."""

from __future__ import annotations

import typer

app = typer.Typer(help="Import and export the customer base.", no_args_is_help=True)
