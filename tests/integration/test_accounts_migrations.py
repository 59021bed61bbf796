"""Alembic brings an empty SQLite or PostgreSQL database to exactly the models' schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from handlers import models  # noqa: F401 (registers every table on the metadata)
from handlers.db import create_all, make_engine
from handlers.migrations import current, upgrade


def test_upgrade_to_head_gives_the_models_tables(db_url: str) -> None:
    """After `upgrade`, the database has every model table and no difference Alembic can see."""
    assert current(db_url) is None
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names()) - {"alembic_version"}
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, SQLModel.metadata)
    finally:
        engine.dispose()
    assert tables == set(SQLModel.metadata.tables)
    assert differences == []
    assert current(db_url) is not None


def test_upgrade_twice_is_harmless(db_url: str) -> None:
    """Running the upgrade on a database already at head changes nothing and does not fail."""
    upgrade(db_url)
    head = current(db_url)
    upgrade(db_url)
    assert current(db_url) == head


def test_a_database_made_by_create_all_is_stamped_not_recreated(db_url: str) -> None:
    """Tables from `create_all` that match the models are recorded at head and kept."""
    engine = make_engine(db_url)
    try:
        create_all(engine)
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO counter (name, value) VALUES ('kept', 7)")
    finally:
        engine.dispose()
    upgrade(db_url)
    assert current(db_url) is not None
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            kept = conn.exec_driver_sql("SELECT value FROM counter WHERE name = 'kept'").scalar()
    finally:
        engine.dispose()
    assert kept == 7
