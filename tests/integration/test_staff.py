"""`docintake staff …` and the one-time-code rules, on a real SQLite database under home."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
from sqlmodel import select
from typer.testing import CliRunner

from flows.cli import app
from flows.common import staff_key
from flows.settings import Settings
from handlers.db import UnitOfWork, make_engine
from handlers.models import Application, ApplicationStatus, Staff
from handlers.staff import check_code
from tests.support.books import seed_contract
from tests.support.smtp_sink import free_port

cli = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    result = cli.invoke(app, list(args))
    return result.exit_code, result.output


@pytest.fixture
def books(docintake_home: Path, monkeypatch: pytest.MonkeyPatch) -> UnitOfWork:
    """A migrated SQLite database at home's default URL, no staff key setting (the key file)."""
    monkeypatch.delenv("DOCINTAKE_STAFF_TOTP_KEY", raising=False)
    code, output = _run("db", "upgrade")
    assert code == 0, output
    return UnitOfWork(make_engine(f"sqlite:///{(docintake_home / 'docintake.db').resolve()}"))


def _enrol(username: str) -> pyotp.TOTP:
    """Enrol through the CLI with --json; the authenticator app made from the printed URI."""
    code, output = _run(
        "staff",
        "add",
        username,
        "--name",
        "Ilze Kalniņa",
        "--email",
        f"{username}@example.lv",
        "--json",
    )
    assert code == 0, output
    printed = json.loads(output)
    assert printed["username"] == username
    assert set(printed) == {"username", "otpauth_uri"}
    return pyotp.parse_uri(printed["otpauth_uri"])  # type: ignore[return-value]


def _check(books: UnitOfWork, username: str, code: str, at: datetime) -> str:
    key = staff_key(Settings())
    return check_code(username, code, uow=books, key=key, now=at).code


def test_enrolment_shows_a_qr_code_and_keeps_the_secret_encrypted(
    books: UnitOfWork, docintake_home: Path
) -> None:
    """`staff add` prints a terminal QR code and the URI; the database never holds the secret."""
    code, output = _run("staff", "add", "ilze", "--name", "Ilze Kalniņa", "--email", "i@example.lv")
    assert code == 0, output
    assert "█" in output
    uri = next(line for line in output.split() if line.startswith("otpauth://"))
    secret = pyotp.parse_uri(uri).secret
    with books:
        stored = books.session.exec(select(Staff)).one().totp_secret
    assert secret not in stored
    assert (docintake_home / "staff-totp.key").stat().st_mode & 0o077 == 0
    code, output = _run("staff", "add", "ilze", "--name", "X", "--email", "x@example.lv")
    assert code == 1
    assert "already enrolled" in output
    code, output = _run("staff", "add", "Bad Name", "--name", "X", "--email", "x@example.lv")
    assert code == 2
    assert "username" in output


def test_a_code_is_good_once_within_one_step_either_side(books: UnitOfWork) -> None:
    """The current code works once; the next step's works too; two steps away never."""
    app_of_ilze = _enrol("ilze")
    now = datetime.now(UTC)
    assert _check(books, "ilze", app_of_ilze.at(now + timedelta(seconds=65)), now) == "code_wrong"
    assert _check(books, "ilze", app_of_ilze.at(now), now) == "ok"
    assert _check(books, "ilze", app_of_ilze.at(now), now) == "code_reused"
    assert _check(books, "ilze", app_of_ilze.at(now - timedelta(seconds=30)), now) == "code_reused"
    assert _check(books, "ilze", app_of_ilze.at(now + timedelta(seconds=30)), now) == "ok"


def test_five_wrong_codes_lock_until_reset(books: UnitOfWork) -> None:
    """After five wrong codes even a right one is refused; `staff reset` gives a new secret."""
    old_app = _enrol("maris")
    now = datetime.now(UTC)
    wrong = "000000" if old_app.at(now) != "000000" else "111111"
    verdicts = [_check(books, "maris", wrong, now) for _ in range(5)]
    assert verdicts == ["code_wrong"] * 4 + ["staff_locked"]
    assert _check(books, "maris", old_app.at(now), now) == "staff_locked"
    code, output = _run("staff", "list")
    assert "maris            locked" in output

    code, output = _run("staff", "reset", "maris", "--json")
    assert code == 0, output
    new_app = pyotp.parse_uri(json.loads(output)["otpauth_uri"])
    assert new_app.secret != old_app.secret
    assert _check(books, "maris", new_app.at(now), now) == "ok"  # type: ignore[attr-defined]


def test_a_disabled_staff_member_cannot_decide(books: UnitOfWork) -> None:
    """`staff disable` takes them off the list; their right code is refused."""
    app_of_ilze = _enrol("ilze")
    code, output = _run("staff", "disable", "ilze")
    assert code == 0, output
    assert _check(books, "ilze", app_of_ilze.now(), datetime.now(UTC)) == "staff_inactive"
    code, output = _run("staff", "list")
    assert "ilze             disabled" in output


def _waiting(books: UnitOfWork) -> str:
    """An application waiting for staff with a made-up flow run; its reference."""
    seed_contract(books)
    with books:
        row = Application(
            reference="LUR-2026-000042",
            document_sha256="0" * 64,
            form_type="user_add",
            fields={},
            status=ApplicationStatus.awaiting_approval,
            flow_run_id="8d9f8a3c-7e41-4f0e-9a53-0d1f6a1e2b3c",
        )
        books.session.add(row)
        books.commit()
    return "LUR-2026-000042"


def test_no_server_is_one_line_with_the_fix(
    books: UnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no Prefect server the CLI says where it looked and what to start, no traceback."""
    reference = _waiting(books)
    app_of_ilze = _enrol("ilze")
    port = free_port()
    monkeypatch.setenv("PREFECT_API_URL", f"http://127.0.0.1:{port}/api")
    started = time.monotonic()
    result = cli.invoke(
        app, ["requests", "approve", reference, "--staff", "ilze", "--code", app_of_ilze.now()]
    )
    assert result.exit_code == 2, result.output
    assert result.output.strip() == (
        f"{reference}: not sent: cannot reach the Prefect API at http://127.0.0.1:{port}/api; "
        "is `docintake serve` running? (DOCINTAKE_PREFECT_PORT, or PREFECT_API_URL for a "
        "shared server, says where)"
    )
    assert time.monotonic() - started < 10


def test_approve_without_a_terminal_needs_the_code_option(books: UnitOfWork) -> None:
    """No --code and no terminal to ask on: a usage error naming --code; unknown staff refused."""
    reference = _waiting(books)
    _enrol("ilze")
    code, output = _run("requests", "approve", reference, "--staff", "ilze")
    assert code == 2
    assert "--code" in output
    code, output = _run("requests", "approve", reference, "--staff", "nobody", "--code", "1")
    assert code == 1
    assert "nobody is not an active enrolled staff member" in output
    code, output = _run("requests", "approve", "LUR-2026-999999", "--staff", "ilze")
    assert code == 2
    assert "no application LUR-2026-999999" in output


def test_requests_list_fits_80_columns_oldest_first_with_four_eyes_progress(
    books: UnitOfWork,
) -> None:
    """Full references in order of arrival, long senders wrapped, `waiting 0/2` for four eyes."""
    with books:
        for number, form_type in enumerate(("fee_increase", "user_add"), start=1):
            books.session.add(
                Application(
                    reference=f"LUR-2026-00010{number}",
                    document_sha256="0" * 64,
                    form_type=form_type,
                    sender=f"a.very.long.sender.address.{number}@some-company-name.example.lv",
                    fields={},
                    status=ApplicationStatus.awaiting_approval,
                    created_at=datetime.now(UTC) - timedelta(hours=3 - number),
                )
            )
        books.commit()
    code, output = _run("requests", "list")
    assert code == 0, output
    lines = output.splitlines()
    assert max(len(line) for line in lines) <= 80
    first = next(i for i, line in enumerate(lines) if "LUR-2026-000101" in line)
    second = next(i for i, line in enumerate(lines) if "LUR-2026-000102" in line)
    assert first < second
    assert "waiting 0/2" in lines[first]
    assert "2 h" in lines[first]
    assert "waiting" in lines[second]
    assert "0/2" not in lines[second]
