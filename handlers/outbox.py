"""The outbox: e-mails written in the same transaction as the change they report, and their states.

This module owns every write to `outbox_message`: `enqueue` (inside the caller's transaction),
`claim` (a deliverer takes due rows), `finish` (sent, or failed to be retried with backoff) and
`is_due` (the retry rule). The transport and the templates are not its business: a deliverer
(flows/delivery.py) claims rows here, renders and sends them with notifications/, then finishes
them here.

A row is claimed (status `sending`, attempts + 1) and committed before anything leaves, so two
deliverers never send one row; a claim left behind by a crashed deliverer expires after a lease.
Credentials and reset tokens are minted at claim time (handlers.credentials): hashed into the
books, handed to the deliverer in clear, never stored in clear, fresh on every retry.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, and_, col, or_, select

from handlers.credentials import mint_password, mint_secrets
from handlers.db import UnitOfWork
from handlers.models import OutboxMessage, OutboxStatus, utcnow


@dataclass(frozen=True)
class Thread:
    """The client's message a mail answers: its Message-ID and the References to carry."""

    in_reply_to: str | None = None
    references: tuple[str, ...] = ()


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
    thread: Thread | None = None,
) -> OutboxMessage:
    """Add an e-mail to the outbox once per (dedupe_key, template, recipient); never commits.

    The context must hold only what the template shows; never a password (credentials are
    minted at delivery time). `thread` makes it a reply in the client's thread.
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
        in_reply_to=thread.in_reply_to if thread else None,
        thread_references=list(thread.references) if thread else [],
    )
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class ClaimedMail:
    """A row taken by one deliverer: what to render and send, secrets included (never stored)."""

    row_id: int
    attempt: int
    template: str
    recipient: str
    cc: tuple[str, ...]
    attachments: tuple[str, ...]
    context: dict[str, Any]
    # Minted at claim time (a temporary password, a reset token); the deliverer adds links.
    secrets: dict[str, str]
    message_id: str
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how soon a row is tried again, and how long a claim holds."""

    max_attempts: int = 8
    retry_base_seconds: float = 60.0
    lease_seconds: float = 600.0


def is_due(row: OutboxMessage, now: datetime, policy: RetryPolicy) -> bool:
    """Whether a row should be tried now: new, a stale claim, or a failure whose backoff passed."""
    claimed = row.claimed_at
    if row.status == OutboxStatus.pending:
        return True
    if claimed is None:
        return row.status == OutboxStatus.failed and row.attempts < policy.max_attempts
    if row.status == OutboxStatus.sending:
        return claimed <= now - timedelta(seconds=policy.lease_seconds)
    wait = policy.retry_base_seconds * 2 ** max(row.attempts - 1, 0)
    return row.attempts < policy.max_attempts and claimed <= now - timedelta(seconds=wait)


def _candidates(
    uow: UnitOfWork,
    *,
    batch: int,
    skip: set[int],
    policy: RetryPolicy,
    application_id: int | None = None,
) -> list[OutboxMessage]:
    """The rows a claim looks at, in its order, inside the caller's transaction."""
    # New rows first, in order; then retries, the longest-waiting first, so rows that are
    # not yet due never crowd out the ones that are.
    fresh = select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.pending)
    retries = select(OutboxMessage).where(
        or_(
            OutboxMessage.status == OutboxStatus.sending,
            and_(
                col(OutboxMessage.status) == OutboxStatus.failed,
                col(OutboxMessage.attempts) < policy.max_attempts,
            ),
        )
    )
    if skip:
        fresh = fresh.where(col(OutboxMessage.id).not_in(skip))
        retries = retries.where(col(OutboxMessage.id).not_in(skip))
    if application_id is not None:
        fresh = fresh.where(OutboxMessage.application_id == application_id)
        retries = retries.where(OutboxMessage.application_id == application_id)
    fresh = fresh.order_by(col(OutboxMessage.id)).limit(batch)
    retries = retries.order_by(col(OutboxMessage.claimed_at), col(OutboxMessage.id))
    retries = retries.limit(batch * 10)
    if uow.is_postgres and not uow.read_only:
        # Another deliverer's claimed rows are skipped, not waited for.
        fresh = fresh.with_for_update(skip_locked=True)
        retries = retries.with_for_update(skip_locked=True)
    rows = list(uow.session.exec(fresh).all())
    if len(rows) < batch:
        rows += list(uow.session.exec(retries).all())
    return rows


def claim(
    uow: UnitOfWork,
    *,
    batch: int,
    skip: set[int],
    policy: RetryPolicy,
    message_id_domain: str = "docintake.invalid",
    application_id: int | None = None,
) -> list[ClaimedMail]:
    """Take up to `batch` due rows (not in `skip`) for sending, committed before anything leaves.

    `application_id`: only that application's mail (a request run sends its own replies, so
    concurrent runs never compete for one another's rows); None: everything due.

    A row gets its Message-ID on its first claim and keeps it for every retry, so a client's
    answer can be matched to it whichever attempt reached them.
    """
    now = utcnow()
    # Passwords for the credentials mails this claim may take, hashed before the write lock.
    due = _credentials_due(uow, batch, skip, policy, now, application_id)
    minted = [mint_password() for _ in range(due)]
    with uow:
        rows = _candidates(
            uow, batch=batch, skip=skip, policy=policy, application_id=application_id
        )
        claimed: list[ClaimedMail] = []
        for row in rows:
            if len(claimed) >= batch:
                break
            if not is_due(row, now, policy):
                continue
            if row.attempts >= policy.max_attempts:
                # A stale claim that already used every attempt: give up on it for good.
                row.status = OutboxStatus.failed
                row.last_error = (row.last_error or "") + " (gave up: no attempts left)"
                uow.session.add(row)
                continue
            row.status = OutboxStatus.sending
            row.claimed_at = now
            row.attempts += 1
            context = dict(row.context)
            try:
                if row.template == "credentials" and _outcome_unknown(row):
                    # The last send may have reached the user with its password: a new one
                    # would make that mail wrong. This one says the first password stands.
                    secrets: dict[str, str] = {}
                    context["password_stands"] = True
                else:
                    secrets = mint_secrets(
                        uow.session,
                        row.template,
                        row.context,
                        now=now,
                        minted=minted.pop() if minted and row.template == "credentials" else None,
                    )
            except LookupError as missing:
                row.status = OutboxStatus.failed
                row.last_error = str(missing)
                uow.session.add(row)
                continue
            if row.message_id is None:
                row.message_id = f"<{uuid.uuid4().hex}@{message_id_domain}>"
            uow.session.add(row)
            assert row.id is not None  # noqa: S101 (read from the database)
            claimed.append(
                ClaimedMail(
                    row_id=row.id,
                    attempt=row.attempts,
                    template=row.template,
                    recipient=row.recipient,
                    cc=tuple(row.cc),
                    attachments=tuple(row.attachments),
                    context=context,
                    secrets=secrets,
                    message_id=row.message_id,
                    in_reply_to=row.in_reply_to,
                    references=tuple(row.thread_references),
                )
            )
        uow.commit()
        return claimed


def _credentials_due(
    uow: UnitOfWork,
    batch: int,
    skip: set[int],
    policy: RetryPolicy,
    now: datetime,
    application_id: int | None,
) -> int:
    """How many new passwords a claim of `batch` rows would mint (a snapshot read, no claim)."""
    with uow.reading():
        taken = [
            row
            for row in _candidates(
                uow, batch=batch, skip=skip, policy=policy, application_id=application_id
            )
            if is_due(row, now, policy) and row.attempts < policy.max_attempts
        ][:batch]
        return sum(
            1 for row in taken if row.template == "credentials" and not _outcome_unknown(row)
        )


# `last_error` of a send whose message data left but whose answer never came.
UNKNOWN = "unknown: "


def _outcome_unknown(row: OutboxMessage) -> bool:
    return (row.last_error or "").startswith(UNKNOWN)


def finish(
    uow: UnitOfWork,
    mail: ClaimedMail,
    error: str | None,
    *,
    unknown: bool = False,
    policy: RetryPolicy | None = None,
) -> None:
    """Mark a claimed row sent (error None) or failed with its error, if the claim still holds.

    `unknown`: the message data was sent and the relay's answer was lost, so the mail may have
    arrived. Such a row is tried once more, later, by the normal schedule, and never again:
    at most one extra copy.
    """
    with uow:
        row = uow.session.get(OutboxMessage, mail.row_id)
        # Only the holder of the claim may finish it; an expired claim was taken over.
        if row is None or row.status != OutboxStatus.sending or row.attempts != mail.attempt:
            return
        if error is None:
            row.status = OutboxStatus.sent
            row.sent_at = utcnow()
            row.last_error = None
        else:
            row.status = OutboxStatus.failed
            row.last_error = error[:1000]
            if unknown:
                row.last_error = (UNKNOWN + error)[:1000]
                limit = (policy or RetryPolicy()).max_attempts
                row.attempts = max(row.attempts, limit - 1)
        uow.session.add(row)
        uow.commit()
