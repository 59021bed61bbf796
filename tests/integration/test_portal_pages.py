"""The portal's pages over real books: protocol and CSV, e-mail change by link, the contract."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from handlers.db import UnitOfWork, create_all, make_engine
from handlers.models import AuditEvent, LedgerEntry, User, utcnow
from tests.support.portal import (
    PortalBooks,
    PortalClient,
    RunningPortal,
    portal_config,
    seed_portal_books,
    serve_portal,
)
from tests.support.smtp_sink import SmtpSink


@pytest.fixture
def books_engine(tmp_path: Path) -> Iterator[Engine]:
    """A fresh SQLite accounts database with every table."""
    engine = make_engine(f"sqlite:///{tmp_path / 'books.db'}")
    create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def books(books_engine: Engine) -> PortalBooks:
    """One contract with a user who has a password and a balance, and an authorized person."""
    return seed_portal_books(UnitOfWork(books_engine), tag="pages")


@pytest.fixture
def portal(
    tmp_path: Path, books_engine: Engine, books: PortalBooks, smtp_sink: SmtpSink
) -> Iterator[RunningPortal]:
    """The portal served on a free loopback port, mailing into the sink."""
    config = portal_config(database_url=str(books_engine.url), home=tmp_path, sink=smtp_sink)
    with serve_portal(config) as running:
        yield running


@pytest.fixture
def client(portal: RunningPortal, books: PortalBooks) -> Iterator[PortalClient]:
    """A browser-like client, signed in as the user."""
    http = PortalClient(portal.base_url)
    http.sign_in(books.username, books.password)
    yield http
    http.close()


def _add_entry(engine: Engine, username: str, amount: str, days_ago: int, text: str) -> None:
    with UnitOfWork(engine) as uow:
        user = uow.session.exec(select(User).where(User.username == username)).one()
        assert user.id is not None
        uow.session.add(
            LedgerEntry(
                user_id=user.id,
                amount=Decimal(amount),
                kind="usage",
                description=text,
                created_at=utcnow() - timedelta(days=days_ago),
            )
        )
        uow.commit()


def test_the_protocol_filters_by_dates_and_downloads_as_csv(
    client: PortalClient, books: PortalBooks, books_engine: Engine
) -> None:
    """Entries outside the dates are left out, and the CSV keeps a formula-like text as text."""
    _add_entry(books_engine, books.username, "-3.00", 40, "old usage")
    _add_entry(books_engine, books.username, "-2.00", 1, "=HYPERLINK(1)")
    since = (utcnow() - timedelta(days=10)).strftime("%d.%m.%Y")
    page = client.get("/protocol", params={"date_from": since})
    assert page.status_code == 200
    assert "=HYPERLINK(1)" in page.text
    assert "old usage" not in page.text
    assert "-2,00" in page.text
    download = client.get("/protocol.csv", params={"date_from": since})
    assert download.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(download.text.lstrip("\ufeff")), delimiter=";"))
    ledger = [row for row in rows if row[0] == "ledger"]
    assert rows[0][6] == "description"
    assert [(row[5], row[6], row[7]) for row in ledger] == [
        ("usage", "'=HYPERLINK(1)", "-2.00"),
        ("opening", "", "25.00"),
    ]
    bad = client.get("/protocol", params={"date_from": "32.13.2026"})
    assert "Datums jāraksta kā dd.mm.gggg." in bad.text


def test_a_new_email_changes_only_after_its_link_is_opened(
    client: PortalClient, books: PortalBooks, books_engine: Engine, smtp_sink: SmtpSink
) -> None:
    """The e-mail stays until the link mailed to the new address is confirmed; audited as portal."""
    asked = client.post("/details", {"email": "Jauna.Adrese@Ozols.LV", "phone": ""})
    assert "Jauna.Adrese@ozols.lv" in asked.text
    [mail] = smtp_sink.wait_for(1, timeout=30)
    assert mail["To"] == "Jauna.Adrese@ozols.lv"
    body = mail.get_body(("plain",))
    assert body is not None
    found = re.search(r"http://\S+/details/confirm\?token=\S+", body.get_content())
    assert found is not None
    with UnitOfWork(books_engine) as uow:
        user = uow.session.exec(select(User).where(User.username == books.username)).one()
        assert user.email == books.user_email
    stranger = PortalClient(client.http.base_url.__str__())
    try:
        confirm = stranger.get(found.group(0).removeprefix(str(client.http.base_url)))
        assert "Jauna.Adrese@ozols.lv" in confirm.text
        token = found.group(0).split("token=")[1]
        done = stranger.post("/details/confirm", {"token": token})
        assert "E-pasts nomainīts" in done.text
        again = stranger.post("/details/confirm", {"token": token})
        assert "Saite nav derīga" in again.text
    finally:
        stranger.close()
    with UnitOfWork(books_engine) as uow:
        user = uow.session.exec(select(User).where(User.username == books.username)).one()
        assert user.email == "Jauna.Adrese@ozols.lv"
        actors = set(
            uow.session.exec(
                select(AuditEvent.actor).where(col(AuditEvent.action) == "user.contact")
            ).all()
        )
    assert actors == {"portal"}


def test_a_surname_is_not_edited_but_explained(client: PortalClient) -> None:
    """The details page offers no surname field and says whom to write to."""
    page = client.get("/details")
    assert 'name="last_name"' not in page.text
    assert "Uzvārda maiņai rakstiet uz staff@example.lv" in page.text


def test_a_user_cannot_open_an_authorized_persons_pages(client: PortalClient) -> None:
    """A user asking for the applications page is sent back to their own account."""
    assert client.get("/applications").url.path == "/account"
    assert client.get("/forms/user_add.docx").url.path == "/account"
