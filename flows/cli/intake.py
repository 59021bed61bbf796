"""`docintake intake`: Take in what is waiting in the mailboxes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from flows.settings import Settings
    from intake.sources.imap import ImapConfig

app = typer.Typer(help="Take in what is waiting in the mailboxes.", no_args_is_help=True)


@app.command("once")
def once(
    settle_seconds: float = typer.Option(
        1.0, help="Leave files modified this recently for a later pass (half-written)."
    ),
) -> None:
    """Process what waits in $DOCINTAKE_HOME/inbox, a line per message, then deliver replies."""
    from flows.common import load_settings
    from flows.intake_wiring import deliver_outbox, intake_once

    settings = load_settings()
    settings.inbox_dir.mkdir(parents=True, exist_ok=True)
    results = intake_once(settings, settle_seconds=settle_seconds)
    for result in results:
        typer.echo(result.summary())
    typer.echo(f"{len(results)} message(s) processed")
    typer.echo(deliver_outbox(settings))
    if any(r.outcome is None for r in results):
        raise typer.Exit(1)


def _imap_config(settings: Settings) -> ImapConfig:
    from intake.sources.imap import ImapConfig

    if not (settings.imap_host and settings.imap_username and settings.imap_password):
        raise typer.BadParameter("set DOCINTAKE_IMAP_HOST, _IMAP_USERNAME and _IMAP_PASSWORD")
    return ImapConfig(
        host=settings.imap_host,
        port=settings.imap_port,
        ssl=settings.imap_ssl,
        username=settings.imap_username,
        password=settings.imap_password.get_secret_value(),
        folder=settings.imap_folder,
        processed_folder=settings.imap_processed_folder,
        rejected_folder=settings.imap_rejected_folder,
    )


@app.command("imap")
def imap(
    once: bool = typer.Option(False, "--once", help="Take what waits, then stop."),
) -> None:
    """Read the IMAP folder (IDLE or polling) until interrupted, moving finished messages."""
    import threading
    from functools import partial

    from flows.common import load_settings, uow_factory
    from flows.intake_wiring import deliver_outbox, ensure_schema, message_handler
    from intake.sources import imap as imap_source

    settings = load_settings()
    config = _imap_config(settings)
    ensure_schema(settings)
    handle = message_handler(settings, source="imap")
    factory = partial(uow_factory, settings)
    if once:
        client = imap_source.connect(config)
        try:
            outcomes = imap_source.poll_once(client, config, handle=handle, uow_factory=factory)
        finally:
            client.logout()
        for outcome in outcomes:
            typer.echo(f"message {outcome.message_id}: {outcome.summary()}")
        typer.echo(deliver_outbox(settings))
        return
    stop = threading.Event()
    try:
        imap_source.run(
            config,
            handle=handle,
            uow_factory=factory,
            stop=stop,
            poll_seconds=settings.poll_seconds,
        )
    except KeyboardInterrupt:
        stop.set()


@app.command("smtp")
def smtp() -> None:
    """Listen for mail to the intake address and process the drop folder until interrupted."""
    import time

    from flows.common import load_settings
    from flows.intake_wiring import deliver_outbox, intake_once
    from intake.sources.smtp import start_listener

    settings = load_settings()
    host = settings.smtp_listen_host or "127.0.0.1"
    controller = start_listener(
        host=host,
        port=settings.smtp_listen_port,
        intake_address=settings.intake_address,
        inbox=settings.inbox_dir,
        max_message_bytes=settings.max_message_bytes,
    )
    typer.echo(f"listening on {host}:{settings.smtp_listen_port}")
    try:
        while True:
            for result in intake_once(settings):
                typer.echo(result.summary())
            deliver_outbox(settings)
            time.sleep(settings.poll_seconds)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()
