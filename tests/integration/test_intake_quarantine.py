"""`docintake intake quarantine list|release|drop`: staff look after held messages."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from flows.cli.intake import app as intake_app
from flows.cli.requests import app as requests_app
from handlers.db import UnitOfWork, make_engine
from handlers.models import Application, ApplicationStatus, OutboxMessage
from tests.support.books import ANNA, fee_increase_values, form_rtf, make_message, seed_contract


def _drop(inbox: Path, name: str, raw: bytes) -> None:
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / name).write_bytes(raw)
    os.utime(inbox / name, (time.time() - 10, time.time() - 10))


def _invoke(*args: str) -> str:
    result = CliRunner().invoke(intake_app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_staff_list_release_and_drop_held_messages(
    docintake_home: Path, db_url: str, uow: UnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unverified client is released into an application; a stranger is dropped unanswered."""
    monkeypatch.setenv("DOCINTAKE_DATABASE_URL", db_url)
    seed_contract(uow)
    form = form_rtf("fee_increase", fee_increase_values())
    inbox = docintake_home / "inbox"
    _drop(inbox, "client.eml", make_message(attachments=(("a.rtf", form),), verified=False))
    _drop(inbox, "stranger.eml", make_message(from_addr="someone@elsewhere.lv"))
    _invoke("once")

    held = json.loads(_invoke("quarantine", "list", "--json"))
    by_from = {row["from"]: row for row in held}
    assert set(by_from) == {ANNA[1], "someone@elsewhere.lv"}
    assert by_from[ANNA[1]]["reason"].startswith("sender not verified")
    assert by_from["someone@elsewhere.lv"]["reason"] == "sender not in the books"
    assert "2 message(s) in quarantine" in _invoke("quarantine", "list")

    released = _invoke("quarantine", "release", str(by_from[ANNA[1]]["id"]), "--staff", "Ilze")
    assert "done: 1 application(s)" in released
    _invoke("quarantine", "drop", str(by_from["someone@elsewhere.lv"]["id"]), "--staff", "Ilze")
    assert json.loads(_invoke("quarantine", "list", "--json")) == []

    engine = make_engine(db_url)
    with UnitOfWork(engine) as check:
        [app] = check.session.exec(select(Application)).all()
        assert app.status is ApplicationStatus.received
        outbox = check.session.exec(select(OutboxMessage)).all()
        recipients = {m.recipient for m in outbox}
    engine.dispose()
    assert ANNA[1] in recipients
    assert "someone@elsewhere.lv" not in recipients


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_releasing_what_is_not_held_is_refused(
    docintake_home: Path, db_url: str, uow: UnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unknown ID is a clear error, not a crash."""
    monkeypatch.setenv("DOCINTAKE_DATABASE_URL", db_url)
    seed_contract(uow)
    _invoke("quarantine", "list")
    result = CliRunner().invoke(intake_app, ["quarantine", "release", "999", "--staff", "Ilze"])
    assert result.exit_code == 2
    assert "no quarantined message 999" in result.output


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_under_flag_staff_views_say_sender_not_verified(
    docintake_home: Path, db_url: str, uow: UnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under `flag` unverified mail is read; `requests list`/`show` mark it; no mail goes out."""
    monkeypatch.setenv("DOCINTAKE_DATABASE_URL", db_url)
    monkeypatch.setenv("DOCINTAKE_SENDER_VERIFICATION", "flag")
    seed_contract(uow)
    form = form_rtf("fee_increase", fee_increase_values())
    _drop(
        docintake_home / "inbox",
        "a.eml",
        make_message(attachments=(("a.rtf", form),), verified=False),
    )
    assert "done: 1 application(s)" in _invoke("once")

    runner = CliRunner()
    [row] = json.loads(runner.invoke(requests_app, ["list", "--json"]).output)
    assert row["sender_verified"] is False
    shown = runner.invoke(requests_app, ["show", row["reference"]]).output
    assert "sender not verified: two approvers" in shown
    assert list((docintake_home / "outbox").glob("*.eml")) == []
