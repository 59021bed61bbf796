"""The drop folder: half-written files are left alone, and a crash mid-message loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select
from typer.testing import CliRunner

from flows.cli.intake import app as intake_app
from handlers.db import UnitOfWork
from handlers.models import Application, InboundMessage, MessageStatus, OutboxMessage
from intake.pipeline import MessageOutcome, process_message
from intake.sources.dropdir import deliver, process_inbox
from tests.support.books import (
    MX_TRUST,
    STAFF_ADDRESS,
    fee_increase_values,
    form_docx,
    form_rtf,
    make_message,
    seed_contract,
)

REPO = Path(__file__).resolve().parents[2]


def _two_forms() -> bytes:
    return make_message(
        attachments=(
            ("a.docx", form_docx("fee_increase", fee_increase_values())),
            ("b.rtf", form_rtf("fee_increase", fee_increase_values(new_fee="175"))),
        )
    )


def _handler(engine: Engine, home: Path, today: date) -> Callable[[bytes], MessageOutcome]:
    def handle(raw: bytes) -> MessageOutcome:
        return process_message(
            raw,
            source="dropdir",
            uow_factory=lambda: UnitOfWork(engine),
            home=home,
            today=today,
            staff_email=STAFF_ADDRESS,
            trust=MX_TRUST,
        )

    return handle


def _count(engine: Engine, model: type) -> int:
    with UnitOfWork(engine) as uow:
        return len(uow.session.exec(select(model)).all())


def _names(folder: Path) -> list[str]:
    return sorted(p.name.split("--", 1)[-1] for p in folder.glob("*.eml"))


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    """The drop folder."""
    folder = tmp_path / "var" / "inbox"
    folder.mkdir(parents=True)
    return folder


def test_a_file_still_being_written_is_not_read(
    engine: Engine, uow: UnitOfWork, inbox: Path, today: date
) -> None:
    """`.tmp` files are never read and a just-modified `.eml` waits; a settled one is taken."""
    seed_contract(uow)
    handle = _handler(engine, inbox.parent, today)
    raw = _two_forms()
    (inbox / "writing.eml.tmp").write_bytes(raw[: len(raw) // 2])
    fresh = inbox / "fresh.eml"
    fresh.write_bytes(raw[: len(raw) // 3])  # a writer that does not use a temporary name

    assert process_inbox(inbox, handle=handle, settle_seconds=30) == []
    assert _count(engine, InboundMessage) == 0

    fresh.write_bytes(raw)  # the writer finished
    past = time.time() - 60
    os.utime(fresh, (past, past))
    [result] = process_inbox(inbox, handle=handle, settle_seconds=30)

    assert result.name == "fresh.eml"
    assert result.outcome is not None
    assert len(result.outcome.valid_application_ids) == 2
    assert _names(inbox / "done") == ["fresh.eml"]
    assert (inbox / "writing.eml.tmp").exists()


def test_final_messages_move_to_done_or_rejected(
    engine: Engine, uow: UnitOfWork, inbox: Path, today: date
) -> None:
    """Taken forms end in done/, a stranger's message in rejected/; the inbox is empty."""
    seed_contract(uow)
    (inbox / "good.eml").write_bytes(_two_forms())
    (inbox / "stranger.eml").write_bytes(make_message(from_addr="x@elsewhere.lv"))
    results = process_inbox(inbox, handle=_handler(engine, inbox.parent, today), settle_seconds=0)

    assert sorted(r.name for r in results) == ["good.eml", "stranger.eml"]
    assert _names(inbox / "done") == ["good.eml"]
    assert _names(inbox / "rejected") == ["stranger.eml"]
    assert list(inbox.glob("*.eml")) == []


def test_two_files_with_the_same_name_are_both_kept(
    engine: Engine, uow: UnitOfWork, inbox: Path, today: date
) -> None:
    """A second file dropped under a name already taken is a new message, not an overwrite."""
    seed_contract(uow)
    handle = _handler(engine, inbox.parent, today)
    (inbox / "mail.eml").write_bytes(make_message())
    process_inbox(inbox, handle=handle, settle_seconds=0)
    (inbox / "mail.eml").write_bytes(_two_forms())
    process_inbox(inbox, handle=handle, settle_seconds=0)

    assert _names(inbox / "rejected") == ["mail.eml"]
    assert _names(inbox / "done") == ["mail.eml"]


def test_a_failure_leaves_the_file_for_the_next_pass(
    engine: Engine, uow: UnitOfWork, inbox: Path, today: date
) -> None:
    """If processing raises, the file stays in processing/ and the next pass finishes it."""
    seed_contract(uow)
    real = _handler(engine, inbox.parent, today)
    calls = {"n": 0}

    def flaky(raw: bytes) -> MessageOutcome:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("database away")
        return real(raw)

    deliver(inbox, _two_forms())
    [failed] = process_inbox(inbox, handle=flaky, settle_seconds=0)
    assert failed.outcome is None
    assert "left in processing/" in failed.summary()
    assert len(list((inbox / "processing").glob("*.eml"))) == 1

    [finished] = process_inbox(inbox, handle=flaky, settle_seconds=0)
    assert finished.outcome is not None
    assert finished.outcome.status is MessageStatus.done
    assert list((inbox / "processing").glob("*.eml")) == []


WORKER = """
import os, signal, sys
sys.path.insert(0, {repo!r})
from handlers import applications, inbound_messages
from flows.intake_wiring import intake_once
from flows.common import load_settings

point = {point!r}
name = point.removeprefix("before_").removeprefix("after_")
module = applications if hasattr(applications, name) else inbound_messages
original = getattr(module, name)

def crashing(*args, **kwargs):
    if point.startswith("before_"):
        os.kill(os.getpid(), signal.SIGKILL)
    result = original(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)
    return result

setattr(module, original.__name__, crashing)
intake_once(load_settings(), settle_seconds=0)
"""


@pytest.mark.parametrize(
    "point", ["after_record_message", "after_create_application", "before_finish_message"]
)
def test_a_worker_killed_mid_message_loses_nothing_and_repeats_nothing(
    engine: Engine,
    uow: UnitOfWork,
    db_url: str,
    docintake_home: Path,
    point: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Kill the worker at a step, restart: one application per form, one receipt each."""
    seed_contract(uow)
    monkeypatch.setenv("DOCINTAKE_DATABASE_URL", db_url)
    inbox = docintake_home / "inbox"
    inbox.mkdir()
    deliver(inbox, _two_forms())

    worker = subprocess.run(
        [sys.executable, "-c", WORKER.format(repo=str(REPO), point=point)],
        env=os.environ.copy(),
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert worker.returncode == -signal.SIGKILL, worker.stderr.decode()
    # The kill came mid-message: the file is still claimed and the message not final.
    assert len(list((inbox / "processing").glob("*.eml"))) == 1
    with UnitOfWork(engine) as check:
        [message] = check.session.exec(select(InboundMessage)).all()
        assert message.status is MessageStatus.received

    restart = CliRunner().invoke(intake_app, ["once", "--settle-seconds", "0"])
    assert restart.exit_code == 0, restart.output

    with UnitOfWork(engine) as check:
        apps = check.session.exec(select(Application).order_by(col(Application.id))).all()
        mails = check.session.exec(select(OutboxMessage)).all()
        [message] = check.session.exec(select(InboundMessage)).all()
        assert [a.attachment_index for a in apps] == [1, 2]
        assert sorted((m.template, m.dedupe_key) for m in mails) == sorted(
            ("receipt", a.reference) for a in apps
        )
        assert message.status is MessageStatus.done
        stored_name = f"{message.sha256}.eml"
    assert _names(inbox / "done") == [stored_name]
    # The replies left through the outbox (no SMTP host: .eml files under home/outbox).
    assert len(list((docintake_home / "outbox").glob("*.eml"))) == 2


def test_intake_once_prints_a_line_per_message(
    engine: Engine,
    uow: UnitOfWork,
    db_url: str,
    docintake_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`docintake intake once` reports each message by file, status and references."""
    seed_contract(uow)
    monkeypatch.setenv("DOCINTAKE_DATABASE_URL", db_url)
    inbox = docintake_home / "inbox"
    inbox.mkdir()
    (inbox / "one.eml").write_bytes(_two_forms())
    (inbox / "two.eml").write_bytes(make_message(from_addr="x@elsewhere.lv"))
    for path in inbox.glob("*.eml"):
        os.utime(path, (time.time() - 10, time.time() - 10))

    result = CliRunner().invoke(intake_app, ["once"])

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "one.eml: done: 2 application(s) LUR-2026-000001, LUR-2026-000002" in lines[0] or (
        lines[0].startswith("one.eml: done: 2 application(s) LUR-")
    )
    assert lines[1].startswith("two.eml: quarantined: 0 application(s)")
    assert "2 message(s) processed" in result.output
    assert "x@elsewhere.lv" not in result.output  # no personal data in the summary


def test_intake_once_on_a_fresh_home_makes_the_schema_and_writes_the_reply(
    docintake_home: Path,
) -> None:
    """With no database yet, the schema is migrated; a stranger is quarantined, not answered."""
    inbox = docintake_home / "inbox"
    inbox.mkdir()
    (inbox / "hello.eml").write_bytes(make_message(from_addr="x@elsewhere.lv"))

    result = CliRunner().invoke(intake_app, ["once", "--settle-seconds", "0"])

    assert result.exit_code == 0, result.output
    assert result.output.startswith("hello.eml: quarantined: 0 application(s)")
    assert "outbox: 0 sent, 0 failed" in result.output
    assert list((docintake_home / "outbox").glob("*.eml")) == []
    assert _names(inbox / "rejected") == ["hello.eml"]
