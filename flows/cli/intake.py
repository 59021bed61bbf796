"""`docintake intake`: Take in what is waiting in the mailboxes."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from flows.settings import Settings
    from handlers.inbound_messages import QuarantinedMessage
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
        max_message_bytes=settings.max_message_bytes,
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
    from intake.verify import make_resolver

    settings = load_settings()
    host = settings.smtp_listen_host or "127.0.0.1"
    controller = start_listener(
        host=host,
        port=settings.smtp_listen_port,
        intake_address=settings.intake_address,
        inbox=settings.inbox_dir,
        max_message_bytes=settings.max_message_bytes,
        authserv_id=settings.authserv_id,
        # With verification off nothing is checked (no DNS), only foreign A-R headers removed.
        resolver=None
        if settings.verification_level == "off"
        else make_resolver([s for s in settings.dns_servers.split(",") if s.strip()]),
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


# --- `docintake intake quarantine`: the messages held for staff (issue 10). -----------------
# Kept apart from the commands above so that moving the CLI modules leaves it whole.

quarantine_app = typer.Typer(
    help="Messages held for staff: unknown or unverified senders, failed checks, unreadable.",
    no_args_is_help=True,
)
app.add_typer(quarantine_app, name="quarantine")


def _quarantine_row(item: QuarantinedMessage) -> dict[str, object]:
    return {
        "id": item.id,
        "received_at": item.received_at.isoformat(),
        "source": item.source,
        "from": item.from_addr,
        "subject": item.subject,
        "reason": item.reason,
        "size": item.size,
        "sha256": item.sha256,
    }


@quarantine_app.command("list")
def quarantine_list(
    as_json: bool = typer.Option(False, "--json", help="A JSON array for programs."),
) -> None:
    """The quarantined messages, oldest first, with why each is held."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from flows.common import load_settings, uow_factory
    from flows.intake_wiring import ensure_schema
    from handlers import inbound_messages

    settings = load_settings()
    ensure_schema(settings)
    items = inbound_messages.quarantined_messages(uow=uow_factory(settings))
    if as_json:
        typer.echo(json.dumps([_quarantine_row(i) for i in items], indent=1))
        return
    table = Table("ID", "Received", "From", "Subject", "Reason")
    for item in items:
        table.add_row(
            str(item.id),
            item.received_at.strftime("%d.%m.%Y %H:%M"),
            escape(item.from_addr or "—"),
            escape(item.subject or "—"),
            escape(item.reason or "—"),
        )
    Console().print(table)
    typer.echo(f"{len(items)} message(s) in quarantine")


@quarantine_app.command("release")
def quarantine_release(
    message_id: int = typer.Argument(..., help="The ID from `quarantine list`."),
    staff: str = typer.Option(..., "--staff", help="Your name (recorded): you vouch for it."),
) -> None:
    """Read a held message again as from a verified sender; the contract rules still apply."""
    from flows.common import load_settings, uow_factory
    from flows.intake_wiring import deliver_outbox, message_handler
    from handlers import inbound_messages
    from intake import store

    settings = load_settings()
    try:
        sha256 = inbound_messages.release_message(
            message_id, staff=staff, uow=uow_factory(settings)
        )
    except LookupError as exc:
        raise typer.BadParameter(str(exc)) from exc
    handle = message_handler(settings, source="release")
    outcome = handle(store.read_bytes(settings.home, sha256))
    typer.echo(f"message {message_id}: {outcome.summary()}")
    typer.echo(deliver_outbox(settings))


@quarantine_app.command("drop")
def quarantine_drop(
    message_id: int = typer.Argument(..., help="The ID from `quarantine list`."),
    staff: str = typer.Option(..., "--staff", help="Your name (recorded)."),
) -> None:
    """Throw a held message away: final, nobody answered, the original kept in the store."""
    from flows.common import load_settings, uow_factory
    from handlers import inbound_messages

    settings = load_settings()
    try:
        inbound_messages.drop_message(message_id, staff=staff, uow=uow_factory(settings))
    except LookupError as exc:
        raise typer.BadParameter(str(exc)) from exc
    typer.echo(f"message {message_id}: dropped")
