"""`docintake db upgrade` and `docintake accounts …` on a real SQLite database under home."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from alembic.script import ScriptDirectory
from sqlmodel import select
from typer.testing import CliRunner

from flows.cli.accounts import app
from flows.cli.db import app as db_app
from handlers.db import UnitOfWork, make_engine
from handlers.migrations import alembic_config
from handlers.models import OutboxMessage
from tests.support import give_balances
from tests.support.books import seed_contract

cli = typer.Typer()
cli.add_typer(app, name="accounts")
cli.add_typer(db_app, name="db")


@pytest.fixture
def home_books(docintake_home: Path) -> UnitOfWork:
    """A migrated, seeded SQLite database at home's default URL."""
    result = CliRunner().invoke(cli, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    # The newest migration, whichever it is: each new one moves the head.
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert f"revision {head}" in result.output
    engine = make_engine(f"sqlite:///{(docintake_home / 'docintake.db').resolve()}")
    uow = UnitOfWork(engine)
    seed_contract(uow)
    give_balances(uow)
    return uow


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_show_prints_the_users_balance(home_books: UnitOfWork) -> None:
    """`accounts show` prints contract, status and balance."""
    code, output = _run("accounts", "show", "jberzins")
    assert code == 0, output
    assert "L-2019/0123" in output
    assert "50.00 EUR" in output


def test_top_up_with_a_key_applies_once_and_shows_in_the_statement(home_books: UnitOfWork) -> None:
    """The same --key twice credits once; the statement lists the top-up and the new balance."""
    code, output = _run("accounts", "top-up", "jberzins", "12,50", "--key", "call-1")
    assert code == 0, output
    assert "balance 62.50 EUR" in output
    code, output = _run("accounts", "top-up", "jberzins", "12,50", "--key", "call-1")
    assert "already done" in output
    code, output = _run("accounts", "statement", "jberzins", "--from", "2000-01-01")
    assert "top_up" in output
    assert output.rstrip().endswith("62.50")
    with home_books:
        assert [m.template for m in home_books.session.exec(select(OutboxMessage)).all()] == [
            "topup_invoice"
        ]


def test_contact_changes_phone_and_unknown_user_fails(home_books: UnitOfWork) -> None:
    """`accounts contact` normalizes the phone; an unknown user exits 1 with LV and EN text."""
    code, output = _run("accounts", "contact", "jberzins", "--phone", "29 123 456")
    assert code == 0, output
    assert "+37129123456" in output
    code, output = _run("accounts", "show", "nobody")
    assert code == 1
    assert "nav atrasts" in output
    assert "not found" in output


def test_reset_password_answers_the_same_for_unknown_users(home_books: UnitOfWork) -> None:
    """A reset for a known and an unknown user prints the same text; only one mail is queued."""
    known = _run("accounts", "reset-password", "jberzins")
    unknown = _run("accounts", "reset-password", "nobody@example.lv")
    assert known == unknown
    assert known[0] == 0
    with home_books:
        rows = home_books.session.exec(select(OutboxMessage)).all()
        assert [(m.template, m.recipient) for m in rows] == [
            ("password_reset", "janis.berzins@ozols.lv")
        ]
