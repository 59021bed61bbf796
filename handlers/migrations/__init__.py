"""Alembic migrations of the accounts database, driven from Python (no top-level alembic.ini)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from handlers import models  # noqa: F401 (registers every table on the metadata)
from handlers.db import make_engine

MIGRATIONS_DIR = Path(__file__).parent


class SchemaMismatchError(RuntimeError):
    """Tables exist without Alembic's record and differ from the models: needs a person."""


def alembic_config(url: str) -> Config:
    """The Alembic configuration for a database URL (`%` escaped for configparser)."""
    config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def current(url: str) -> str | None:
    """The revision the database is at, or None for a database Alembic has not touched."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def _unrecorded_schema_matches(url: str) -> bool | None:
    """None: no model tables yet; True/False: tables made by `create_all` (do they match?)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            existing = set(inspect(conn).get_table_names()) & set(SQLModel.metadata.tables)
            if not existing:
                return None
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return not compare_metadata(context, SQLModel.metadata)
    finally:
        engine.dispose()


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision` (default: the newest).

    A database whose tables were made by `create_all` (tests, an early embedded run) and match
    the models is stamped at head instead of being created twice.
    """
    config = alembic_config(url)
    if current(url) is None:
        matches = _unrecorded_schema_matches(url)
        if matches:
            command.stamp(config, "head")
            return
        if matches is False:
            raise SchemaMismatchError(
                "the database has tables but no Alembic revision, and they differ from the"
                " models; migrate it by hand, then `alembic stamp`"
            )
    command.upgrade(config, revision)


def make_revision(message: str, *, scratch_url: str) -> None:
    """Autogenerate the next revision from the models, diffing against a scratch database at head.

    Use an empty throw-away URL (e.g. `sqlite:////tmp/scratch.db`): it is upgraded first.
    """
    upgrade(scratch_url)
    command.revision(alembic_config(scratch_url), message=message, autogenerate=True)
