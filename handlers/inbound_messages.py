"""Inbound e-mails: recorded once by their bytes, tried at most 3 times, finished once.

Staff look after the quarantine (`docintake intake quarantine`). Every function opens its
own `with uow:` and is idempotent: the unique sha256 of the raw bytes makes a repeated call
find the first row instead of making a second one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from handlers.db import UnitOfWork
from handlers.models import (
    AuditEvent,
    ImapMailboxState,
    InboundMessage,
    MessageStatus,
    utcnow,
)
from notifications import outbox

FINAL_MESSAGE_STATES = frozenset(
    {MessageStatus.done, MessageStatus.rejected, MessageStatus.quarantined}
)
# A message that could not be read this many times is quarantined instead of tried again.
MAX_ATTEMPTS = 3
ACTOR = "intake"


class RecordMessage(BaseModel):
    """Remember one received e-mail whose raw bytes are already stored."""

    model_config = ConfigDict(frozen=True)

    sha256: str
    message_id: str | None
    source: str
    from_addr: str | None
    to_addr: str | None
    subject: str | None
    size: int


@dataclass(frozen=True)
class MessageRecord:
    """A message row as the intake needs it; `created` is False when it was known already."""

    id: int
    status: MessageStatus
    created: bool
    attempts: int = 0
    # An earlier message with the same Message-ID and other bytes, if any.
    same_message_id_as: int | None = None
    # Staff released it from quarantine: they vouch for the sender.
    released: bool = False


class Reply(BaseModel):
    """One e-mail to enqueue."""

    model_config = ConfigDict(frozen=True)

    template: str
    recipient: str
    context: dict[str, Any]
    cc: tuple[str, ...] = ()
    attachments: tuple[str, ...] = ()


class FinishMessage(BaseModel):
    """Put a message in its final state and enqueue the replies about it, in one transaction."""

    model_config = ConfigDict(frozen=True)

    message_id: int
    status: MessageStatus
    reason: str | None = None
    replies: tuple[Reply, ...] = ()
    sender_verified: bool | None = None
    auth_detail: str | None = None


RELEASED_PREFIX = "released by "


def _message_record(row: InboundMessage, *, created: bool) -> MessageRecord:
    assert row.id is not None  # noqa: S101 - rows read back from the database have ids
    return MessageRecord(
        id=row.id,
        status=row.status,
        created=created,
        attempts=row.attempts,
        same_message_id_as=row.same_message_id_as,
        released=row.status is MessageStatus.received
        and (row.auth_detail or "").startswith(RELEASED_PREFIX),
    )


def record_message(cmd: RecordMessage, *, uow: UnitOfWork) -> MessageRecord:
    """The message row for these bytes, made once; the same bytes are the same message.

    A Message-ID seen before with other bytes is not a duplicate (scanners reuse them, and a
    stranger may take a client's): the new message is recorded and points at the earlier one.
    """
    for _attempt in range(3):
        with uow:
            existing = uow.session.exec(
                select(InboundMessage).where(InboundMessage.sha256 == cmd.sha256)
            ).first()
            if existing is not None:
                return _message_record(existing, created=False)
            earlier = None
            if cmd.message_id:
                earlier = uow.session.exec(
                    select(InboundMessage.id)
                    .where(InboundMessage.message_id == cmd.message_id)
                    .order_by(col(InboundMessage.id))
                ).first()
            row = InboundMessage(
                sha256=cmd.sha256,
                message_id=cmd.message_id,
                source=cmd.source,
                from_addr=cmd.from_addr,
                to_addr=cmd.to_addr,
                subject=cmd.subject,
                size=cmd.size,
                same_message_id_as=earlier,
            )
            uow.session.add(row)
            try:
                uow.commit()
            except IntegrityError:
                continue  # another worker recorded it first; read theirs
            return _message_record(row, created=True)
    raise RuntimeError("message row could not be recorded")


def start_attempt(message_id: int, *, uow: UnitOfWork) -> int:
    """Count one more try to read a message (before trying: a crash counts too); the count."""
    with uow:
        row = uow.session.get(InboundMessage, message_id, with_for_update=uow.is_postgres)
        if row is None:
            raise LookupError(f"no message {message_id}")
        row.attempts += 1
        uow.session.add(row)
        uow.commit()
        return row.attempts


def finish_message(cmd: FinishMessage, *, uow: UnitOfWork) -> MessageStatus:
    """Set the final status once and enqueue the replies; a finished message stays as it is."""
    if cmd.status not in FINAL_MESSAGE_STATES:
        raise ValueError(f"{cmd.status} is not a final state")
    with uow:
        row = uow.session.get(InboundMessage, cmd.message_id)
        if row is None:
            raise LookupError(f"no message {cmd.message_id}")
        if row.status in FINAL_MESSAGE_STATES:
            return row.status
        for reply in cmd.replies:
            outbox.enqueue(
                uow.session,
                template=reply.template,
                recipient=reply.recipient,
                context=reply.context,
                cc=reply.cc,
                attachments=reply.attachments,
                dedupe_key=f"message-{row.sha256}",
            )
        row.status = cmd.status
        row.reason = cmd.reason
        if cmd.sender_verified is not None:
            row.sender_verified = cmd.sender_verified
        if cmd.auth_detail is not None and not (row.auth_detail or "").startswith(RELEASED_PREFIX):
            row.auth_detail = cmd.auth_detail[:500]
        uow.session.add(row)
        uow.session.add(
            AuditEvent(
                actor=ACTOR,
                action=f"message_{cmd.status.value}",
                entity="inbound_message",
                entity_id=str(row.id),
                after={"status": cmd.status.value, "reason": cmd.reason},
            )
        )
        uow.commit()
        return cmd.status


@dataclass(frozen=True)
class QuarantinedMessage:
    """One quarantined message as staff see it in the list (no body, no attachments)."""

    id: int
    received_at: datetime
    source: str
    from_addr: str | None
    subject: str | None
    reason: str | None
    sha256: str
    size: int


def quarantined_messages(*, uow: UnitOfWork) -> list[QuarantinedMessage]:
    """Messages waiting in quarantine, oldest first."""
    with uow:
        rows = uow.session.exec(
            select(InboundMessage)
            .where(InboundMessage.status == MessageStatus.quarantined)
            .order_by(col(InboundMessage.id))
        ).all()
        return [
            QuarantinedMessage(
                id=row.id,
                received_at=row.received_at,
                source=row.source,
                from_addr=row.from_addr,
                subject=row.subject,
                reason=row.reason,
                sha256=row.sha256,
                size=row.size,
            )
            for row in rows
            if row.id is not None
        ]


def _quarantined(uow: UnitOfWork, message_id: int) -> InboundMessage:
    row = uow.session.get(InboundMessage, message_id)
    if row is None or row.status is not MessageStatus.quarantined:
        raise LookupError(f"no quarantined message {message_id}")
    return row


def release_message(message_id: int, *, staff: str, uow: UnitOfWork) -> str:
    """Staff vouch for a quarantined message: it is read again as from a verified sender.

    Returns its sha256, to read the stored bytes again. The contract rules still apply: the
    sender must be an authorized person of the contract each form names.
    """
    with uow:
        row = _quarantined(uow, message_id)
        row.status = MessageStatus.received
        row.attempts = 0
        row.auth_detail = f"{RELEASED_PREFIX}{staff}"[:500]
        row.reason = None
        uow.session.add(row)
        uow.session.add(
            AuditEvent(
                actor=staff,
                action="message_released",
                entity="inbound_message",
                entity_id=str(row.id),
                after={"status": row.status.value},
            )
        )
        uow.commit()
        return row.sha256


def drop_message(message_id: int, *, staff: str, uow: UnitOfWork) -> None:
    """Staff throw a quarantined message away: final, nobody answered, the original kept."""
    with uow:
        row = _quarantined(uow, message_id)
        row.status = MessageStatus.rejected
        row.reason = f"dropped by {staff}"[:500]
        uow.session.add(row)
        uow.session.add(
            AuditEvent(
                actor=staff,
                action="message_dropped",
                entity="inbound_message",
                entity_id=str(row.id),
                after={"status": row.status.value},
            )
        )
        uow.commit()


def imap_last_uid(mailbox: str, uidvalidity: int, *, uow: UnitOfWork) -> int:
    """The last UID taken from a folder; 0 when unknown or when its UIDVALIDITY changed."""
    with uow:
        row = uow.session.exec(
            select(ImapMailboxState).where(ImapMailboxState.mailbox == mailbox)
        ).first()
        if row is None or row.uidvalidity != uidvalidity:
            return 0
        return row.last_uid


def imap_remember_uid(mailbox: str, uidvalidity: int, uid: int, *, uow: UnitOfWork) -> None:
    """Remember that a folder's messages up to this UID are taken (under this UIDVALIDITY)."""
    for _attempt in range(3):
        with uow:
            row = uow.session.exec(
                select(ImapMailboxState).where(ImapMailboxState.mailbox == mailbox)
            ).first()
            if row is None:
                row = ImapMailboxState(mailbox=mailbox, uidvalidity=uidvalidity, last_uid=uid)
            elif row.uidvalidity != uidvalidity:
                row.uidvalidity, row.last_uid = uidvalidity, uid
            else:
                row.last_uid = max(row.last_uid, uid)
            row.updated_at = utcnow()
            uow.session.add(row)
            try:
                uow.commit()
            except IntegrityError:
                continue  # first row for this folder written concurrently; update theirs
            return
