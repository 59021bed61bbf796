"""The intake package wired to the settings: one message handler, the schema, one drop-folder pass.

Shared by the intake flow, `serve` and `docintake intake`, so it lives outside the CLI.
"""

from __future__ import annotations

import asyncio
from datetime import date
from functools import partial

from sqlalchemy import inspect

from flows.common import deliver_due_mail, engine_for, uow_factory
from flows.settings import Settings
from handlers import migrations
from intake import parsing
from intake.mime import Limits
from intake.pipeline import Handle, MessageOutcome, process_message
from intake.senders import Trust, Verification
from intake.sources.dropdir import DropResult, process_inbox


def limits_from(settings: Settings) -> Limits:
    """The message limits configured in settings."""
    return Limits(
        max_attachments=settings.max_attachments,
        max_attachment_bytes=settings.max_attachment_bytes,
        max_message_bytes=settings.max_message_bytes,
    )


def trust_from(settings: Settings, *, source: str) -> Trust:
    """Whose Authentication-Results count for mail from this source, and how much is wanted.

    The drop folder also trusts our own listener's authserv-id: the listener writes there
    after deleting every Authentication-Results a message arrived with. IMAP mail never
    passed our listener, so a header claiming its id there was written by someone else.
    """
    ids = settings.trusted_ids
    if source != "imap":
        ids = (*ids, settings.authserv_id.strip().lower())
    return Trust(level=Verification(settings.verification_level), trusted_authserv_ids=ids)


def message_handler(settings: Settings, *, source: str, today: date | None = None) -> Handle:
    """`raw bytes -> MessageOutcome` wired with the settings' database, home and limits."""
    factory = partial(uow_factory, settings)
    limits = limits_from(settings)
    trust = trust_from(settings, source=source)
    parsing.configure(budget_seconds=settings.parse_budget_seconds, workers=settings.parse_workers)

    def handle(raw: bytes, *, size: int | None = None) -> MessageOutcome:
        return process_message(
            raw,
            size=size,
            source=source,
            uow_factory=factory,
            home=settings.home,
            today=today or date.today(),
            staff_email=settings.staff_email,
            trust=trust,
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
        max_message_bytes=settings.max_message_bytes,
    )


def deliver_outbox(settings: Settings) -> str:
    """Send what the outbox holds (to home/outbox/ as .eml files when no SMTP host is set)."""
    return f"outbox: {asyncio.run(deliver_due_mail(settings))}"
