"""`docintake intake`: Take in what is waiting in the mailboxes."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from datetime import date
from functools import partial

import typer
from sqlalchemy import inspect

from flows.common import deliver_due_mail, engine_for, load_settings, uow_factory
from flows.settings import Settings
from handlers import migrations
from intake.mime import Limits
from intake.pipeline import MessageOutcome, process_message
from intake.sources import imap as imap_source
from intake.sources.dropdir import DropResult, process_inbox
from intake.sources.imap import ImapConfig
from intake.sources.smtp import start_listener

app = typer.Typer(help="Take in what is waiting in the mailboxes.", no_args_is_help=True)


def limits_from(settings: Settings) -> Limits:
    """The message limits configured in settings."""
    return Limits(
        max_attachments=settings.max_attachments,
        max_attachment_bytes=settings.max_attachment_bytes,
        max_message_bytes=settings.max_message_bytes,
    )


def message_handler(
    settings: Settings, *, source: str, today: date | None = None
) -> Callable[[bytes], MessageOutcome]:
    """`raw bytes -> MessageOutcome` wired with the settings' database, home and limits."""
    factory = partial(uow_factory, settings)
    limits = limits_from(settings)

    def handle(raw: bytes) -> MessageOutcome:
        return process_message(
            raw,
            source=source,
            uow_factory=factory,
            home=settings.home,
            today=today or date.today(),
            staff_email=settings.staff_email,
            require_dmarc_pass=settings.require_dmarc_pass,
            limits=limits,
        )

    return handle


def ensure_schema(settings: Settings) -> None:
    """Bring a fresh database to the newest schema; a database with tables is left as it is."""
    engine = engine_for(settings.resolved_database_url)
    if not inspect(engine).has_table("inbound_message"):
        migrations.upgrade(settings.resolved_database_url)


def intake_once(settings: Settings, *, settle_seconds: float = 1.0) -> list[DropResult]:
    """Process every ready `.eml` of the drop folder once."""
    ensure_schema(settings)
    return process_inbox(
        settings.inbox_dir,
        handle=message_handler(settings, source="dropdir"),
        settle_seconds=settle_seconds,
    )


def deliver_outbox(settings: Settings) -> str:
    """Send what the outbox holds (to home/outbox/ as .eml files when no SMTP host is set)."""
    return f"outbox: {asyncio.run(deliver_due_mail(settings))}"


@app.command("once")
def once(
    settle_seconds: float = typer.Option(
        1.0, help="Leave files modified this recently for a later pass (half-written)."
    ),
) -> None:
    """Process what waits in $DOCINTAKE_HOME/inbox, a line per message, then deliver replies."""
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
