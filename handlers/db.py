"""The accounts database: engine creation and the unit of work that owns each transaction."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine, select

from handlers import models

# The execution option that marks a read-only unit of work's connection.
READ_ONLY = "docintake_read_only"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for SQLite (WAL, foreign keys on, busy timeout) or PostgreSQL, by URL."""
    # Database errors would otherwise quote their parameters (names, e-mails, personal codes)
    # into every log line and traceback that reports them.
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # pysqlite's own transaction handling would begin too late for BEGIN IMMEDIATE.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # Take the write lock at the start so two writers never deadlock on upgrade; a
            # unit of work for reading only takes a snapshot beside the writers instead.
            if conn.get_execution_options().get(READ_ONLY):
                conn.exec_driver_sql("BEGIN")
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True, **kwargs)


def create_all(engine: Engine) -> None:
    """Create every table directly (tests); production uses `docintake db upgrade`."""
    SQLModel.metadata.create_all(engine)


class UnitOfWork:
    """One transaction: `with uow:` … `uow.commit()`; leaving without commit rolls back."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._session: Session | None = None
        self._read_only = False

    @property
    def session(self) -> Session:
        """The open session; only inside `with uow:`."""
        if self._session is None:
            raise RuntimeError("UnitOfWork used outside `with`")
        return self._session

    @property
    def is_postgres(self) -> bool:
        """True on PostgreSQL, where row locks (`FOR UPDATE`) are taken."""
        return self.engine.dialect.name == "postgresql"

    @property
    def read_only(self) -> bool:
        """True inside `with uow.reading():`."""
        return self._read_only

    def reading(self) -> Self:
        """For `with uow.reading():` — a transaction that only reads, and says so.

        On SQLite it begins DEFERRED: a snapshot read that neither waits for the one write lock
        nor holds it (every other transaction takes it at BEGIN). Commit is refused.
        """
        self._read_only = True
        return self

    def __enter__(self) -> Self:
        bind = self.engine.execution_options(**{READ_ONLY: True}) if self._read_only else None
        self._session = Session(bind or self.engine, expire_on_commit=False)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.rollback()
        finally:
            self.session.close()
            self._session = None
            self._read_only = False

    def commit(self) -> None:
        """Make everything done in this unit of work permanent."""
        if self._read_only:
            raise RuntimeError("a unit of work entered with reading() cannot commit")
        self.session.commit()

    def rollback(self) -> None:
        """Throw away everything not yet committed."""
        self.session.rollback()

    def next_number(self, name: str) -> int:
        """The next value of a named database counter, taken inside this transaction."""
        session = self.session
        stmt = select(models.Counter).where(models.Counter.name == name)
        if self.is_postgres:
            session.execute(
                text(
                    "INSERT INTO counter (name, value) VALUES (:n, 0) ON CONFLICT (name) DO NOTHING"
                ),
                {"n": name},
            )
            stmt = stmt.with_for_update()
        counter = session.exec(stmt).first()
        if counter is None:
            counter = models.Counter(name=name, value=0)
            session.add(counter)
        counter.value += 1
        session.add(counter)
        session.flush()
        return counter.value
