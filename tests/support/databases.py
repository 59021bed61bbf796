"""Throw-away databases on the machine's PostgreSQL (and SQLite files), for tests and benches."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import Engine

from handlers.db import create_all, make_engine

PG_ADMIN_URL = os.environ.get(
    "DOCINTAKE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@contextmanager
def fresh_postgres(prefix: str = "docintake_t") -> Iterator[str]:
    """A new, empty database on the machine's PostgreSQL; its URL. Dropped afterwards.

    An unreachable server raises (never skips): the suite must fail loudly without it.
    """
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except Exception as exc:
        admin.dispose()
        raise RuntimeError(f"PostgreSQL at {PG_ADMIN_URL} is not reachable: {exc}") from exc
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@contextmanager
def fresh_engine(kind: str, folder: Path, prefix: str = "docintake_t") -> Iterator[Engine]:
    """An engine on a new, empty accounts database with every table: `sqlite` or `postgres`."""
    if kind == "sqlite":
        engine = make_engine(f"sqlite:///{folder / f'{prefix}.db'}")
        create_all(engine)
        try:
            yield engine
        finally:
            engine.dispose()
        return
    with fresh_postgres(prefix) as url:
        engine = make_engine(url)
        try:
            create_all(engine)
            yield engine
        finally:
            engine.dispose()
