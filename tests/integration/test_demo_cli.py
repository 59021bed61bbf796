"""`docintake demo seed` and `demo send` on a fresh home, read back through the real intake."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from flows.cli import app
from flows.cli.demo import guide
from flows.demo import FORM_TYPES
from flows.settings import Settings
from handlers.books import books_to_json, export_books
from handlers.checks import check_application
from handlers.db import UnitOfWork, make_engine
from handlers.models import Application, ApplicationStatus, User, UserRole

cli = CliRunner()


@pytest.fixture(autouse=True)
def demo_level(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo's own sender verification level (`demo run` sets it): the From is believed."""
    monkeypatch.setenv("DOCINTAKE_SENDER_VERIFICATION", "off")


def _invoke(*args: str) -> str:
    result = cli.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _uow(home: Path) -> UnitOfWork:
    return UnitOfWork(make_engine(f"sqlite:///{(home / 'docintake.db').resolve()}"))


def _books_json(home: Path) -> bytes:
    return books_to_json(export_books(uow=_uow(home), today=date.today()))


def test_demo_seed_twice_gives_the_same_books(docintake_home: Path) -> None:
    """Seeding an empty database twice leaves exactly the books the first seed made."""
    first_output = _invoke("demo", "seed")
    first = _books_json(docintake_home)
    second_output = _invoke("demo", "seed")
    assert _books_json(docintake_home) == first
    assert "3 customers" in first_output
    assert "nothing changed" in second_output
    for username in ("ilze", "maris"):
        assert f"otpauth://totp/docintake:{username}?secret=" in first_output
        assert f"Staff {username} already enrolled" in second_output
    with _uow(docintake_home) as uow:
        roles = {u.role for u in uow.session.exec(select(User))}
    assert roles == {UserRole.user, UserRole.accountant}
    balances = export_books(uow=_uow(docintake_home), today=date.today())
    assert len(balances.customers) == 3
    assert sum(
        (u.balance for c in balances.customers for k in c.contracts for u in k.users),
        Decimal(0),
    ) == Decimal("192.50")


def test_demo_send_gives_seven_requests_and_one_invalid(docintake_home: Path) -> None:
    """The 8 sample e-mails become one valid application per type and one invalid one."""
    _invoke("demo", "seed")
    _invoke("demo", "send")
    assert len(list((docintake_home / "inbox").glob("*.eml"))) == 8
    output = _invoke("intake", "once", "--settle-seconds", "0")
    assert "8 message(s) processed" in output
    with _uow(docintake_home) as uow:
        rows = list(uow.session.exec(select(Application)))
        uow.session.expunge_all()  # keep the rows readable after the unit of work ends
    statuses = Counter(str(a.status) for a in rows)
    assert statuses == {"received": 7, "invalid": 1}
    received = [a for a in rows if a.status == ApplicationStatus.received]
    assert sorted(a.form_type or "" for a in received) == sorted(FORM_TYPES)
    (invalid,) = [a for a in rows if a.status == ApplicationStatus.invalid]
    assert [e["field"] for e in invalid.errors] == ["reg_no"]
    for application in received:
        check = check_application(
            application.form_type or "",
            application.fields,
            uow=_uow(docintake_home),
            sender=application.sender,
            today=date.today(),
        )
        assert check.errors == [], (application.form_type, check.errors)
    replies = list((docintake_home / "outbox").glob("*.eml"))
    assert len(replies) == 8


def test_demo_send_twice_files_again_and_flags_the_reused_message_ids(
    docintake_home: Path,
) -> None:
    """A batch sent again has the same Message-IDs, other bytes: filed again, flagged to staff."""
    _invoke("demo", "seed")
    _invoke("demo", "send")
    _invoke("intake", "once", "--settle-seconds", "0")
    _invoke("demo", "send")
    _invoke("intake", "once", "--settle-seconds", "0")
    with _uow(docintake_home) as uow:
        rows = uow.session.exec(select(Application).order_by(Application.id)).all()  # type: ignore[arg-type]
        flagged = [{w["code"] for w in a.warnings} for a in rows[8:]]
    assert len(rows) == 16
    assert all("message_id_reused" in codes for codes in flagged)


def test_demo_guide_says_where_to_look(
    docintake_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The text `demo run` prints names the UI, the approve command and the replies' folder."""
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    text = guide(Settings(prefect_port=4321))
    assert "http://127.0.0.1:4321" in text
    assert "docintake requests list --pending" in text
    assert "docintake requests approve REF --staff USERNAME" in text
    assert f"{(docintake_home / 'outbox').resolve()}/" in text
    assert "fee_increase and requisites_change need a second approval by the other staff" in text
