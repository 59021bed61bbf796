"""Reading the books beside a writer: a read-only unit of work never waits for the write lock."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlmodel import select

from handlers import decisions
from handlers.db import UnitOfWork, create_all, make_engine
from handlers.models import Counter


def test_a_read_goes_on_while_a_writer_holds_the_sqlite_write_lock(tmp_path: Path) -> None:
    """Staff's views and a run's look-ups read a snapshot instead of queueing behind a write."""
    engine = make_engine(f"sqlite:///{tmp_path / 'books.db'}")
    create_all(engine)
    writer = UnitOfWork(engine)
    read: list[object] = []
    with writer:
        writer.next_number("lur")  # holds SQLite's one write lock until the block ends
        reader = threading.Thread(
            target=lambda: read.append(decisions.get_application(1, uow=UnitOfWork(engine)))
        )
        reader.start()
        reader.join(timeout=10)  # a reader queued for the lock would wait 30 s, then fail
        finished_while_locked = not reader.is_alive()
        writer.commit()
    reader.join()
    engine.dispose()
    assert finished_while_locked, "the read waited for the writer"
    assert read == [None]


def test_a_read_only_unit_of_work_refuses_to_commit(tmp_path: Path) -> None:
    """A write slipped into a read-only transaction fails loudly instead of being kept."""
    engine = make_engine(f"sqlite:///{tmp_path / 'books.db'}")
    create_all(engine)
    uow = UnitOfWork(engine)
    with uow.reading():
        uow.session.add(Counter(name="x", value=1))
        with pytest.raises(RuntimeError, match="cannot commit"):
            uow.commit()
    with uow:
        assert uow.session.exec(select(Counter)).all() == []
    engine.dispose()
