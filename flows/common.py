"""Composition helpers shared by the CLI and the flows: settings → engine → unit of work."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from flows.settings import Settings
from handlers.db import UnitOfWork, make_engine

if TYPE_CHECKING:
    from flows.delivery import DeliveryReport


def load_settings() -> Settings:
    """Settings from the environment and `.env`, with home created."""
    settings = Settings()
    settings.home.mkdir(parents=True, exist_ok=True)
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
