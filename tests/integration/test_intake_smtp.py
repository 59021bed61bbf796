"""The SMTP listener, driven by a real SMTP client over loopback."""

from __future__ import annotations

import smtplib
import socket
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from handlers.db import UnitOfWork
from handlers.models import Application, ApplicationStatus
from intake.pipeline import MessageOutcome, process_message
from intake.senders import Trust, Verification
from intake.sources.dropdir import process_inbox
from intake.sources.smtp import start_listener
from tests.support.books import (
    ANNA,
    INTAKE_ADDRESS,
    STAFF_ADDRESS,
    fee_increase_values,
    form_docx,
    make_message,
    seed_contract,
)

LIMIT = 200_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """A running listener on a free loopback port, and its drop folder."""
    inbox = tmp_path / "var" / "inbox"
    port = _free_port()
    controller = start_listener(
        host="127.0.0.1",
        port=port,
        intake_address=INTAKE_ADDRESS,
        inbox=inbox,
        max_message_bytes=LIMIT,
    )
    try:
        yield port, inbox
    finally:
        controller.stop()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_mail_to_the_intake_address_is_stored_before_250_and_becomes_an_application(
    listener: tuple[int, Path], engine: Engine, uow: UnitOfWork, today: date
) -> None:
    """After 250 the message is on disk, foreign A-R removed; the drop-folder pass reads it."""
    port, inbox = listener
    seed_contract(uow)
    raw = make_message(attachments=(("a.docx", form_docx("fee_increase", fee_increase_values())),))
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        refused = client.sendmail(ANNA[1], [INTAKE_ADDRESS.upper()], raw)
    assert refused == {}
    [stored] = list(inbox.glob("*.eml"))
    # Stored as received, but for the Authentication-Results the sender's side wrote: gone.
    assert raw.startswith(b"Authentication-Results: mx.example.lv;")
    assert stored.read_bytes() == raw[raw.index(b"\r\nFrom: ") + 2 :]

    def handle(data: bytes) -> MessageOutcome:
        return process_message(
            data,
            source="smtp",
            uow_factory=lambda: UnitOfWork(engine),
            home=inbox.parent,
            today=today,
            staff_email=STAFF_ADDRESS,
            trust=Trust(level=Verification.off),
        )

    [result] = process_inbox(inbox, handle=handle, settle_seconds=0)
    assert result.outcome is not None
    with UnitOfWork(engine) as check:
        [app] = check.session.exec(select(Application)).all()
        assert app.status is ApplicationStatus.received
        assert app.form_type == "fee_increase"


def test_other_recipients_are_refused_at_rcpt(listener: tuple[int, Path]) -> None:
    """The listener is no open relay: any address but the intake's gets 550."""
    port, inbox = listener
    with (
        smtplib.SMTP("127.0.0.1", port, timeout=10) as client,
        pytest.raises(smtplib.SMTPRecipientsRefused) as refused,
    ):
        client.sendmail(ANNA[1], ["someone@example.lv"], make_message(to="someone@example.lv"))
    [(code, _text)] = refused.value.recipients.values()
    assert code == 550
    assert list(inbox.glob("*.eml")) == []


def test_a_message_over_the_size_limit_is_refused_and_not_stored(
    listener: tuple[int, Path],
) -> None:
    """Over the limit: 552, and nothing lands in the drop folder."""
    port, inbox = listener
    big = make_message(attachments=(("big.rtf", b"{\\rtf1 " + b"x" * LIMIT + b"}"),))
    with (
        smtplib.SMTP("127.0.0.1", port, timeout=10) as client,
        pytest.raises((smtplib.SMTPDataError, smtplib.SMTPSenderRefused)) as error,
    ):
        client.sendmail(ANNA[1], [INTAKE_ADDRESS], big)
    assert error.value.smtp_code == 552
    assert list(inbox.glob("*.eml")) == []
