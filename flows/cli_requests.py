"""`docintake requests`: List, show, approve and reject applications."""

from __future__ import annotations

import typer

app = typer.Typer(help="List, show, approve and reject applications.", no_args_is_help=True)


def register_top_level(root: typer.Typer) -> None:
    """Add `serve` and `worker` to the root app."""
