"""The intake package wired to the settings: one message handler, the schema, one drop-folder pass.

Shared by the intake flow, `serve` and `docintake intake`, so it lives outside the CLI.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date
from functools import partial

from sqlalchemy import inspect

from flows.common import deliver_due_mail, engine_for, uow_factory
from flows.settings import Settings
from handlers import migrations
from intake.mime import Limits
from intake.pipeline import MessageOutcome, process_message
from intake.sources.dropdir import DropResult, process_inbox


def limits_from(settings: Settings) -> Limits:
    """The message limits configured in settings."""
    return Limits(
        max_attachments=settings.max_attachments,
        max_attachment_bytes=settings.max_attachment_bytes,
        max_message_bytes=settings.max_message_bytes,
    )


def message_handler(
    settings: Settings, *, source: str, today: date | None = None
) -> Callable[[bytes], MessageOutcome]:
    """`raw bytes -> MessageOutcome` wired with the settings' database, home and limits."""
    factory = partial(uow_factory, settings)
    limits = limits_from(settings)

    def handle(raw: bytes) -> MessageOutcome:
        return process_message(
            raw,
            source=source,
            uow_factory=factory,
            home=settings.home,
            today=today or date.today(),
            staff_email=settings.staff_email,
            require_dmarc_pass=settings.require_dmarc_pass,
            limits=limits,
        )

    return handle


def ensure_schema(settings: Settings) -> None:
    """Bring a fresh database to the newest schema; a database with tables is left as it is."""
    engine = engine_for(settings.resolved_database_url)
    if not inspect(engine).has_table("inbound_message"):
        migrations.upgrade(settings.resolved_database_url)


def intake_once(settings: Settings, *, settle_seconds: float = 1.0) -> list[DropResult]:
    """Process every ready `.eml` of the drop folder once."""
    ensure_schema(settings)
    return process_inbox(
        settings.inbox_dir,
        handle=message_handler(settings, source="dropdir"),
        settle_seconds=settle_seconds,
    )


def deliver_outbox(settings: Settings) -> str:
    """Send what the outbox holds (to home/outbox/ as .eml files when no SMTP host is set)."""
    return f"outbox: {asyncio.run(deliver_due_mail(settings))}"
