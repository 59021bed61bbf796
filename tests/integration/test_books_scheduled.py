"""Books export → import keeps every dated change not yet in force (issue 14), on both databases."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, func, select

from handlers.books import books_to_json, export_books, import_file, write_books
from handlers.commands import BlockUsers, ChangeDetails, IncreaseFee, SuspendContract
from handlers.contracts import apply_due_contract_dates
from handlers.db import UnitOfWork, create_all, make_engine
from handlers.lookups import base_fee_on, details_on, find_contract, monthly_amount
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
from handlers.operations import block_users, change_details, increase_fee, suspend_contract
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
OZOLS, DAUGAVA = "L-2019/0123", "L-2021/0456"
FEE_FROM = date(2026, 12, 1)
BLOCK_FROM = date(2026, 12, 10)
SUSPEND_FROM, SUSPEND_UNTIL = date(2026, 12, 15), date(2027, 1, 15)
DETAILS_FROM = date(2027, 1, 1)
# Every day something scheduled happens, and a day after the last of them.
DUE_DAYS = (FEE_FROM, BLOCK_FROM, SUSPEND_FROM, DETAILS_FROM, SUSPEND_UNTIL, date(2027, 2, 1))


@pytest.fixture
def empty_engine(db_url: str, tmp_path: Path) -> Iterator[Engine]:
    """A second, empty database of the same kind as `engine`."""
    kind = "sqlite" if db_url.startswith("sqlite") else "postgres"
    with fresh_engine(kind, tmp_path, "empty") as engine:
        yield engine


def export_json(engine: Engine, day: date) -> bytes:
    """The books of a database as the export writes them on `day`."""
    return books_to_json(export_books(uow=UnitOfWork(engine), today=day))


def counts(engine: Engine) -> dict[str, int]:
    """How many rows each table of the books holds."""
    with Session(engine) as session:
        return {
            str(t.__tablename__): session.exec(select(func.count()).select_from(t)).one()
            for t in TABLES
        }


def schedule_changes(engine: Engine, today: date) -> None:
    """Approve a fee increase, a block, a suspension and new details, all dated after today."""
    uow = UnitOfWork(engine)
    import_file(FIXTURES / "books.json", uow=uow, today=today)
    results = [
        increase_fee(
            IncreaseFee(
                request_key="fee", contract_no=OZOLS, new_fee=Decimal("150.00"), effective_from=None
            ),
            uow=uow,
            today=today,
        ),
        block_users(
            BlockUsers(
                request_key="block",
                contract_no=DAUGAVA,
                usernames=("eliepa",),
                block_from=BLOCK_FROM,
            ),
            uow=uow,
            today=today,
        ),
        suspend_contract(
            SuspendContract(
                request_key="suspend",
                contract_no=OZOLS,
                date_from=SUSPEND_FROM,
                date_to=SUSPEND_UNTIL,
            ),
            uow=uow,
            today=today,
        ),
        change_details(
            ChangeDetails(
                request_key="details",
                contract_no=DAUGAVA,
                name='AS "Daugava Grupa"',
                address="Krišjāņa Valdemāra iela 2, Rīga",
                effective_from=DETAILS_FROM,
            ),
            uow=uow,
            today=today,
        ),
    ]
    assert [r.code for r in results if not r.ok] == []


def move(source: Engine, target: Engine, day: date, path: Path) -> bytes:
    """Export `source` on `day` to `path` (JSON file or CSV folder), import it into `target`."""
    write_books(export_books(uow=UnitOfWork(source), today=day), path)
    report = import_file(path, uow=UnitOfWork(target), today=day)
    assert report.problems == []
    assert report.committed
    return export_json(source, day)


def run_daily_job(engine: Engine, after: date, until: date) -> None:
    """The daily job on every due day after `after` up to and including `until`."""
    for day in DUE_DAYS:
        if after < day <= until:
            apply_due_contract_dates(uow=UnitOfWork(engine), today=day)


def state(engine: Engine, day: date) -> dict[str, Any]:
    """What a user of the books notices on `day`: fee, monthly amount, statuses, company name."""
    uow = UnitOfWork(engine)
    with uow:
        ozols = find_contract(uow, OZOLS)
        daugava = find_contract(uow, DAUGAVA)
        details = details_on(uow, daugava.customer_id, day)
        users = {u.username: u.status for u in uow.session.exec(select(User)).all()}
        return {
            "fee": base_fee_on(uow, ozols, day),
            "daugava_monthly": monthly_amount(uow, daugava, day),
            "ozols_status": ozols.status,
            "daugava_name": details.name if details else None,
            "users": users,
        }


@pytest.mark.parametrize("form", ["json", "csv"])
@pytest.mark.parametrize("move_day", [date(2026, 11, 25), date(2026, 12, 20)])
def test_scheduled_changes_survive_a_move_and_happen_on_their_day(
    engine: Engine,
    empty_engine: Engine,
    today: date,
    tmp_path: Path,
    form: str,
    move_day: date,
) -> None:
    """Fee rise, block, suspension and details dated later move intact and take effect on time."""
    schedule_changes(engine, today)
    run_daily_job(engine, today, move_day)
    path = tmp_path / ("moved.json" if form == "json" else "moved")

    exported = move(engine, empty_engine, move_day, path)

    # The moved books export byte for byte as the books they came from.
    assert export_json(empty_engine, move_day) == exported
    document = json.loads(exported)
    ozols = document["customers"][0]["contracts"][0]
    if move_day < FEE_FROM:
        assert ozols["base_fee"] == "100.00"
        assert ozols["fee_changes"] == [{"valid_from": "2026-12-01", "base_fee": "150.00"}]
        assert ozols["suspended_from"] == "2026-12-15"
    else:
        assert (ozols["base_fee"], ozols["status"]) == ("150.00", "suspended")
        # Blocked by the suspension: its end on 15.01.2027 unblocks them again.
        assert ozols["users"][0]["blocked_reason"] == "suspension"
    assert document["customers"][1]["details_changes"][0]["name"] == 'AS "Daugava Grupa"'

    # From here on, the daily job does to the moved books exactly what it does to the original.
    seen = {}
    for day in DUE_DAYS:
        if day > move_day:
            run_daily_job(engine, move_day, day)
            run_daily_job(empty_engine, move_day, day)
            seen[day] = state(empty_engine, day)
            assert seen[day] == state(engine, day), day
            assert export_json(empty_engine, day) == export_json(engine, day), day
    suspended, resumed = seen[DETAILS_FROM], seen[SUSPEND_UNTIL]
    assert (suspended["fee"], suspended["ozols_status"]) == (Decimal("150.00"), "suspended")
    assert (suspended["users"]["jberzins"], suspended["users"]["eliepa"]) == ("blocked", "blocked")
    assert state(empty_engine, DETAILS_FROM - timedelta(days=1))["daugava_name"] == (
        'AS "Daugava Konsultācijas"'
    )
    assert suspended["daugava_name"] == 'AS "Daugava Grupa"'
    assert (resumed["ozols_status"], resumed["users"]["jberzins"]) == ("active", "active")
    assert resumed["users"]["eliepa"] == "blocked"


@pytest.mark.parametrize("form", ["json", "csv"])
def test_importing_scheduled_changes_again_writes_nothing(
    engine: Engine, empty_engine: Engine, today: date, tmp_path: Path, form: str
) -> None:
    """A second import of a file with scheduled changes writes no row, not even an audit event."""
    schedule_changes(engine, today)
    path = tmp_path / ("moved.json" if form == "json" else "moved")
    move(engine, empty_engine, today, path)
    before = counts(empty_engine)

    again = import_file(path, uow=UnitOfWork(empty_engine), today=today)

    assert again.problems == []
    assert again.changes == 0
    assert counts(empty_engine) == before


def test_file_without_dated_changes_cancels_none_of_the_books(engine: Engine, today: date) -> None:
    """An older file, silent on scheduled changes, leaves them be: nothing to change at all."""
    schedule_changes(engine, today)
    before, books = counts(engine), export_json(engine, today)

    report = import_file(FIXTURES / "books.json", uow=UnitOfWork(engine), today=today)

    assert report.problems == []
    assert report.changes == 0
    assert counts(engine) == before
    assert export_json(engine, today) == books


def test_dated_changes_edited_in_the_file_are_rescheduled_and_audited(
    engine: Engine, today: date, tmp_path: Path
) -> None:
    """A new fee amount, another fee month, other details and another block day are taken."""
    schedule_changes(engine, today)
    document = json.loads(export_json(engine, today))
    ozols = document["customers"][0]["contracts"][0]
    ozols["fee_changes"] = [
        {"valid_from": "2026-12-01", "base_fee": "175.00"},
        {"valid_from": "2027-06-01", "base_fee": "200.00"},
    ]
    ozols["suspended_from"] = "2026-12-20"
    document["customers"][1]["contracts"][0]["users"][0]["block_from"] = "2026-12-11"
    document["customers"][1]["details_changes"][0]["name"] = 'AS "Daugava Holdings"'
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")

    report = import_file(path, uow=UnitOfWork(engine), today=today)

    assert report.problems == []
    assert (report.created["fee_changes"], report.updated["fee_changes"]) == (1, 1)
    assert (report.created["details_changes"], report.updated["contracts"]) == (1, 1)
    assert report.updated["users"] == 1
    # The books now export exactly the edited file.
    assert json.loads(export_json(engine, today)) == document
    with Session(engine) as session:
        events = [e for e in session.exec(select(AuditEvent)).all() if e.actor == "import"]
    actions = [e.action for e in events]
    assert actions.count("fee_scheduled") == 2
    assert {"contract_changed", "user_changed"} <= set(actions)
    details = [e.after for e in events if e.action == "customer_details_scheduled"]
    assert [(d["valid_from"], d["name"]) for d in details if d] == [
        ("2027-01-01", 'AS "Daugava Holdings"')
    ]


def test_dated_change_already_due_on_the_import_day_is_a_problem(
    engine: Engine, today: date, tmp_path: Path
) -> None:
    """A fee or details change dated on or before the import day is named; nothing is written."""
    schedule_changes(engine, today)
    path = tmp_path / "moved.json"
    write_books(export_books(uow=UnitOfWork(engine), today=today), path)
    before = counts(engine)

    report = import_file(path, uow=UnitOfWork(engine), today=DETAILS_FROM)

    assert [(p.row, p.field, p.code) for p in report.problems] == [
        ("customers[1].contracts[1].fee_changes[1]", "valid_from", "not_later"),
        ("customers[2].details_changes[1]", "valid_from", "not_later"),
    ]
    assert not report.committed
    assert counts(engine) == before


@pytest.mark.postgres
def test_scheduled_changes_move_from_sqlite_to_postgresql(
    today: date, tmp_path: Path, pg_url: str
) -> None:
    """SQLite with changes to come → CSV folder → PostgreSQL: same export, same daily job."""
    with fresh_engine("sqlite", tmp_path, "lite") as lite:
        schedule_changes(lite, today)
        pg = make_engine(pg_url)
        try:
            create_all(pg)
            exported = move(lite, pg, today, tmp_path / "moved")
            assert export_json(pg, today) == exported
            for day in DUE_DAYS:
                apply_due_contract_dates(uow=UnitOfWork(lite), today=day)
                apply_due_contract_dates(uow=UnitOfWork(pg), today=day)
                assert export_json(pg, day) == export_json(lite, day), day
        finally:
            pg.dispose()
