"""The `docintake` command line: one Typer app with a sub-command group per concern."""

from __future__ import annotations

import typer

from flows import (
    cli_accounts,
    cli_books,
    cli_demo,
    cli_forms,
    cli_intake,
    cli_invoices,
    cli_requests,
)

app = typer.Typer(
    name="docintake",
    help="Document-intake workflow engine: e-mailed application forms to approved changes.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(cli_forms.app, name="forms")
app.add_typer(cli_accounts.db_app, name="db")
app.add_typer(cli_accounts.app, name="accounts")
app.add_typer(cli_books.app, name="books")
app.add_typer(cli_intake.app, name="intake")
app.add_typer(cli_requests.app, name="requests")
app.add_typer(cli_invoices.app, name="invoices")
app.add_typer(cli_demo.app, name="demo")
cli_requests.register_top_level(app)


# --- the clients' portal (issue 16) -------------------------------------------------------------
@app.command("portal")
def portal_command() -> None:
    """Run the clients' self-service portal alone (uvicorn on DOCINTAKE_PORTAL_HOST:PORT)."""
    from flows.common import load_settings
    from flows.portal_config import portal_config
    from handlers.migrations import upgrade
    from portal.server import run

    settings = load_settings()
    upgrade(settings.resolved_database_url)
    config = portal_config(settings)
    typer.echo(f"Portal: {config.address}/login", err=True)
    run(config)


if __name__ == "__main__":
    app()
