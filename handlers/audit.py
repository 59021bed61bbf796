"""The audit trail: every change to the books writes one event in its own transaction."""

from __future__ import annotations

from typing import Any

from handlers.commands import Command
from handlers.db import UnitOfWork
from handlers.models import AuditEvent


def snapshot(row: Any, *fields: str) -> dict[str, Any]:
    """Chosen attributes of a row as JSON-friendly values, for audit before/after."""
    values: dict[str, Any] = {}
    for name in fields:
        value = getattr(row, name)
        values[name] = value if value is None or isinstance(value, int | bool) else str(value)
    return values


def audit(
    uow: UnitOfWork,
    cmd: Command,
    action: str,
    entity: str,
    entity_id: int | str | None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Write one audit event in the current transaction."""
    uow.session.add(
        AuditEvent(
            actor=cmd.actor,
            action=action,
            entity=entity,
            entity_id=None if entity_id is None else str(entity_id),
            before=before,
            after=after,
            application_id=cmd.application_id,
        )
    )
