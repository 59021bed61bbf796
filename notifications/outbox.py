"""The outbox: e-mails written in the same transaction as the change they report."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, select

from handlers.models import OutboxMessage


def enqueue(
    session: Session,
    *,
    template: str,
    recipient: str,
    context: dict[str, Any],
    dedupe_key: str,
    application_id: int | None = None,
    cc: Sequence[str] = (),
    attachments: Sequence[str] = (),
) -> OutboxMessage:
    """Add an e-mail to the outbox once per (dedupe_key, template, recipient); never commits.

    The context must hold only what the template shows; never a password (credentials are
    minted at delivery time).
    """
    existing = session.exec(
        select(OutboxMessage).where(
            OutboxMessage.dedupe_key == dedupe_key,
            OutboxMessage.template == template,
            OutboxMessage.recipient == recipient,
        )
    ).first()
    if existing is not None:
        return existing
    row = OutboxMessage(
        dedupe_key=dedupe_key,
        template=template,
        recipient=recipient,
        cc=list(cc),
        context=context,
        attachments=list(attachments),
        application_id=application_id,
    )
    session.add(row)
    session.flush()
    return row
