"""`docintake portal`: the clients' self-service portal alone (issue 16)."""

from __future__ import annotations

import typer


def register(root: typer.Typer) -> None:
    """Add `portal` to the root app."""

    @root.command("portal")
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
