"""Outbox delivery into a real SMTP server (and a folder): once per row, retried, secrets minted."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel, select

from flows.common import deliver_due_mail
from flows.delivery import DeliveryReport, deliver_pending_sync, transport_for
from flows.settings import Settings
from handlers.commands import (
    AddUsers,
    ChangePassword,
    NewUser,
    RequestPasswordReset,
    ResetPassword,
)
from handlers.credentials import verify_password
from handlers.db import UnitOfWork
from handlers.models import Application, OutboxMessage, OutboxStatus, User, utcnow
from handlers.operations import add_users
from handlers.outbox import enqueue
from handlers.selfservice import change_password, request_password_reset, reset_password
from notifications.smtp import FolderTransport, SmtpTransport, transport_from
from tests.support import cheap_hashing
from tests.support.books import OZOLS_CONTRACT, seed_contract
from tests.support.smtp_sink import SmtpSink

TODAY = date(2026, 11, 25)
MAIL_FROM = "Datubāzu abonēšana <pieteikumi@example.lv>"


@pytest.fixture
def books(uow: UnitOfWork) -> Iterator[UnitOfWork]:
    """The seeded contract with cheap password hashing."""
    seed_contract(uow)
    with cheap_hashing():
        yield uow


def _smtp(sink: SmtpSink, **kwargs: object) -> SmtpTransport:
    return SmtpTransport(
        host=sink.host,
        port=sink.port,
        starttls=False,
        mail_from=MAIL_FROM,
        **kwargs,  # type: ignore[arg-type]
    )


def _deliver(uow: UnitOfWork, transport: object, home: Path, **options: object) -> DeliveryReport:
    return deliver_pending_sync(
        uow_factory=lambda: UnitOfWork(uow.engine),
        transport=transport,  # type: ignore[arg-type]
        home=home,
        **options,  # type: ignore[arg-type]
    )


def _add_user(uow: UnitOfWork, key: str = "k1", email: str = "ieva@ozols.lv") -> None:
    result = add_users(
        AddUsers(
            request_key=key,
            contract_no=OZOLS_CONTRACT,
            users=(NewUser(first_name="Ieva", last_name="Liepa", email=email),),
        ),
        uow=uow,
        today=TODAY,
    )
    assert result.ok, result


def _password_in(text: str) -> str:
    match = re.search(r"Pagaidu parole: (\S+)", text)
    assert match is not None, text
    return match.group(1)


def _text_part(message: object) -> str:
    part = message.get_body(preferencelist=("plain",))  # type: ignore[attr-defined]
    return str(part.get_content())


def _every_text_value(engine: Engine) -> list[str]:
    values: list[str] = []
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            if not inspect(conn).has_table(table.name):
                continue
            for row in conn.execute(table.select()):
                values.extend(str(v) for v in row if v is not None)
    return values


def test_credentials_mail_carries_a_password_that_verifies_and_is_stored_nowhere(
    books: UnitOfWork, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    """The received password verifies against the stored argon2 hash; no column holds it."""
    _add_user(books)
    report = _deliver(books, _smtp(smtp_sink), tmp_path, login_url="https://db.example.lv/in")
    assert (report.sent, report.failed) == (1, 0)
    [message] = smtp_sink.wait_for(1)
    assert "https://db.example.lv/in" in _text_part(message)
    assert message["To"] == "ieva@ozols.lv"
    assert "iliepa" in message["Subject"]
    password = _password_in(_text_part(message))
    assert len(password) >= 12
    assert not set(password) & set("0Oo1lI")
    with books:
        user = books.session.exec(select(User).where(User.username == "iliepa")).one()
        assert user.must_change_password
        assert verify_password(user.password_hash, password)
    assert not any(password in value for value in _every_text_value(books.engine))


def test_each_row_is_sent_once_even_when_delivery_runs_again(
    books: UnitOfWork, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    """A second pass sends nothing: a sent row stays sent."""
    _add_user(books)
    assert _deliver(books, _smtp(smtp_sink), tmp_path).sent == 1
    assert _deliver(books, _smtp(smtp_sink), tmp_path).sent == 0
    assert len(smtp_sink.messages) == 1


def test_a_refused_send_is_retried_later_with_a_fresh_password(
    books: UnitOfWork, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    """A 451 marks the row failed (the user stays); the retry sends a newly minted password."""
    _add_user(books)
    smtp_sink.fail_next(10)
    report = _deliver(books, _smtp(smtp_sink, retries=0), tmp_path)
    assert (report.sent, report.failed) == (0, 1)
    with books:
        row = books.session.exec(select(OutboxMessage)).one()
        assert (row.status, row.attempts) == (OutboxStatus.failed, 1)
        assert row.last_error is not None
        assert "451" in row.last_error
        first_hash = books.session.exec(select(User).where(User.username == "iliepa")).one()
        first_hash_value = first_hash.password_hash
    # Not yet due: the backoff after one failure has not passed.
    smtp_sink.fail_next(0)
    assert _deliver(books, _smtp(smtp_sink), tmp_path).sent == 0
    assert _deliver(books, _smtp(smtp_sink), tmp_path, retry_base_seconds=0).sent == 1
    password = _password_in(_text_part(smtp_sink.wait_for(1)[0]))
    with books:
        user = books.session.exec(select(User).where(User.username == "iliepa")).one()
        assert user.password_hash != first_hash_value
        assert verify_password(user.password_hash, password)
        assert books.session.exec(select(OutboxMessage)).one().status == OutboxStatus.sent


def test_transport_retries_a_temporary_failure_within_one_send(
    books: UnitOfWork, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    """With retries, one 451 is absorbed by backoff and the row is sent in the same pass."""
    _add_user(books)
    smtp_sink.fail_next(1)
    report = _deliver(books, _smtp(smtp_sink, retries=2, backoff_seconds=0.01), tmp_path)
    assert report.sent == 1
    assert len(smtp_sink.wait_for(1)) == 1


def test_two_deliverers_racing_send_every_row_exactly_once(
    books: UnitOfWork, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    """Rows claimed by one deliverer are never sent by the other."""
    with books:
        for number in range(40):
            enqueue(
                books.session,
                template="receipt",
                recipient=f"client{number}@example.lv",
                context={"reference": f"LUR-2026-{number:06d}", "form_title_lv": "A"},
                dedupe_key=f"LUR-2026-{number:06d}",
            )
        books.commit()
    reports: list[DeliveryReport] = []
    threads = [
        threading.Thread(target=lambda: reports.append(_deliver(books, _smtp(smtp_sink), tmp_path)))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.sent for r in reports) == 40
    received = sorted(m["To"] for m in smtp_sink.wait_for(40))
    assert received == sorted(f"client{n}@example.lv" for n in range(40))


def test_a_stale_claim_of_a_crashed_deliverer_is_taken_again(
    books: UnitOfWork, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    """A row left `sending` longer than the lease is delivered by the next pass."""
    with books:
        row = enqueue(
            books.session,
            template="receipt",
            recipient="client@example.lv",
            context={"reference": "LUR-2026-000009"},
            dedupe_key="LUR-2026-000009",
        )
        row.status = OutboxStatus.sending
        row.attempts = 1
        row.claimed_at = utcnow() - timedelta(hours=1)
        books.session.add(row)
        books.commit()
    assert _deliver(books, _smtp(smtp_sink), tmp_path, lease_seconds=3600 * 2).sent == 0
    assert _deliver(books, _smtp(smtp_sink), tmp_path, lease_seconds=60).sent == 1
    assert smtp_sink.wait_for(1)[0]["Subject"].startswith("LUR-2026-000009")


def test_folder_transport_writes_eml_with_attachments(books: UnitOfWork, tmp_path: Path) -> None:
    """With no SMTP host, mail lands in home/outbox as .eml files, attachments included."""
    home = tmp_path / "home"
    (home / "forms").mkdir(parents=True)
    (home / "forms" / "user_add.docx").write_bytes(b"PK\x03\x04 blank form")
    with books:
        enqueue(
            books.session,
            template="no_form",
            recipient="client@example.lv",
            context={"forms": [{"code": "user_add", "title_lv": "Jauns", "title_en": "New"}]},
            dedupe_key="msg-1",
            attachments=["forms/user_add.docx"],
        )
        books.commit()
    transport = transport_from(host=None, outbox_dir=home / "outbox", mail_from=MAIL_FROM)
    assert isinstance(transport, FolderTransport)
    assert _deliver(books, transport, home).sent == 1
    [eml] = list((home / "outbox").glob("*.eml"))
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "user_add.docx"
    assert attachment.get_content() == b"PK\x03\x04 blank form"
    assert "user_add" in _text_part(message)


def test_smtp_login_is_used_when_configured(books: UnitOfWork, tmp_path: Path) -> None:
    """A relay that demands AUTH gets the login configured in the settings."""
    _add_user(books)
    with SmtpSink(username="robot", password="s3cret") as sink:
        settings = Settings(
            home=tmp_path,
            smtp_host=sink.host,
            smtp_port=sink.port,
            smtp_starttls=False,
            smtp_username="robot",
            smtp_password=SecretStr("s3cret"),
            smtp_timeout_seconds=5.0,
            mail_from=MAIL_FROM,
        )
        transport = transport_for(settings)
        assert _deliver(books, transport, tmp_path).sent == 1
        assert sink.wait_for(1)[0]["To"] == "ieva@ozols.lv"


def test_password_reset_link_from_the_mail_sets_a_new_password_once(
    books: UnitOfWork, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    """The mailed one-time token resets the password; it cannot be used twice."""
    asked = request_password_reset(
        RequestPasswordReset(request_key="r1", identifier="Janis.Berzins@ozols.lv"),
        uow=books,
        today=TODAY,
    )
    unknown = request_password_reset(
        RequestPasswordReset(request_key="r2", identifier="nobody@ozols.lv"), uow=books, today=TODAY
    )
    assert (asked.message_en, asked.data) == (unknown.message_en, unknown.data)
    assert _deliver(books, _smtp(smtp_sink), tmp_path).sent == 1
    match = re.search(r"token=([\w-]+)", _text_part(smtp_sink.wait_for(1)[0]))
    assert match is not None
    token = match.group(1)
    with books:
        assert not any(token in v for v in _every_text_value(books.engine))
    done = reset_password(
        ResetPassword(
            request_key="r3", token=SecretStr(token), new_password=SecretStr("Jauna-parole-123")
        ),
        uow=books,
        today=TODAY,
    )
    assert done.ok, done
    again = reset_password(
        ResetPassword(
            request_key="r4", token=SecretStr(token), new_password=SecretStr("Cita-parole-4567")
        ),
        uow=books,
        today=TODAY,
    )
    assert again.code == "token_invalid"
    wrong = change_password(
        ChangePassword(
            request_key="r5",
            username="jberzins",
            old_password=SecretStr("Cita-parole-4567"),
            new_password=SecretStr("Vel-cita-parole-89"),
        ),
        uow=books,
        today=TODAY,
    )
    assert wrong.code == "wrong_password"
    right = change_password(
        ChangePassword(
            request_key="r6",
            username="jberzins",
            old_password=SecretStr("Jauna-parole-123"),
            new_password=SecretStr("Vel-cita-parole-89"),
        ),
        uow=books,
        today=TODAY,
    )
    assert right.ok


def test_rows_waiting_for_a_retry_do_not_hold_back_new_ones(
    books: UnitOfWork, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    """Many failed rows not yet due to retry leave room for a new row in a small batch."""
    with books:
        for number in range(5):
            row = enqueue(
                books.session,
                template="receipt",
                recipient=f"old{number}@example.lv",
                context={"reference": f"LUR-2026-{number:06d}"},
                dedupe_key=f"LUR-2026-{number:06d}",
            )
            row.status = OutboxStatus.failed
            row.attempts = 1
            row.claimed_at = utcnow()
            books.session.add(row)
        enqueue(
            books.session,
            template="receipt",
            recipient="new@example.lv",
            context={"reference": "LUR-2026-000099"},
            dedupe_key="LUR-2026-000099",
        )
        books.commit()
    report = _deliver(books, _smtp(smtp_sink), tmp_path, limit=2)
    assert report.sent == 1
    assert [m["To"] for m in smtp_sink.wait_for(1)] == ["new@example.lv"]


def test_the_configured_sign_in_and_reset_pages_are_the_links_clients_get(
    books: UnitOfWork, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    """DOCINTAKE_LOGIN_URL and DOCINTAKE_PASSWORD_RESET_URL are what the mails link to."""
    _add_user(books)
    request_password_reset(
        RequestPasswordReset(request_key="r1", identifier="Janis.Berzins@ozols.lv"),
        uow=books,
        today=TODAY,
    )
    settings = Settings(
        home=tmp_path,
        database_url=books.engine.url.render_as_string(hide_password=False),
        smtp_host=smtp_sink.host,
        smtp_port=smtp_sink.port,
        smtp_starttls=False,
        login_url="https://abonenti.example.lv/ienakt",
        password_reset_url="https://abonenti.example.lv/jauna-parole",
    )
    assert asyncio.run(deliver_due_mail(settings)).sent == 2
    texts = sorted(_text_part(m) for m in smtp_sink.wait_for(2))
    assert any("Pieslēgties: https://abonenti.example.lv/ienakt" in t for t in texts), texts
    assert any("https://abonenti.example.lv/jauna-parole?token=" in t for t in texts), texts
    assert not any("datubazes.example.lv" in t for t in texts), texts


class _SilentAfterData:
    """A relay that takes the message data and never answers in time (the client gives up)."""

    def __init__(self) -> None:
        self.received = 0

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        """Count the copy that arrived, then keep the client waiting past its timeout."""
        self.received += 1
        await asyncio.sleep(3.0)
        return "250 OK"


def test_a_lost_answer_after_the_data_gives_one_later_copy_with_the_same_password(
    books: UnitOfWork, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    """Data sent, answer lost: one more copy later, saying the first password stands; no third."""
    from aiosmtpd.controller import Controller

    from tests.support.smtp_sink import free_port

    _add_user(books)
    relay = _SilentAfterData()
    port = free_port()
    controller = Controller(relay, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        silent = SmtpTransport(
            host="127.0.0.1", port=port, starttls=False, mail_from=MAIL_FROM, timeout=1.0
        )
        report = _deliver(books, silent, tmp_path, retry_base_seconds=0.0)
    finally:
        controller.stop()
    assert (report.sent, relay.received) == (0, 1)
    with books:
        user = books.session.exec(select(User).where(User.username == "iliepa")).one()
        first_hash = user.password_hash
        row = books.session.exec(select(OutboxMessage)).one()
        assert row.status == OutboxStatus.failed
        assert (row.last_error or "").startswith("unknown: ")

    retry = _deliver(books, _smtp(smtp_sink), tmp_path, retry_base_seconds=0.0)
    assert retry.sent == 1
    [message] = smtp_sink.wait_for(1)
    text = _text_part(message)
    assert "iepriekšējā vēstulē" in text
    assert "the one in our earlier e-mail" in text
    with books:
        user = books.session.exec(select(User).where(User.username == "iliepa")).one()
        assert user.password_hash == first_hash  # the copy that may have arrived still works

    # Sent now; and had the retry been lost too, no attempt would be left for a third copy.
    assert _deliver(books, _smtp(smtp_sink), tmp_path, retry_base_seconds=0.0).sent == 0
    assert len(smtp_sink.messages) == 1


def test_a_run_sends_its_own_applications_mail_and_leaves_the_rest(
    books: UnitOfWork, tmp_path: Path
) -> None:
    """Delivery for one application sends its mail only; the other's waits for its own run."""
    ids = []
    with books:
        for reference in ("LUR-2026-000901", "LUR-2026-000902"):
            row = Application(reference=reference, document_sha256="0" * 64, form_type="user_add")
            books.session.add(row)
            books.session.flush()
            assert row.id is not None
            ids.append(row.id)
            enqueue(
                books.session,
                template="receipt",
                recipient=f"{reference.lower()}@ozols.lv",
                context={"reference": reference},
                dedupe_key=reference,
                application_id=row.id,
            )
        books.commit()
    transport = FolderTransport(tmp_path / "outbox", mail_from=MAIL_FROM)
    report = _deliver(books, transport, tmp_path, application_id=ids[0])
    assert report.sent == 1
    with books:
        status = {
            m.application_id: m.status for m in books.session.exec(select(OutboxMessage)).all()
        }
    assert status == {ids[0]: OutboxStatus.sent, ids[1]: OutboxStatus.pending}
