"""`docintake db`: The accounts database schema."""

from __future__ import annotations

import typer

app = typer.Typer(help="The accounts database schema.", no_args_is_help=True)


@app.command("upgrade")
def db_upgrade(
    revision: str = typer.Argument("head", help="Target revision (default: the newest)."),
) -> None:
    """Bring the accounts database (DOCINTAKE_DATABASE_URL, or SQLite under home) to head."""
    from flows.common import load_settings
    from handlers.migrations import current, upgrade

    url = load_settings().resolved_database_url
    upgrade(url, revision)
    typer.echo(f"database at revision {current(url)}")
