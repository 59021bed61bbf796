"""The portal's defences, against a real uvicorn on loopback and a real SQLite database."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from handlers.db import UnitOfWork, create_all, make_engine
from handlers.lookups import balance_of
from handlers.models import AuditEvent, PortalSession, User, utcnow
from handlers.portal_sessions import ThrottlePolicy
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
    return seed_portal_books(
        UnitOfWork(books_engine), tag="sec1", customer_name='SIA "<b>Ozols</b>"'
    )


@pytest.fixture
def portal(
    tmp_path: Path, books_engine: Engine, books: PortalBooks, smtp_sink: SmtpSink
) -> Iterator[RunningPortal]:
    """The portal served on a free loopback port (3 failures lock an account)."""
    config = portal_config(
        database_url=str(books_engine.url),
        home=tmp_path,
        sink=smtp_sink,
        throttle=ThrottlePolicy(account_failures=3, address_failures=6),
    )
    with serve_portal(config) as running:
        yield running


@pytest.fixture
def client(portal: RunningPortal) -> Iterator[PortalClient]:
    """A browser-like client of the portal."""
    http = PortalClient(portal.base_url)
    yield http
    http.close()


def _balance(engine: Engine, username: str) -> Decimal:
    with UnitOfWork(engine) as uow:
        user = uow.session.exec(select(User).where(User.username == username)).one()
        assert user.id is not None
        return balance_of(uow, user.id)


def test_a_form_without_the_right_csrf_token_is_refused(
    client: PortalClient, books: PortalBooks, books_engine: Engine
) -> None:
    """A top-up posted with a wrong or missing CSRF token is refused and credits nothing."""
    client.sign_in(books.username, books.password)
    page = client.get("/topup")
    assert page.status_code == 200
    forged = client.post("/topup", {"amount": "50", "key": "k1", "csrf": "forged"}, csrf=False)
    missing = client.post("/topup", {"amount": "50", "key": "k2"}, csrf=False)
    assert forged.status_code == 403
    assert missing.status_code == 403
    assert "Veidlapa novecojusi" in forged.text
    assert _balance(books_engine, books.username) == Decimal("25.00")
    honest = client.post("/topup", {"amount": "50", "key": "k3"})
    assert honest.status_code == 200
    assert _balance(books_engine, books.username) == Decimal("75.00")


def test_a_sign_in_without_the_browsers_csrf_cookie_is_refused(
    portal: RunningPortal, books: PortalBooks
) -> None:
    """A sign-in form posted from elsewhere (no CSRF cookie) is refused before the password."""
    other = PortalClient(portal.base_url)
    try:
        response = other.post(
            "/login",
            {"identifier": books.username, "password": books.password, "csrf": "x"},
            csrf=False,
        )
    finally:
        other.close()
    assert response.status_code == 403


def test_an_idle_session_expires_and_an_old_one_too(
    client: PortalClient, books: PortalBooks, books_engine: Engine
) -> None:
    """After 30 idle minutes, or 12 hours in all, the account page sends the browser to sign in."""
    client.sign_in(books.username, books.password)
    assert client.get("/account").url.path == "/account"
    with UnitOfWork(books_engine) as uow:
        row = uow.session.exec(select(PortalSession)).one()
        row.last_seen_at = utcnow() - timedelta(minutes=31)
        uow.session.add(row)
        uow.commit()
    assert client.get("/account").url.path == "/login"

    client.sign_in(books.username, books.password)
    assert client.get("/account").url.path == "/account"
    with UnitOfWork(books_engine) as uow:
        row = uow.session.exec(select(PortalSession)).one()
        row.created_at = utcnow() - timedelta(hours=12, minutes=1)
        uow.session.add(row)
        uow.commit()
    assert client.get("/account").url.path == "/login"


def test_sign_in_rotates_the_session(
    client: PortalClient, books: PortalBooks, books_engine: Engine
) -> None:
    """Each sign-in issues a new session cookie; the one held before it no longer works."""
    client.sign_in(books.username, books.password)
    first = client.http.cookies.get("docintake_session")
    client.sign_in(books.username, books.password)
    second = client.http.cookies.get("docintake_session")
    assert first
    assert second
    assert first != second
    with UnitOfWork(books_engine) as uow:
        assert len(uow.session.exec(select(PortalSession)).all()) == 1
    client.http.cookies.set("docintake_session", first)
    assert client.get("/account").url.path == "/login"


def test_repeated_failures_lock_the_account_even_for_the_right_password(
    client: PortalClient, books: PortalBooks, books_engine: Engine
) -> None:
    """Three wrong passwords lock the account: the right one is then refused with the lock text."""
    for _ in range(3):
        wrong = client.sign_in(books.username, "not-the-password")
        assert wrong.url.path == "/login"
    locked = client.sign_in(books.username, books.password)
    assert locked.url.path == "/login"
    assert "Pārāk daudz neveiksmīgu mēģinājumu" in locked.text
    assert client.get("/account").url.path == "/login"
    with UnitOfWork(books_engine) as uow:
        actions = uow.session.exec(
            select(AuditEvent.action).where(col(AuditEvent.actor) == "portal")
        ).all()
    assert "portal.sign_in_locked" in actions


def test_failures_from_one_address_lock_it_across_accounts(
    client: PortalClient, books: PortalBooks
) -> None:
    """Guessing many accounts from one address locks the address, so the real user waits too."""
    for number in range(6):
        client.sign_in(f"guess{number}", "whatever-password")
    refused = client.sign_in(books.username, books.password)
    assert "Pārāk daudz neveiksmīgu mēģinājumu" in refused.text
    assert refused.url.path == "/login"


def test_unknown_names_get_the_same_answer_as_wrong_passwords(
    client: PortalClient, books: PortalBooks, smtp_sink: SmtpSink
) -> None:
    """Sign-in and the password reminder answer an unknown name exactly as a known one."""
    known = client.sign_in(books.username, "wrong-password-1")
    unknown = client.sign_in("nobody-here", "wrong-password-1")
    # The form gives back what was typed; apart from that the pages must be the same.
    assert known.status_code == unknown.status_code
    assert known.text.replace(books.username, "NAME") == unknown.text.replace("nobody-here", "NAME")
    assert "Nepareizs lietotājvārds, e-pasts vai parole." in known.text

    client.get("/password/forgot")
    asked_known = client.post("/password/forgot", {"identifier": books.user_email})
    asked_unknown = client.post("/password/forgot", {"identifier": "nobody@ozols.lv"})
    assert (asked_known.status_code, asked_known.text) == (
        asked_unknown.status_code,
        asked_unknown.text,
    )
    [mail] = smtp_sink.wait_for(1, timeout=30)
    assert mail["To"] == books.user_email


def test_cookies_and_headers_protect_the_pages(
    tmp_path: Path, books_engine: Engine, books: PortalBooks, smtp_sink: SmtpSink
) -> None:
    """Cookies are Secure, HttpOnly and SameSite=Lax; every page forbids framing and inline code."""
    config = portal_config(
        database_url=str(books_engine.url), home=tmp_path, sink=smtp_sink, secure_cookies=True
    )
    with serve_portal(replace(config)) as running:
        client = PortalClient(running.base_url)
        try:
            page = client.get("/login")
            # httpx keeps Secure cookies for https only, so the test sends the token itself.
            token = page.cookies["docintake_csrf"]
            signed = client.http.post(
                "/login",
                data={"identifier": books.username, "password": books.password, "csrf": token},
                headers={"Cookie": f"docintake_csrf={token}"},
                follow_redirects=False,
            )
        finally:
            client.close()
    for response in (page, signed):
        cookie = response.headers["set-cookie"].lower()
        assert "httponly" in cookie
        assert "samesite=lax" in cookie
        assert "secure" in cookie
    assert signed.status_code == 303
    policy = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    assert "<script" not in page.text


def test_client_text_is_escaped(client: PortalClient, books: PortalBooks) -> None:
    """A customer name holding markup is shown as text, never as HTML."""
    client.sign_in(books.username, books.password)
    page = client.get("/account")
    assert "&lt;b&gt;Ozols&lt;/b&gt;" in page.text
    assert "<b>Ozols</b>" not in page.text


def test_one_address_with_two_roles_chooses_at_sign_in(
    client: PortalClient, books: PortalBooks, books_engine: Engine, smtp_sink: SmtpSink
) -> None:
    """A user who is also the authorized person signs in with the e-mail and chooses the role."""
    with UnitOfWork(books_engine) as uow:
        user = uow.session.exec(select(User).where(User.username == books.username)).one()
        user.email = books.person_email
        uow.session.add(user)
        uow.commit()
    client.get("/password/forgot")
    client.post("/password/forgot", {"identifier": books.person_email})
    mails = smtp_sink.wait_for(2, timeout=30)
    person_mail = next(m for m in mails if "portālam" in str(m["Subject"]))
    link = next(
        line
        for line in person_mail.get_body(("plain",)).get_content().splitlines()  # type: ignore[union-attr]
        if "/password/reset?token=" in line
    )
    client.get(link.strip())
    client.post(
        "/password/reset",
        {
            "token": link.split("token=")[1].strip(),
            "new_password": books.password,
            "new_password2": books.password,
        },
    )
    chooser = client.sign_in(books.person_email, books.password)
    assert chooser.url.path == "/login/role"
    assert "pilnvarotā persona" in chooser.text
    assert "lietotājs" in chooser.text
    person = client.post("/login/role", {"choice": "1"})
    assert person.url.path == "/applications"


def test_password_reminders_are_limited_without_saying_so(
    client: PortalClient, books: PortalBooks, smtp_sink: SmtpSink
) -> None:
    """Five reminders for one name send three mails; every answer reads the same."""
    client.get("/password/forgot")
    answers = [
        client.post("/password/forgot", {"identifier": books.username}).text for _ in range(5)
    ]
    assert len(set(answers)) == 1
    smtp_sink.wait_for(3, timeout=30)
    time.sleep(2)  # a fourth mail, if one were wrongly sent, would be out by now
    assert len(smtp_sink.messages_to(books.user_email)) == 3


def test_a_password_set_by_link_signs_out_every_other_browser(
    portal: RunningPortal, client: PortalClient, books: PortalBooks, smtp_sink: SmtpSink
) -> None:
    """After a reset by the mailed link, a browser still signed in with the old one is out."""
    client.sign_in(books.username, books.password)
    assert client.get("/account").url.path == "/account"
    other = PortalClient(portal.base_url)
    try:
        other.get("/password/forgot")
        other.post("/password/forgot", {"identifier": books.username})
        [mail] = smtp_sink.wait_for(1, timeout=30)
        body = mail.get_body(("plain",))
        assert body is not None
        token = body.get_content().split("token=")[1].split()[0]
        other.get("/password/reset", params={"token": token})
        done = other.post(
            "/password/reset",
            {"token": token, "new_password": "Cita-parole-777", "new_password2": "Cita-parole-777"},
        )
        assert "Parole iestatīta" in done.text
    finally:
        other.close()
    assert client.get("/account").url.path == "/login"
    assert client.sign_in(books.username, "Cita-parole-777").url.path == "/account"
