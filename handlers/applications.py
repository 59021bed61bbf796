"""The intake's records: raw message rows, applications with reference numbers, sender look-ups.

Every function opens its own `with uow:` and is idempotent: the unique constraints on
inbound_message (sha256, message_id) and application (message_id, attachment_index) plus the
outbox's dedupe key make a repeated call find the first result instead of making a second one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from handlers import outbox
from handlers.db import UnitOfWork
from handlers.lookups import books_name
from handlers.models import (
    Application,
    ApplicationStatus,
    AuditEvent,
    AuthorizedPerson,
    Contract,
    Customer,
    ImapMailboxState,
    InboundMessage,
    MessageStatus,
    User,
    utcnow,
)
from handlers.replies import reply_addresses
from handlers.threads import thread_of_message

FINAL_MESSAGE_STATES = frozenset(
    {MessageStatus.done, MessageStatus.rejected, MessageStatus.quarantined}
)
DUPLICATE_WINDOW = timedelta(days=30)
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
    duplicate_of_message_id: str | None = None


class Reply(BaseModel):
    """One e-mail to enqueue."""

    model_config = ConfigDict(frozen=True)

    template: str
    recipient: str
    context: dict[str, Any]
    cc: tuple[str, ...] = ()
    attachments: tuple[str, ...] = ()


class CreateApplication(BaseModel):
    """Record one form attachment of a message as an application and acknowledge it."""

    model_config = ConfigDict(frozen=True)

    message_id: int
    attachment_index: int
    filename: str
    document_sha256: str
    form_type: str | None
    fields: dict[str, Any] = Field(default_factory=dict)
    errors: list[dict[str, Any]] = Field(default_factory=list)
    warnings: list[dict[str, Any]] = Field(default_factory=list)
    sender: str
    today: date
    form_title_lv: str = ""
    form_title_en: str = ""
    # The errors as the form_rejected template shows them (labels resolved by the caller).
    error_lines: list[dict[str, str]] = Field(default_factory=list)


@dataclass(frozen=True)
class ApplicationRecord:
    """What the intake reports for one application."""

    id: int
    reference: str
    status: ApplicationStatus
    duplicate_of: int | None
    created: bool


class FinishMessage(BaseModel):
    """Put a message in its final state and enqueue the replies about it, in one transaction."""

    model_config = ConfigDict(frozen=True)

    message_id: int
    status: MessageStatus
    reason: str | None = None
    replies: tuple[Reply, ...] = ()


def _message_record(row: InboundMessage, *, created: bool) -> MessageRecord:
    assert row.id is not None  # noqa: S101 - rows read back from the database have ids
    return MessageRecord(id=row.id, status=row.status, created=created)


def record_message(cmd: RecordMessage, *, uow: UnitOfWork) -> MessageRecord:
    """The message row for these bytes, made once: same bytes or same Message-ID is the same."""
    for _attempt in range(3):
        with uow:
            conditions = [col(InboundMessage.sha256) == cmd.sha256]
            if cmd.message_id:
                conditions.append(col(InboundMessage.message_id) == cmd.message_id)
            existing = uow.session.exec(
                select(InboundMessage).where(or_(*conditions)).order_by(col(InboundMessage.id))
            ).first()
            if existing is not None:
                return _message_record(existing, created=False)
            row = InboundMessage(
                sha256=cmd.sha256,
                message_id=cmd.message_id,
                source=cmd.source,
                from_addr=cmd.from_addr,
                to_addr=cmd.to_addr,
                subject=cmd.subject,
                size=cmd.size,
            )
            uow.session.add(row)
            try:
                uow.commit()
            except IntegrityError:
                continue  # another worker recorded it first; read theirs
            return _message_record(row, created=True)
    raise RuntimeError("message row could not be recorded")


def message_application_ids(message_id: int, *, uow: UnitOfWork) -> list[tuple[int, str, str]]:
    """(id, reference, status) of the applications made from a message, in attachment order."""
    with uow:
        rows = uow.session.exec(
            select(Application)
            .where(Application.message_id == message_id)
            .order_by(col(Application.attachment_index))
        ).all()
        return [(row.id, row.reference, row.status.value) for row in rows if row.id is not None]


def sender_contract_ids(email: str, *, uow: UnitOfWork) -> set[int]:
    """Contracts whose authorized persons or users have this e-mail address (any case)."""
    address = email.strip().lower()
    with uow:
        persons = uow.session.exec(
            select(AuthorizedPerson.contract_id).where(
                func.lower(AuthorizedPerson.email) == address
            )
        ).all()
        users = uow.session.exec(
            select(User.contract_id).where(func.lower(User.email) == address)
        ).all()
        return {*persons, *users}


def _contract_for(session: Any, reg_no: str | None, contract_no: str | None) -> Contract | None:
    if not contract_no:
        return None
    stmt = select(Contract).where(Contract.number == contract_no)
    if reg_no:
        stmt = stmt.join(Customer, col(Customer.id) == Contract.customer_id).where(
            Customer.reg_no == reg_no
        )
    result: Contract | None = session.exec(stmt).first()
    return result


def _contract_addresses(session: Any, contract_id: int) -> set[str]:
    persons = session.exec(
        select(AuthorizedPerson.email).where(AuthorizedPerson.contract_id == contract_id)
    ).all()
    users = session.exec(select(User.email).where(User.contract_id == contract_id)).all()
    return {address.strip().lower() for address in (*persons, *users)}


def _duplicate_of(
    session: Any, cmd: CreateApplication, contract: Contract | None
) -> Application | None:
    since = datetime.combine(cmd.today - DUPLICATE_WINDOW, time.min, tzinfo=UTC)
    stmt = select(Application).where(
        Application.document_sha256 == cmd.document_sha256,
        col(Application.created_at) >= since,
    )
    if contract is not None:
        stmt = stmt.where(Application.contract_id == contract.id)
    else:
        stmt = stmt.where(
            Application.reg_no == cmd.fields.get("reg_no"),
            Application.contract_no == cmd.fields.get("contract_no"),
        )
    found: Application | None = session.exec(stmt.order_by(col(Application.id))).first()
    return found


def _duplicate_warning(reference: str) -> dict[str, Any]:
    return {
        "field": None,
        "code": "duplicate",
        "message_lv": (
            f"Šis pats dokuments šim līgumam jau saņemts pēdējo 30 dienu laikā ({reference}); "
            "pārbaudiet, vai tas nav iesniegts atkārtoti."
        ),
        "message_en": (
            f"The same document was already received for this contract in the last 30 days "
            f"({reference}); check that it is not a repeated submission."
        ),
    }


def _existing_application(session: Any, cmd: CreateApplication) -> Application | None:
    found: Application | None = session.exec(
        select(Application).where(
            Application.message_id == cmd.message_id,
            Application.attachment_index == cmd.attachment_index,
        )
    ).first()
    return found


def _text_field(cmd: CreateApplication, name: str) -> str | None:
    value = cmd.fields.get(name)
    return value if isinstance(value, str) else None


def _record(row: Application, *, created: bool) -> ApplicationRecord:
    assert row.id is not None  # noqa: S101 - rows read back from the database have ids
    return ApplicationRecord(row.id, row.reference, row.status, row.duplicate_of, created)


def create_application(cmd: CreateApplication, *, uow: UnitOfWork) -> ApplicationRecord:
    """The application for one attachment, made once, with its receipt or rejection e-mail."""
    for _attempt in range(3):
        with uow:
            session = uow.session
            existing = _existing_application(session, cmd)
            if existing is not None:
                return _record(existing, created=False)
            valid = cmd.form_type is not None and not cmd.errors
            status = ApplicationStatus.received if valid else ApplicationStatus.invalid
            reg_no = _text_field(cmd, "reg_no")
            contract_no = _text_field(cmd, "contract_no")
            contract = _contract_for(session, reg_no, contract_no)
            warnings = list(cmd.warnings)
            duplicate = _duplicate_of(session, cmd, contract) if valid else None
            if duplicate is not None:
                warnings.append(_duplicate_warning(duplicate.reference))
            year = cmd.today.year
            reference = f"LUR-{year}-{uow.next_number(f'reference-{year}'):06d}"
            row = Application(
                reference=reference,
                message_id=cmd.message_id,
                attachment_index=cmd.attachment_index,
                filename=cmd.filename,
                document_sha256=cmd.document_sha256,
                form_type=cmd.form_type,
                reg_no=reg_no,
                contract_no=contract_no,
                contract_id=contract.id if contract is not None else None,
                sender=cmd.sender,
                fields=cmd.fields,
                errors=cmd.errors,
                warnings=warnings,
                status=status,
                duplicate_of=duplicate.id if duplicate is not None else None,
            )
            session.add(row)
            session.flush()
            session.add(
                AuditEvent(
                    actor=ACTOR,
                    action="application_received" if valid else "application_invalid",
                    entity="application",
                    entity_id=reference,
                    after={
                        "status": status.value,
                        "form_type": cmd.form_type,
                        "duplicate_of": row.duplicate_of,
                    },
                    application_id=row.id,
                )
            )
            # The contact e-mail gets a copy only when the books know it for this contract.
            known = (
                _contract_addresses(session, contract.id)
                if contract is not None and contract.id is not None
                else set()
            )
            _sender, *cc = reply_addresses(row, books_addresses=known)
            context: dict[str, Any] = {
                "reference": reference,
                "form_title_lv": cmd.form_title_lv,
                "form_title_en": cmd.form_title_en,
            }
            if valid:
                # Greet the company as the books name it, not as the client typed it.
                context["customer_name"] = (
                    books_name(uow, contract, cmd.today) if contract is not None else ""
                )
            else:
                context["errors"] = cmd.error_lines
            outbox.enqueue(
                session,
                template="receipt" if valid else "form_rejected",
                recipient=cmd.sender,
                cc=cc,
                context=context,
                dedupe_key=reference,
                application_id=row.id,
                thread=thread_of_message(session, cmd.message_id),
            )
            try:
                uow.commit()
            except IntegrityError:
                continue  # a concurrent worker took this attachment; return its row
            return _record(row, created=True)
    raise RuntimeError("application could not be recorded")


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
                thread=thread_of_message(uow.session, row.id),
            )
        row.status = cmd.status
        row.reason = cmd.reason
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
