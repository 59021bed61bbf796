"""Fixtures shared by every tier: a fixed 'today', and real SQLite and PostgreSQL databases."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from handlers.db import UnitOfWork, create_all, make_engine
from tests.support.books import MX_AUTHSERV_ID
from tests.support.databases import fresh_postgres

# The real SMTP server on loopback (`smtp_sink` fixture) every tier may use.
pytest_plugins = ["tests.support.smtp_sink"]

TODAY = date(2026, 11, 25)


@pytest.fixture(autouse=True)
def keep_umask() -> Iterator[None]:
    """A CLI command under test sets umask 077 for its process, pytest's: put it back after.

    Servers the tests start later (Dovecot's auth socket) need the umask they were written for.
    """
    before = os.umask(0o022)
    os.umask(before)
    yield
    os.umask(before)


@pytest.fixture
def today() -> date:
    """The fixed date the tests treat as today."""
    return TODAY


@pytest.fixture
def docintake_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private DOCINTAKE_HOME for the test."""
    home = tmp_path / "var"
    home.mkdir()
    monkeypatch.setenv("DOCINTAKE_HOME", str(home))
    monkeypatch.delenv("DOCINTAKE_DATABASE_URL", raising=False)
    monkeypatch.delenv("DOCINTAKE_SMTP_HOST", raising=False)
    # Mail made by tests.support.books.make_message carries this boundary's verdict.
    monkeypatch.setenv("DOCINTAKE_TRUSTED_AUTHSERV_IDS", MX_AUTHSERV_ID)
    return home


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database on the machine's server, dropped after the test."""
    with fresh_postgres() as url:  # an unreachable server fails the test, never skips it
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite database file."""
    return f"sqlite:///{tmp_path / 'books.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The same test on real SQLite and on real PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'books.db'}"
    else:
        yield request.getfixturevalue("pg_url")


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine with every table created."""
    eng = make_engine(db_url)
    create_all(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def uow(engine: Engine) -> UnitOfWork:
    """A unit of work on the test database."""
    return UnitOfWork(engine)
