"""`docintake serve` and `docintake worker`: run the deployments (and, for serve, the server)."""

from __future__ import annotations

from typing import Annotated

import typer


def _serve_or_exit(*, start_server: bool) -> None:
    from flows.common import load_settings
    from flows.serve import ServeError, run

    try:
        raise typer.Exit(run(load_settings(), start_server=start_server))
    except ServeError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc


def register(root: typer.Typer) -> None:
    """Add `serve` and `worker` to the root app."""

    @root.command("serve")
    def serve(
        no_server: Annotated[
            bool, typer.Option("--no-server", help="Use PREFECT_API_URL; start no server.")
        ] = False,
    ) -> None:
        """Start a local Prefect server (unless PREFECT_API_URL is set), serve, poll intake."""
        _serve_or_exit(start_server=not no_server)

    @root.command("worker")
    def worker() -> None:
        """Serve the deployments against the shared server at PREFECT_API_URL."""
        _serve_or_exit(start_server=False)
