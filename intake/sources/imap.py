"""The IMAP source: messages taken from a folder, moved to Processed/Rejected once final.

UIDVALIDITY and the last UID taken are kept in the database (imap_mailbox_state), so a restart
or another worker knows what was taken; the message row's unique sha256 and Message-ID make a
message taken twice (say, after a crash between its final state and the move) come back as
"already processed", and it is then only moved. New messages arrive by IDLE where the server
offers it, else by polling; a lost connection is re-opened with exponential backoff.
"""

from __future__ import annotations

import logging
import ssl as ssl_lib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from handlers import inbound_messages
from handlers.db import UnitOfWork
from handlers.models import MessageStatus
from intake.pipeline import Handle, MessageOutcome

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImapConfig:
    """Where and how to read mail."""

    host: str
    username: str
    password: str
    port: int = 993
    ssl: bool = True
    ssl_context: ssl_lib.SSLContext | None = None
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    rejected_folder: str = "Rejected"
    timeout: float = 30.0
    # Messages over this size are never fetched whole: RFC822.SIZE is asked first.
    max_message_bytes: int | None = None

    @property
    def mailbox_key(self) -> str:
        """The name under which the folder's UID state is remembered."""
        return f"{self.username}@{self.host}:{self.port}/{self.folder}"


def connect(config: ImapConfig) -> IMAPClient:
    """A logged-in client with the source folder selected and the target folders present."""
    context = config.ssl_context or (ssl_lib.create_default_context() if config.ssl else None)
    client = IMAPClient(
        config.host,
        port=config.port,
        ssl=config.ssl,
        ssl_context=context,
        timeout=config.timeout,
    )
    try:
        client.login(config.username, config.password)
        for folder in (config.processed_folder, config.rejected_folder):
            if not client.folder_exists(folder):
                client.create_folder(folder)
    except BaseException:
        client.shutdown()
        raise
    return client


def _move(client: IMAPClient, uid: int, folder: str) -> None:
    if client.has_capability("MOVE"):
        client.move([uid], folder)
        return
    client.copy([uid], folder)
    client.delete_messages([uid])
    if client.has_capability("UIDPLUS"):
        client.uid_expunge([uid])
    else:
        client.expunge()


def poll_once(
    client: IMAPClient,
    config: ImapConfig,
    *,
    handle: Handle,
    uow_factory: Callable[[], UnitOfWork],
) -> list[MessageOutcome]:
    """Take every message waiting in the folder; move each one that reached a final state."""
    info = client.select_folder(config.folder)
    uidvalidity = int(info[b"UIDVALIDITY"])
    last_uid = inbound_messages.imap_last_uid(config.mailbox_key, uidvalidity, uow=uow_factory())
    outcomes: list[MessageOutcome] = []
    # Every message still in the folder is unfinished: finished ones are moved away. Those at
    # or below last_uid were taken before and only failed to move; handle() finds them done.
    for uid in sorted(int(u) for u in client.search(["ALL"])):
        size = int(client.fetch([uid], ["RFC822.SIZE"]).get(uid, {}).get(b"RFC822.SIZE", 0))
        oversized = config.max_message_bytes is not None and size > config.max_message_bytes
        # Size first: of a message over the limit only the headers are fetched.
        item, key = (
            (b"BODY.PEEK[HEADER]", b"BODY[HEADER]") if oversized else (b"BODY.PEEK[]", b"BODY[]")
        )
        raw = client.fetch([uid], [item]).get(uid, {}).get(key)
        if not isinstance(raw, bytes):
            continue  # expunged meanwhile by another client
        try:
            outcome = handle(raw, size=size) if oversized else handle(raw)
        except Exception as exc:  # e.g. the database is away: leave it for the next pass
            # Only the type: database errors quote their parameters, i.e. personal data.
            log.error("IMAP UID %s not processed (%s); left in place", uid, type(exc).__name__)
            continue
        outcomes.append(outcome)
        if not outcome.final:
            continue
        if uid > last_uid:
            inbound_messages.imap_remember_uid(
                config.mailbox_key, uidvalidity, uid, uow=uow_factory()
            )
            last_uid = uid
        target = (
            config.processed_folder
            if outcome.status is MessageStatus.done
            else config.rejected_folder
        )
        _move(client, uid, target)
    return outcomes


def _wait_for_mail(client: IMAPClient, seconds: float, stop: threading.Event) -> None:
    if not client.has_capability("IDLE"):
        stop.wait(seconds)
        return
    client.idle()
    try:
        # Short checks so that a stop request is noticed within a second.
        deadline = time.monotonic() + seconds
        while not stop.is_set() and time.monotonic() < deadline:
            if client.idle_check(timeout=min(1.0, max(deadline - time.monotonic(), 0.01))):
                return  # the server told of new mail (or another change): look now
    finally:
        client.idle_done()


def run(
    config: ImapConfig,
    *,
    handle: Handle,
    uow_factory: Callable[[], UnitOfWork],
    stop: threading.Event,
    poll_seconds: float = 5.0,
    max_backoff: float = 60.0,
) -> None:
    """Read the folder until `stop` is set: IDLE or poll, reconnecting with backoff."""
    backoff = 1.0
    while not stop.is_set():
        try:
            client = connect(config)
        except (OSError, IMAPClientError) as exc:
            log.warning("IMAP connect failed (%s); retrying in %.0f s", type(exc).__name__, backoff)
            stop.wait(backoff)
            backoff = min(backoff * 2, max_backoff)
            continue
        try:
            while not stop.is_set():
                poll_once(client, config, handle=handle, uow_factory=uow_factory)
                backoff = 1.0  # a full pass worked: the next trouble starts from a short wait
                _wait_for_mail(client, poll_seconds, stop)
        except Exception as exc:  # connection, server or database trouble: start over later
            log.warning(
                "IMAP pass failed (%s); reconnecting in %.0f s", type(exc).__name__, backoff
            )
            stop.wait(backoff)
            backoff = min(backoff * 2, max_backoff)
        finally:
            try:
                client.logout()
            except Exception:  # the connection may already be gone; nothing to close
                client.shutdown()
