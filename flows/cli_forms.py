"""`docintake forms`: Blank forms and reading filled ones."""

from __future__ import annotations

import typer

app = typer.Typer(help="Blank forms and reading filled ones.", no_args_is_help=True)
