"""Composition helpers shared by the CLI and the flows: settings → engine → unit of work."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from flows.settings import Settings
from handlers.db import UnitOfWork, make_engine

if TYPE_CHECKING:
    from flows.delivery import DeliveryReport


def make_private(home: Path, database_url: str | None = None) -> None:
    """From now on every file this process (and its children) writes is 0600, home 0700.

    What docintake writes holds personal data: personal codes and hashes in the database,
    review texts with IBANs in Prefect's, temporary passwords in outbox/*.eml. A umask of
    077 covers every writer at once (SQLite, the Prefect server child, the outbox), whatever
    umask the shell had; files made before, under a wider umask, are narrowed here.
    """
    os.umask(0o077)
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o700)
    if database_url and database_url.startswith("sqlite:///"):
        path = Path(database_url.removeprefix("sqlite:///"))
        for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            if file.exists():
                file.chmod(0o600)


def load_settings() -> Settings:
    """Settings from the environment and `.env`, with a private home created."""
    settings = Settings()
    make_private(settings.home, settings.resolved_database_url)
    return settings


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """One engine per database URL per process."""
    return make_engine(url)


def uow_factory(settings: Settings) -> UnitOfWork:
    """A fresh unit of work on the configured accounts database."""
    return UnitOfWork(engine_for(settings.resolved_database_url))


async def deliver_due_mail(settings: Settings) -> DeliveryReport:
    """Send what the outbox holds that is due (new, or due for another try), as configured."""
    # Imported here: the delivery loop pulls in aiosmtplib and Jinja, which most commands skip.
    from flows.delivery import outbox_sender

    return await outbox_sender(settings)(lambda: uow_factory(settings))
