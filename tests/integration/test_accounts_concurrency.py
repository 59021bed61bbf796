"""Concurrent balance moves on real PostgreSQL lose and create no money."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import select

from handlers.accounts import top_up
from handlers.commands import ChangeUser, NewUser, TopUp
from handlers.db import UnitOfWork, create_all, make_engine
from handlers.models import LedgerEntry
from handlers.operations import change_user
from handlers.results import OperationResult
from tests.support import balance_now, cheap_hashing, give_balances
from tests.support.books import OZOLS_CONTRACT, seed_contract

TODAY = date(2026, 11, 25)
pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    """A PostgreSQL database with the seeded contract, 50.00 on each user."""
    engine = make_engine(pg_url, pool_size=12)
    create_all(engine)
    seed_contract(UnitOfWork(engine))
    give_balances(UnitOfWork(engine))
    with cheap_hashing():
        yield engine
    engine.dispose()


def test_top_ups_racing_a_change_of_user_keep_every_cent(pg_engine: Engine) -> None:
    """Every accepted top-up is in the books once; the old user ends at zero, nothing is lost."""
    results: list[OperationResult] = []
    lock = threading.Lock()
    start = threading.Barrier(9)
    halfway = threading.Event()

    def top_ups(worker: int) -> None:
        start.wait()
        for n in range(12):
            cmd = TopUp(request_key=f"w{worker}-{n}", username="jberzins", amount=Decimal("1.25"))
            result = top_up(cmd, uow=UnitOfWork(pg_engine), today=TODAY)
            with lock:
                results.append(result)
                if len(results) >= 30:
                    halfway.set()

    def change() -> None:
        start.wait()
        # Strike mid-stream, while the other threads are still topping up.
        halfway.wait(timeout=60)
        cmd = ChangeUser(
            request_key="change",
            contract_no=OZOLS_CONTRACT,
            old_username="jberzins",
            new_user=NewUser(first_name="Pēteris", last_name="Kļaviņš", email="p@ozols.lv"),
        )
        result = change_user(cmd, uow=UnitOfWork(pg_engine), today=TODAY)
        with lock:
            results.append(result)

    threads = [threading.Thread(target=top_ups, args=(w,)) for w in range(8)]
    threads.append(threading.Thread(target=change))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    [changed] = [r for r in results if r.operation == "change_user"]
    assert changed.ok, changed
    accepted = [r for r in results if r.operation == "top_up" and r.ok]
    refused = [r for r in results if r.operation == "top_up" and not r.ok]
    assert {r.code for r in refused} <= {"user_not_active"}
    assert len(accepted) + len(refused) == 96
    uow = UnitOfWork(pg_engine)
    with uow:
        total = uow.session.exec(select(func.sum(LedgerEntry.amount))).one()
    # Two users opened with 50.00 each; only accepted top-ups may add to that.
    assert Decimal(total) == Decimal("100.00") + Decimal("1.25") * len(accepted)
    assert str(balance_now("jberzins", uow=uow)) == "0.00"
    moved = Decimal(changed.data["moved_amount"])
    assert balance_now("pklavins", uow=uow) == moved
    assert moved == Decimal("50.00") + Decimal("1.25") * len(accepted)


def test_the_same_request_racing_itself_applies_once(pg_engine: Engine) -> None:
    """Six threads sending one request key: one applies, the others get its result back."""
    results: list[OperationResult] = []
    start = threading.Barrier(6)

    def run() -> None:
        start.wait()
        cmd = TopUp(request_key="same", username="lozola", amount=Decimal("10.00"))
        results.append(top_up(cmd, uow=UnitOfWork(pg_engine), today=TODAY))

    threads = [threading.Thread(target=run) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.replayed for r in results) == [False] + [True] * 5
    assert {r.data["invoice_number"] for r in results} == {"R-2026-000001"}
    assert str(balance_now("lozola", uow=UnitOfWork(pg_engine))) == "60.00"
