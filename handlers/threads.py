"""Threads: our replies answer the client's message; the client's answers find their request.

Outgoing: `thread_of_message` / `thread_of_application` give the In-Reply-To and References of
a reply (the client's Message-ID, recorded in inbound_message). Incoming: a client's e-mail with
no form that answers one of our mails — its In-Reply-To/References name one of our outbox
Message-IDs, or its subject quotes an LUR reference — is attached to that application by
`attach_client_answer` and told to staff, never answered with "no form".
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from forms.catalogue import form_titles
from handlers.db import UnitOfWork
from handlers.models import (
    Application,
    AuditEvent,
    ClientAnswer,
    InboundMessage,
    OutboxMessage,
)
from handlers.outbox import Thread, enqueue

REFERENCE_PATTERN = re.compile(r"\bLUR-\d{4}-\d{6}\b", re.IGNORECASE)
# Enough of a client's answer for staff to read it in a mail and the CLI; the raw stays stored.
MAX_ANSWER_CHARS = 20_000


def thread_of_message(session: Session, inbound_message_id: int | None) -> Thread | None:
    """The thread of a reply to this received message (None when it had no Message-ID)."""
    if inbound_message_id is None:
        return None
    message = session.get(InboundMessage, inbound_message_id)
    if message is None or not message.message_id:
        return None
    return Thread(in_reply_to=message.message_id, references=(message.message_id,))


def thread_of_application(session: Session, application_id: int | None) -> Thread | None:
    """The thread of a reply about an application: the message its form came in."""
    if application_id is None:
        return None
    application = session.get(Application, application_id)
    return thread_of_message(session, application.message_id) if application else None


@dataclass(frozen=True)
class ThreadMatch:
    """What a client's message answers: an application (or None) and how it was recognized."""

    application_id: int | None
    matched_by: str  # "message_id" or "reference"
    # Who our mail went to (a match by Message-ID); empty for a match by reference.
    our_recipients: tuple[str, ...] = ()


def find_thread(
    session: Session, *, in_reply_to: str | None, references: Sequence[str], subject: str | None
) -> ThreadMatch | None:
    """The application a client's message answers: by our Message-IDs first, then LUR-… ."""
    ids = [i for i in dict.fromkeys([*(references or ()), in_reply_to or ""]) if i]
    if ids:
        # The newest of our mails it names: In-Reply-To is the last one they answered.
        rows = session.exec(
            select(OutboxMessage)
            .where(col(OutboxMessage.message_id).in_(ids))
            .order_by(col(OutboxMessage.id).desc())
        ).all()
        if rows:
            row = rows[0]
            return ThreadMatch(row.application_id, "message_id", (row.recipient, *row.cc))
    for found in REFERENCE_PATTERN.findall(subject or ""):
        application = session.exec(
            select(Application).where(Application.reference == found.upper())
        ).first()
        if application is not None:
            return ThreadMatch(application.id, "reference")
    return None


def _may_answer(
    session: Session, match: ThreadMatch, sender: str, sender_contract_ids: Collection[int]
) -> bool:
    """Whether this sender may add to that thread: it was ours to them, or it is their contract."""
    address = sender.strip().casefold()
    if address in {r.strip().casefold() for r in match.our_recipients}:
        return True
    if match.application_id is None:
        return False
    application = session.get(Application, match.application_id)
    if application is None:
        return False
    if (application.sender or "").strip().casefold() == address:
        return True
    return application.contract_id is not None and application.contract_id in sender_contract_ids


class AttachClientAnswer(BaseModel):
    """Keep a client's e-mail without a form that answers our mail, and tell staff."""

    model_config = ConfigDict(frozen=True)

    inbound_message_id: int
    sender: str
    sender_contract_ids: frozenset[int] = frozenset()
    subject: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    text: str = ""
    staff_email: str


@dataclass(frozen=True)
class AttachedAnswer:
    """Where a client's answer went: its row, the application's reference (or None)."""

    answer_id: int
    application_id: int | None
    reference: str | None
    matched_by: str


def attach_client_answer(cmd: AttachClientAnswer, *, uow: UnitOfWork) -> AttachedAnswer | None:
    """Attach the answer to its application and mail staff; None when it answers nothing of ours.

    Idempotent by the inbound message: a second call returns the first answer.
    """
    for _attempt in range(2):
        with uow:
            session = uow.session
            existing = session.exec(
                select(ClientAnswer).where(
                    ClientAnswer.inbound_message_id == cmd.inbound_message_id
                )
            ).first()
            if existing is not None:
                return _attached(session, existing)
            match = find_thread(
                session,
                in_reply_to=cmd.in_reply_to,
                references=cmd.references,
                subject=cmd.subject,
            )
            if match is None or not _may_answer(
                session, match, cmd.sender, cmd.sender_contract_ids
            ):
                return None
            answer = ClientAnswer(
                inbound_message_id=cmd.inbound_message_id,
                application_id=match.application_id,
                from_addr=cmd.sender,
                subject=cmd.subject,
                text=cmd.text[:MAX_ANSWER_CHARS],
                matched_by=match.matched_by,
            )
            session.add(answer)
            session.flush()
            attached = _attached(session, answer)
            title_lv, title_en = form_titles(_form_type(session, match.application_id))
            enqueue(
                session,
                template="client_answer",
                recipient=cmd.staff_email,
                context={
                    "reference": attached.reference,
                    "form_title_lv": title_lv,
                    "form_title_en": title_en,
                    "from_addr": cmd.sender,
                    "subject": cmd.subject or "",
                    "text": answer.text,
                },
                dedupe_key=f"answer-{cmd.inbound_message_id}",
                application_id=match.application_id,
            )
            session.add(
                AuditEvent(
                    actor="intake",
                    action="client_answer",
                    entity="inbound_message",
                    entity_id=str(cmd.inbound_message_id),
                    after={"matched_by": match.matched_by, "reference": attached.reference},
                    application_id=match.application_id,
                )
            )
            try:
                uow.commit()
            except IntegrityError:
                continue  # the same message attached concurrently: read theirs
            return attached
    raise RuntimeError("client answer could not be recorded")


def _form_type(session: Session, application_id: int | None) -> str | None:
    application = session.get(Application, application_id) if application_id else None
    return application.form_type if application else None


def _attached(session: Session, answer: ClientAnswer) -> AttachedAnswer:
    application = session.get(Application, answer.application_id) if answer.application_id else None
    assert answer.id is not None  # noqa: S101 (flushed or read from the database)
    return AttachedAnswer(
        answer_id=answer.id,
        application_id=answer.application_id,
        reference=application.reference if application else None,
        matched_by=answer.matched_by,
    )


@dataclass(frozen=True)
class ClientAnswerView:
    """A client's answer as staff read it."""

    received_at: datetime
    from_addr: str
    subject: str | None
    text: str


def client_answers(application_id: int, *, uow: UnitOfWork) -> list[ClientAnswerView]:
    """The client's answers attached to an application, oldest first."""
    with uow.reading():
        rows = uow.session.exec(
            select(ClientAnswer)
            .where(ClientAnswer.application_id == application_id)
            .order_by(col(ClientAnswer.received_at), col(ClientAnswer.id))
        ).all()
        return [ClientAnswerView(r.received_at, r.from_addr, r.subject, r.text) for r in rows]
