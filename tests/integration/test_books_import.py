"""Books import and export against real SQLite and PostgreSQL databases (issue 7)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, col, func, select

from handlers.books import books_to_json, export_books, import_file, write_books
from handlers.db import UnitOfWork, create_all, make_engine
from handlers.models import (
    AuditEvent,
    AuthorizedPerson,
    Contract,
    ContractFee,
    Customer,
    CustomerDetails,
    LedgerEntry,
    User,
)
from tests.support.databases import fresh_engine

FIXTURES = Path(__file__).parents[1] / "fixtures" / "books"
TABLES: tuple[type[SQLModel], ...] = (
    Customer,
    CustomerDetails,
    Contract,
    ContractFee,
    AuthorizedPerson,
    User,
    LedgerEntry,
    AuditEvent,
)


@pytest.fixture
def empty_engine(db_url: str, tmp_path: Path) -> Iterator[Engine]:
    """A second, empty database of the same kind as `engine`."""
    kind = "sqlite" if db_url.startswith("sqlite") else "postgres"
    with fresh_engine(kind, tmp_path, "empty") as engine:
        yield engine


def counts(engine: Engine) -> dict[str, int]:
    """How many rows each table of the books holds."""
    with Session(engine) as session:
        return {
            str(t.__tablename__): session.exec(select(func.count()).select_from(t)).one()
            for t in TABLES
        }


def export_json(engine: Engine, today: date) -> bytes:
    """The books of a database as the export writes them."""
    return books_to_json(export_books(uow=UnitOfWork(engine), today=today))


def edited(tmp_path: Path, change: Any) -> Path:
    """A copy of the expected export with one change applied by `change(document)`."""
    document = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
    change(document)
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def test_import_normalizes_every_value_as_the_forms_do(engine: Engine, today: date) -> None:
    """Client-typed values (LV prefixes, spaces, commas, case) come out in canonical form."""
    report = import_file(FIXTURES / "books.json", uow=UnitOfWork(engine), today=today)

    assert report.committed
    assert report.problems == []
    assert export_json(engine, today) == (FIXTURES / "expected.json").read_bytes()


def test_round_trip_into_an_empty_database_gives_the_same_file(
    engine: Engine, empty_engine: Engine, today: date, tmp_path: Path
) -> None:
    """Export → import into an empty database → export again is byte for byte the same."""
    import_file(FIXTURES / "books.json", uow=UnitOfWork(engine), today=today)
    first = tmp_path / "first.json"
    first.write_bytes(export_json(engine, today))

    report = import_file(first, uow=UnitOfWork(empty_engine), today=today)

    assert report.committed
    assert report.problems == []
    assert export_json(empty_engine, today) == first.read_bytes()


def test_csv_folder_imports_the_same_books_as_json(
    engine: Engine, empty_engine: Engine, today: date, tmp_path: Path
) -> None:
    """A spreadsheet's `;`-separated CSV folder with a BOM gives the same books; so does our own."""
    import_file(FIXTURES / "csv", uow=UnitOfWork(engine), today=today)
    assert export_json(engine, today) == (FIXTURES / "expected.json").read_bytes()

    folder = tmp_path / "backup"
    write_books(export_books(uow=UnitOfWork(engine), today=today), folder)
    import_file(folder, uow=UnitOfWork(empty_engine), today=today)

    assert sorted(p.name for p in folder.iterdir()) == [
        "authorized_persons.csv",
        "contracts.csv",
        "customers.csv",
        "details_changes.csv",
        "fee_changes.csv",
        "users.csv",
    ]
    assert export_json(empty_engine, today) == (FIXTURES / "expected.json").read_bytes()


def test_importing_the_same_file_twice_changes_nothing_the_second_time(
    engine: Engine, today: date
) -> None:
    """The second import of a file writes no row, not even an audit event."""
    import_file(FIXTURES / "books.json", uow=UnitOfWork(engine), today=today)
    before = counts(engine)

    again = import_file(FIXTURES / "books.json", uow=UnitOfWork(engine), today=today)

    assert again.changes == 0
    assert again.unchanged["users"] == 6
    assert counts(engine) == before


def test_imported_users_have_no_password_and_an_opening_balance_entry(
    engine: Engine, today: date
) -> None:
    """Users wait for the password-reset path; each balance is one `opening` ledger entry."""
    import_file(FIXTURES / "books.json", uow=UnitOfWork(engine), today=today)

    with Session(engine) as session:
        users = list(session.exec(select(User)).all())
        entries = session.exec(select(LedgerEntry)).all()
        actors = set(session.exec(select(AuditEvent.actor)).all())
    assert len(users) == 6
    assert all(u.password_hash is None and u.must_change_password for u in users)
    assert sorted((e.kind, e.amount) for e in entries if e.user_id == _id(users, "jberzins")) == [
        ("opening", Decimal("1200.50"))
    ]
    assert len(entries) == 6
    assert actors == {"import"}


def _id(users: list[User], username: str) -> int:
    return next(u.id for u in users if u.username == username and u.id is not None)


def test_changed_customer_row_becomes_a_new_dated_version(
    engine: Engine, today: date, tmp_path: Path
) -> None:
    """A new address is a new details version valid from the import day; the old one stays."""
    import_file(FIXTURES / "books.json", uow=UnitOfWork(engine), today=today)
    later = today + timedelta(days=7)
    path = edited(
        tmp_path, lambda d: d["customers"][1].update(address="Krišjāņa Valdemāra iela 2, Rīga")
    )

    report = import_file(path, uow=UnitOfWork(engine), today=later)

    assert (report.updated["customers"], report.changes) == (1, 1)
    with Session(engine) as session:
        versions = session.exec(
            select(
                col(CustomerDetails.version),
                col(CustomerDetails.valid_from),
                col(CustomerDetails.address),
            )
            .join(Customer)
            .where(Customer.reg_no == "40103001201")
            .order_by(col(CustomerDetails.version))
        ).all()
        event = session.exec(
            select(AuditEvent).where(AuditEvent.action == "customer_details_changed")
        ).one()
    assert [tuple(v) for v in versions] == [
        (1, today, "Elizabetes iela 45, Rīga"),
        (2, later, "Krišjāņa Valdemāra iela 2, Rīga"),
    ]
    assert (event.actor, event.before, event.after) == (
        "import",
        {"address": "Elizabetes iela 45, Rīga"},
        {"address": "Krišjāņa Valdemāra iela 2, Rīga"},
    )
    # From the import day on the books show the new address; before it, the old one.
    assert json.loads(export_json(engine, later))["customers"][1]["address"].startswith("Krišjāņa")
    assert json.loads(export_json(engine, today))["customers"][1]["address"].startswith(
        "Elizabetes"
    )


def test_changed_balance_adds_one_adjusting_ledger_entry(
    engine: Engine, today: date, tmp_path: Path
) -> None:
    """A balance is never overwritten: one entry makes the sum of entries what the file says."""
    import_file(FIXTURES / "books.json", uow=UnitOfWork(engine), today=today)

    def lower_balance(document: dict[str, Any]) -> None:
        document["customers"][0]["contracts"][0]["users"][0]["balance"] = "1000.00"

    report = import_file(edited(tmp_path, lower_balance), uow=UnitOfWork(engine), today=today)

    assert (report.updated["users"], report.created["ledger_entries"]) == (1, 1)
    with Session(engine) as session:
        entries = session.exec(
            select(col(LedgerEntry.kind), col(LedgerEntry.amount))
            .join(User)
            .where(User.username == "jberzins")
            .order_by(col(LedgerEntry.id))
        ).all()
    assert [tuple(e) for e in entries] == [
        ("opening", Decimal("1200.50")),
        ("adjustment", Decimal("-200.50")),
    ]
    users = json.loads(export_json(engine, today))["customers"][0]["contracts"][0]["users"]
    assert users[0]["balance"] == "1000.00"


def test_file_with_errors_in_many_rows_reports_them_all_and_changes_nothing(
    engine: Engine, today: date
) -> None:
    """Every bad value and every clash with the books is listed by row and field; no row moves."""
    import_file(FIXTURES / "books.json", uow=UnitOfWork(engine), today=today)
    before_counts, before_books = counts(engine), export_json(engine, today)

    report = import_file(FIXTURES / "errors.json", uow=UnitOfWork(engine), today=today)

    found = [(p.file, p.row, p.field, p.code) for p in report.problems]
    assert found == [
        ("errors.json", "customers[1]", "reg_no", "invalid_reg_no"),
        ("errors.json", "customers[1].contracts[1].users[1]", "email", "invalid_email"),
        ("errors.json", "customers[2]", "vat_number", "unknown_field"),
        ("errors.json", "customers[2]", "vat_no", "invalid_vat_no"),
        ("errors.json", "customers[2]", "iban", "invalid_iban"),
        ("errors.json", "customers[3].contracts[1]", "status", "invalid_choice"),
        ("errors.json", "customers[3].contracts[1]", "base_fee", "invalid_money"),
        ("errors.json", "customers[3].contracts[1].authorized_persons[1]", "name", "required"),
        ("errors.json", "customers[3].contracts[2]", "suspended_until", "not_suspended"),
        ("errors.json", "customers[3].contracts[3]", "per_user_fee", "invalid_money"),
        ("errors.json", "customers[3].contracts[3].users[1]", "username", "invalid_username"),
        (
            "errors.json",
            "customers[3].contracts[3].users[1]",
            "personal_code",
            "invalid_personal_code",
        ),
        ("errors.json", "customers[3].contracts[3].users[1]", "phone", "invalid_phone"),
        ("errors.json", "customers[3].contracts[3].users[1]", "role", "invalid_choice"),
        ("errors.json", "customers[3].contracts[3].users[1]", "balance", "invalid_money"),
        ("errors.json", "customers[3].contracts[3].users[2]", "first_name", "required"),
        ("errors.json", "customers[3].contracts[3].users[2]", "status", "invalid_choice"),
        ("errors.json", "customers[3].contracts[3].users[3]", "username", "duplicate"),
        # Checked against the books: a contract and a user that belong to someone else.
        ("errors.json", "customers[3].contracts[4]", "number", "conflict"),
        ("errors.json", "customers[3].contracts[5].users[1]", "username", "conflict"),
    ]
    assert not report.committed
    assert counts(engine) == before_counts
    assert export_json(engine, today) == before_books


def test_dry_run_says_what_would_change_and_changes_nothing(engine: Engine, today: date) -> None:
    """A dry run counts the new rows but leaves the database as it was."""
    before = counts(engine)

    report = import_file(FIXTURES / "books.json", uow=UnitOfWork(engine), today=today, dry_run=True)

    assert report.dry_run
    assert not report.committed
    assert report.created["customers"] == 3
    assert report.created["users"] == 6
    assert counts(engine) == before


@pytest.mark.postgres
def test_export_moves_the_books_between_sqlite_and_postgresql(
    sqlite_url: str, pg_url: str, today: date, tmp_path: Path
) -> None:
    """SQLite → export → PostgreSQL → export gives the same file (and so the same books)."""
    lite, pg = make_engine(sqlite_url), make_engine(pg_url)
    create_all(lite)
    create_all(pg)
    import_file(FIXTURES / "books.json", uow=UnitOfWork(lite), today=today)
    moved = tmp_path / "moved"
    write_books(export_books(uow=UnitOfWork(lite), today=today), moved)

    import_file(moved, uow=UnitOfWork(pg), today=today)

    assert export_json(pg, today) == export_json(lite, today)
    lite.dispose()
    pg.dispose()


def test_progress_reaches_the_end_of_checking_and_writing(engine: Engine, today: date) -> None:
    """The progress callback sees every row checked and every file row written."""
    seen: dict[str, tuple[int, int]] = {}

    def progress(step: str, done: int, total: int) -> None:
        seen[step] = (done, total)

    import_file(FIXTURES / "books.json", uow=UnitOfWork(engine), today=today, progress=progress)

    # 3 customers, 3 contracts, 4 authorized persons, 6 users.
    assert seen == {"checking": (16, 16), "writing": (16, 16)}


def test_changed_fee_and_status_are_dated_and_audited(
    engine: Engine, today: date, tmp_path: Path
) -> None:
    """A higher fee is a fee version from the import day; a newly blocked user is blocked then."""
    import_file(FIXTURES / "books.json", uow=UnitOfWork(engine), today=today)
    later = today + timedelta(days=10)

    def change(document: dict[str, Any]) -> None:
        document["customers"][1]["contracts"][0]["base_fee"] = "300.00"
        document["customers"][1]["contracts"][0]["users"][0]["status"] = "blocked"

    report = import_file(edited(tmp_path, change), uow=UnitOfWork(engine), today=later)

    assert (report.updated["contracts"], report.updated["users"], report.changes) == (1, 1, 2)
    with Session(engine) as session:
        fees = session.exec(
            select(col(ContractFee.valid_from), col(ContractFee.base_fee))
            .join(Contract)
            .where(Contract.number == "L-2021/0456")
            .order_by(col(ContractFee.valid_from))
        ).all()
        eliepa = session.exec(select(User).where(User.username == "eliepa")).one()
        actions = session.exec(select(AuditEvent.action)).all()
    # The contract came in with its fee for the whole month, then rose from the import day.
    assert [tuple(f) for f in fees] == [
        (today.replace(day=1), Decimal("250.00")),
        (later, Decimal("300.00")),
    ]
    assert (eliepa.status, eliepa.blocked_reason, eliepa.blocked_from) == (
        "blocked",
        "own",
        later,
    )
    assert {"contract_changed", "user_changed"} <= set(actions)
    assert json.loads(export_json(engine, today))["customers"][1]["contracts"][0]["base_fee"] == (
        "250.00"
    )


def test_audit_notes_a_changed_personal_code_without_showing_it(
    engine: Engine, today: date, tmp_path: Path
) -> None:
    """The audit trail records that a personal code changed, never the code itself."""
    import_file(FIXTURES / "books.json", uow=UnitOfWork(engine), today=today)

    def change(document: dict[str, Any]) -> None:
        document["customers"][0]["contracts"][0]["users"][0]["personal_code"] = "280275-10006"

    import_file(edited(tmp_path, change), uow=UnitOfWork(engine), today=today)

    with Session(engine) as session:
        events = session.exec(select(AuditEvent)).all()
    changed = [e for e in events if e.action == "user_changed"]
    assert [(e.before, e.after) for e in changed] == [
        ({"personal_code": "***"}, {"personal_code": "***"})
    ]
    trail = json.dumps([(e.before, e.after) for e in events])
    assert "10009" not in trail
    assert "10006" not in trail
