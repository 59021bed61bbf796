"""The IMAP source against a real Dovecot server started by the test."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from handlers import inbound_messages
from handlers.db import UnitOfWork
from handlers.models import Application, ImapMailboxState, MessageStatus, OutboxMessage
from intake.pipeline import MessageOutcome, process_message
from intake.sources import imap
from intake.sources.imap import ImapConfig
from tests.support.books import (
    MX_TRUST,
    STAFF_ADDRESS,
    fee_increase_values,
    form_docx,
    make_message,
    seed_contract,
)
from tests.support.dovecot import Dovecot

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

OLE2_DOC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512
Handle = Callable[[bytes], MessageOutcome]


@pytest.fixture
def handle(engine: Engine, uow: UnitOfWork, tmp_path: Path, today: date) -> Handle:
    """process_message on the test database, with the books seeded."""
    seed_contract(uow)

    def run(raw: bytes) -> MessageOutcome:
        return process_message(
            raw,
            source="imap",
            uow_factory=lambda: UnitOfWork(engine),
            home=tmp_path / "var",
            today=today,
            staff_email=STAFF_ADDRESS,
            trust=MX_TRUST,
        )

    return run


@pytest.fixture
def imap_server() -> Iterator[Dovecot]:
    """A real Dovecot for this test (a missing Dovecot fails, never skips)."""
    with Dovecot() as server:
        yield server


def _config(server: Dovecot, **overrides: object) -> ImapConfig:
    options: dict[str, object] = {
        "host": server.host,
        "port": server.port,
        "username": server.user,
        "password": server.password,
        "ssl": False,
    }
    options.update(overrides)
    return ImapConfig(**options)  # type: ignore[arg-type]


def _form_message(new_fee: str = "150,00") -> bytes:
    document = form_docx("fee_increase", fee_increase_values(new_fee=new_fee))
    return make_message(attachments=(("iesniegums.docx", document),))


def _folder_counts(server: Dovecot, *folders: str) -> dict[str, int]:
    client = server.client()
    try:
        return {f: int(client.folder_status(f, ["MESSAGES"])[b"MESSAGES"]) for f in folders}
    finally:
        client.logout()


def _rows(engine: Engine, model: type) -> int:
    with UnitOfWork(engine) as uow:
        return len(uow.session.exec(select(model)).all())


def _wait_for(predicate: Callable[[], bool], seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_messages_become_applications_and_move_to_processed_or_rejected(
    imap_server: Dovecot, handle: Handle, engine: Engine
) -> None:
    """A form goes to Processed with its application; a stranger's and a .doc to Rejected."""
    client = imap_server.client()
    client.append("INBOX", _form_message())
    client.append("INBOX", make_message(from_addr="x@elsewhere.lv"))
    client.append("INBOX", make_message(attachments=(("old.doc", OLE2_DOC),)))
    client.logout()

    config = _config(imap_server)
    session = imap.connect(config)
    try:
        outcomes = imap.poll_once(
            session, config, handle=handle, uow_factory=lambda: UnitOfWork(engine)
        )
    finally:
        session.logout()

    assert [o.status for o in outcomes] == [
        MessageStatus.done,
        MessageStatus.quarantined,
        MessageStatus.rejected,
    ]
    assert _rows(engine, Application) == 1
    assert _folder_counts(imap_server, "INBOX", "Processed", "Rejected") == {
        "INBOX": 0,
        "Processed": 1,
        "Rejected": 2,
    }
    with UnitOfWork(engine) as uow:
        [state] = uow.session.exec(select(ImapMailboxState)).all()
        assert state.last_uid == 3


def test_a_crash_before_the_move_takes_the_message_once_after_restart(
    imap_server: Dovecot, handle: Handle, engine: Engine
) -> None:
    """Final in the database but not yet moved: the next run only moves it, no second receipt."""
    client = imap_server.client()
    client.append("INBOX", _form_message())
    client.logout()
    config = _config(imap_server)

    def factory() -> UnitOfWork:
        return UnitOfWork(engine)

    def crash_after_processing(raw: bytes) -> MessageOutcome:
        handle(raw)
        raise OSError("connection dropped before the move")

    session = imap.connect(config)
    assert imap.poll_once(session, config, handle=crash_after_processing, uow_factory=factory) == []
    session.logout()
    assert _folder_counts(imap_server, "INBOX")["INBOX"] == 1

    session = imap.connect(config)
    try:
        [outcome] = imap.poll_once(session, config, handle=handle, uow_factory=factory)
    finally:
        session.logout()
    assert outcome.already_processed
    assert _rows(engine, Application) == 1
    assert _rows(engine, OutboxMessage) == 1
    assert _folder_counts(imap_server, "INBOX", "Processed") == {"INBOX": 0, "Processed": 1}


def test_a_recreated_folder_with_new_uidvalidity_is_read_from_the_start(
    imap_server: Dovecot, handle: Handle, engine: Engine
) -> None:
    """UIDs restart under a new UIDVALIDITY; the new messages are still taken."""
    config = _config(imap_server, folder="Intake")

    def factory() -> UnitOfWork:
        return UnitOfWork(engine)

    client = imap_server.client()
    client.create_folder("Intake")
    client.append("Intake", _form_message("150"))
    session = imap.connect(config)
    imap.poll_once(session, config, handle=handle, uow_factory=factory)
    first = inbound_messages.imap_last_uid(config.mailbox_key, 0, uow=factory())
    assert first == 0  # a different UIDVALIDITY is never trusted

    client.delete_folder("Intake")
    client.create_folder("Intake")
    client.append("Intake", _form_message("160"))
    client.logout()
    [outcome] = imap.poll_once(session, config, handle=handle, uow_factory=factory)
    session.logout()

    assert outcome.status is MessageStatus.done
    assert _rows(engine, Application) == 2


def test_idle_picks_up_a_new_message_while_running(
    imap_server: Dovecot, handle: Handle, engine: Engine
) -> None:
    """The running source notices a message appended while it waits (IDLE on Dovecot).

    The poll interval is far longer than the wait, so only IDLE can have woken it.
    """
    stop = threading.Event()
    config = _config(imap_server)
    worker = threading.Thread(
        target=imap.run,
        kwargs={
            "config": config,
            "handle": handle,
            "uow_factory": lambda: UnitOfWork(engine),
            "stop": stop,
            "poll_seconds": 300.0,
        },
        daemon=True,
    )
    worker.start()
    try:
        client = imap_server.client()
        client.append("INBOX", _form_message())
        client.logout()
        assert _wait_for(lambda: _rows(engine, Application) == 1)
        assert _wait_for(lambda: _folder_counts(imap_server, "Processed")["Processed"] == 1)
    finally:
        stop.set()
        worker.join(timeout=15)
    assert not worker.is_alive()


def test_the_source_reconnects_when_the_server_comes_up_late(
    handle: Handle, engine: Engine
) -> None:
    """Connection refused at first: it retries with backoff and takes the mail once up."""
    server = Dovecot()
    stop = threading.Event()
    worker = threading.Thread(
        target=imap.run,
        kwargs={
            "config": _config(server),
            "handle": handle,
            "uow_factory": lambda: UnitOfWork(engine),
            "stop": stop,
            "poll_seconds": 1.0,
            "max_backoff": 2.0,
        },
        daemon=True,
    )
    worker.start()
    try:
        time.sleep(1.5)  # let at least one connection attempt fail first
        server.start()
        client = server.client()
        client.append("INBOX", _form_message())
        client.logout()
        assert _wait_for(lambda: _rows(engine, Application) == 1)
    finally:
        stop.set()
        worker.join(timeout=15)
        server.stop()
    assert not worker.is_alive()


def test_tls_with_the_servers_certificate(handle: Handle, engine: Engine) -> None:
    """Over TLS (self-signed, trusted by the client context) the same mail is taken."""
    with Dovecot(tls=True) as server:
        client = server.client()
        client.append("INBOX", _form_message())
        client.logout()
        config = _config(server, ssl=True, ssl_context=server.ssl_context())
        session = imap.connect(config)
        try:
            [outcome] = imap.poll_once(
                session, config, handle=handle, uow_factory=lambda: UnitOfWork(engine)
            )
        finally:
            session.logout()
    assert outcome.status is MessageStatus.done
    assert len(outcome.valid_application_ids) == 1
