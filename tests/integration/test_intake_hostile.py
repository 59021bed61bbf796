"""The hostile-mail set (tests/fixtures/hostile_mail), each case to its manifest's outcome.

All through the drop folder, a representative part through the SMTP listener and IMAP: on real
SQLite and PostgreSQL, a real SMTP listener, a real Dovecot and a real DNS server.
"""

from __future__ import annotations

import json
import smtplib
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select
from typer.testing import CliRunner

from flows.cli.requests import app as requests_app
from handlers.db import UnitOfWork
from handlers.models import Application, InboundMessage, MessageStatus, OutboxMessage
from intake.mime import Limits
from intake.pipeline import MessageOutcome, process_message
from intake.senders import Trust, Verification
from intake.sources import imap
from intake.sources.dropdir import deliver, process_inbox
from intake.sources.imap import ImapConfig
from intake.sources.smtp import start_listener
from intake.verify import make_resolver
from tests.support.books import ANNA, INTAKE_ADDRESS, MX_TRUST, STAFF_ADDRESS, seed_contract
from tests.support.dns_server import DnsServer
from tests.support.dovecot import Dovecot
from tests.support.smtp_sink import free_port

FIXTURES = Path(__file__).parents[1] / "fixtures" / "hostile_mail"
MANIFEST: dict[str, Any] = json.loads((FIXTURES / "manifest.json").read_text(encoding="utf-8"))
CASES: list[dict[str, Any]] = MANIFEST["cases"]
LIMITS = Limits(max_message_bytes=MANIFEST["limit"])
Handle = Callable[..., MessageOutcome]


def _seed(uow: UnitOfWork) -> None:
    seed_contract(uow)
    seed_contract(
        uow,
        reg_no="40103001201",
        name='SIA "Bērzs"',
        contract_no="L-2020/0456",
        authorized=(("Pēteris Bērziņš", "peteris@berzs.lv"),),
        users=(),
    )


def _handler(engine: Engine, home: Path, today: date, trust: Trust, source: str) -> Handle:
    def handle(raw: bytes, *, size: int | None = None) -> MessageOutcome:
        return process_message(
            raw,
            source=source,
            uow_factory=lambda: UnitOfWork(engine),
            home=home,
            today=today,
            staff_email=STAFF_ADDRESS,
            trust=trust,
            limits=LIMITS,
            size=size,
        )

    return handle


def _rows(engine: Engine, model: type) -> list[Any]:
    with UnitOfWork(engine) as uow:
        query: Any = select(model).order_by(model.id)  # type: ignore[attr-defined]
        rows: list[Any] = list(uow.session.exec(query).all())
        uow.session.expunge_all()
        return rows


def _assert_case(case: dict[str, Any], outcome: MessageOutcome, engine: Engine) -> None:
    """The message's status, its applications and every e-mail written about it."""
    name = case["file"]
    assert outcome.status is MessageStatus(case["status"]), name
    apps = [a for a in _rows(engine, Application) if a.message_id == outcome.message_id]
    got = [[str(a.status), [e["code"] for e in a.errors]] for a in apps]
    assert got == case["applications"], name
    for app in apps:
        assert set(case.get("warnings", [])) <= {w["code"] for w in app.warnings}, name
    keys = {f"message-{outcome.sha256}", *(a.reference for a in apps)}
    outbox: list[OutboxMessage] = [m for m in _rows(engine, OutboxMessage) if m.dedupe_key in keys]
    assert sorted([m.template, m.recipient] for m in outbox) == sorted(case["mail"]), name
    # The form's own addresses (the attacker's) never get a copy.
    assert all("evil.lv" not in " ".join([m.recipient, *m.cc]) for m in outbox), name


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """The intake's home."""
    folder = tmp_path / "var"
    folder.mkdir()
    return folder


def test_every_hostile_message_through_the_drop_folder(
    engine: Engine,
    uow: UnitOfWork,
    db_url: str,
    home: Path,
    today: date,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each attack in the manifest ends as written there; nothing unsafe is stored."""
    _seed(uow)
    inbox = home / "inbox"
    handle = _handler(engine, home, today, MX_TRUST, "dropdir")
    for case in CASES:
        deliver(inbox, (FIXTURES / case["file"]).read_bytes())
        [result] = process_inbox(
            inbox, handle=handle, settle_seconds=0, max_message_bytes=LIMITS.max_message_bytes
        )
        assert result.outcome is not None, f"{case['file']}: {result.error}"
        _assert_case(case, result.outcome, engine)
    assert list((inbox / "processing").glob("*.eml")) == []

    # No NUL, control character or lone surrogate reached the database.
    for app in _rows(engine, Application):
        text = json.dumps([app.fields, app.errors, app.warnings, app.filename])
        for unsafe in ("\\u0000", "\\u0001", "\\ud8"):
            assert unsafe not in text
    # Staff commands read what clients wrote without crashing.
    monkeypatch.setenv("DOCINTAKE_DATABASE_URL", db_url)
    monkeypatch.setenv("DOCINTAKE_HOME", str(home))
    runner = CliRunner()
    listed = runner.invoke(requests_app, ["list", "--json"])
    assert listed.exit_code == 0, listed.output
    references = [row["reference"] for row in json.loads(listed.output)]
    assert len(references) == len(_rows(engine, Application))
    for reference in references:
        shown = runner.invoke(requests_app, ["show", reference])
        assert shown.exit_code == 0, shown.output


@pytest.fixture
def dns() -> Iterator[DnsServer]:
    """A real DNS server on loopback with no records for the attackers' domains."""
    with DnsServer() as server:
        yield server


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_hostile_messages_through_the_smtp_listener(
    engine: Engine, uow: UnitOfWork, home: Path, today: date, dns: DnsServer
) -> None:
    """Via our own listener: incoming A-R deleted, our own checks, the same ends."""
    _seed(uow)
    inbox = home / "inbox"
    port = free_port()
    listener = start_listener(
        host="127.0.0.1",
        port=port,
        intake_address=INTAKE_ADDRESS,
        inbox=inbox,
        max_message_bytes=LIMITS.max_message_bytes,
        authserv_id="docintake",
        resolver=make_resolver([dns.address]),
    )
    trust = Trust(level=Verification.require, trusted_authserv_ids=("docintake",))
    handle = _handler(engine, home, today, trust, "smtp")
    try:
        for case in [c for c in CASES if c.get("smtp")]:
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
                client.sendmail(ANNA[1], [INTAKE_ADDRESS], (FIXTURES / case["file"]).read_bytes())
            [stored] = list(inbox.glob("*.eml"))
            head = stored.read_bytes().split(b"\r\n\r\n", 1)[0]
            # Exactly one verdict, ours, on top; whatever the sender wrote is gone.
            assert head.count(b"Authentication-Results:") == 1, case["file"]
            assert head.startswith(b"Authentication-Results: docintake;"), case["file"]
            [result] = process_inbox(inbox, handle=handle, settle_seconds=0)
            assert result.outcome is not None
            _assert_case(case, result.outcome, engine)
    finally:
        listener.stop()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_hostile_messages_through_imap(
    engine: Engine, uow: UnitOfWork, home: Path, today: date
) -> None:
    """Via a real Dovecot: the same ends; the oversized one is never fetched whole."""
    _seed(uow)
    handle = _handler(engine, home, today, MX_TRUST, "imap")
    picked = [c for c in CASES if c.get("imap")]
    with Dovecot() as server:
        client = server.client()
        for case in picked:
            client.append("INBOX", (FIXTURES / case["file"]).read_bytes())
        client.logout()
        config = ImapConfig(
            host=server.host,
            port=server.port,
            username=server.user,
            password=server.password,
            ssl=False,
            max_message_bytes=LIMITS.max_message_bytes,
        )
        session = imap.connect(config)
        try:
            outcomes = imap.poll_once(
                session, config, handle=handle, uow_factory=lambda: UnitOfWork(engine)
            )
        finally:
            session.logout()
    assert len(outcomes) == len(picked)
    for case, outcome in zip(picked, outcomes, strict=True):
        _assert_case(case, outcome, engine)
    [oversized] = [m for m in _rows(engine, InboundMessage) if m.status is MessageStatus.rejected]
    # Recorded at its real size, though only its headers were fetched and stored.
    assert oversized.size > LIMITS.max_message_bytes
    assert (home / "messages" / oversized.sha256).stat().st_size < 4096
