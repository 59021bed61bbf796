"""Delivering the outbox: claim rows in a transaction, send, mark each sent exactly once.

A row is claimed (status `sending`, attempts + 1) and committed before anything leaves, so two
deliverers never send one row; a claim left behind by a crashed deliverer expires after a lease.
A failed send marks the row `failed` with its error, to be retried later with backoff; it never
touches the change that wrote the row. Credentials and reset tokens are minted at claim time:
hashed into the database, put in the e-mail, never stored in clear, fresh on every retry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import and_, col, or_, select

from handlers.credentials import hash_password, new_reset_token, temporary_password, token_hash
from handlers.db import UnitOfWork
from handlers.models import OutboxMessage, OutboxStatus, PasswordResetToken, User, utcnow
from notifications.render import render
from notifications.smtp import Transport, build_message, transport_from

__all__ = ["DeliveryReport", "deliver_pending", "deliver_pending_sync", "transport_from"]

DEFAULT_RESET_URL = "https://datubazes.example.lv/parole"
CLAIM_BATCH = 50


@dataclass
class DeliveryReport:
    """What one delivery pass did; `int(report)` is the number sent."""

    sent: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def __int__(self) -> int:
        return self.sent

    def __str__(self) -> str:
        return f"{self.sent} sent, {self.failed} failed"


@dataclass
class _Claimed:
    row_id: int
    attempt: int
    template: str
    recipient: str
    cc: list[str]
    attachments: list[str]
    context: dict[str, Any]


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite returns naive datetimes for what was written in UTC.
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=utcnow().tzinfo)


def _due(
    row: OutboxMessage, now: datetime, max_attempts: int, retry_base: float, lease: float
) -> bool:
    claimed = _aware(row.claimed_at)
    if row.status == OutboxStatus.pending:
        return True
    if claimed is None:
        return row.status == OutboxStatus.failed and row.attempts < max_attempts
    if row.status == OutboxStatus.sending:
        return claimed <= now - timedelta(seconds=lease)
    wait = retry_base * 2 ** max(row.attempts - 1, 0)
    return row.attempts < max_attempts and claimed <= now - timedelta(seconds=wait)


def _mint_secrets(
    uow: UnitOfWork, row: OutboxMessage, now: datetime, reset_url: str, login_url: str | None
) -> dict[str, Any]:
    """Extra context only this send sees: a fresh password or reset link, hashed into the books."""
    user_id = row.context.get("user_id")
    if row.template == "credentials" and user_id is not None:
        user = uow.session.get(User, int(user_id))
        if user is None:
            raise LookupError(f"credentials for a missing user id {user_id}")
        password = temporary_password()
        user.password_hash = hash_password(password)
        user.must_change_password = True
        uow.session.add(user)
        # The site's address is the deliverer's to know (settings), not the handler's.
        return {"password": password} | ({"login_url": login_url} if login_url else {})
    if row.template == "password_reset" and user_id is not None:
        token = new_reset_token()
        hours = int(row.context.get("valid_hours", 2))
        uow.session.add(
            PasswordResetToken(
                user_id=int(user_id),
                token_hash=token_hash(token),
                expires_at=now + timedelta(hours=hours),
            )
        )
        return {"token": token, "reset_url": f"{reset_url}?token={token}"}
    return {}


def _claim(
    uow: UnitOfWork,
    *,
    batch: int,
    skip: set[int],
    max_attempts: int,
    retry_base: float,
    lease: float,
    reset_url: str,
    login_url: str | None,
) -> list[_Claimed]:
    now = utcnow()
    with uow:
        # New rows first, in order; then retries, the longest-waiting first, so rows that are
        # not yet due never crowd out the ones that are.
        fresh = select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.pending)
        retries = select(OutboxMessage).where(
            or_(
                OutboxMessage.status == OutboxStatus.sending,
                and_(
                    col(OutboxMessage.status) == OutboxStatus.failed,
                    col(OutboxMessage.attempts) < max_attempts,
                ),
            )
        )
        if skip:
            fresh = fresh.where(col(OutboxMessage.id).not_in(skip))
            retries = retries.where(col(OutboxMessage.id).not_in(skip))
        fresh = fresh.order_by(col(OutboxMessage.id)).limit(batch)
        retries = retries.order_by(col(OutboxMessage.claimed_at), col(OutboxMessage.id))
        retries = retries.limit(batch * 10)
        if uow.is_postgres:
            # Another deliverer's claimed rows are skipped, not waited for.
            fresh = fresh.with_for_update(skip_locked=True)
            retries = retries.with_for_update(skip_locked=True)
        rows = list(uow.session.exec(fresh).all())
        if len(rows) < batch:
            rows += list(uow.session.exec(retries).all())
        claimed: list[_Claimed] = []
        for row in rows:
            if len(claimed) >= batch:
                break
            if not _due(row, now, max_attempts, retry_base, lease):
                continue
            if row.attempts >= max_attempts:
                # A stale claim that already used every attempt: give up on it for good.
                row.status = OutboxStatus.failed
                row.last_error = (row.last_error or "") + " (gave up: no attempts left)"
                uow.session.add(row)
                continue
            row.status = OutboxStatus.sending
            row.claimed_at = now
            row.attempts += 1
            try:
                secrets = _mint_secrets(uow, row, now, reset_url, login_url)
            except LookupError as missing:
                row.status = OutboxStatus.failed
                row.last_error = str(missing)
                uow.session.add(row)
                continue
            uow.session.add(row)
            assert row.id is not None  # noqa: S101 (read from the database)
            claimed.append(
                _Claimed(
                    row_id=row.id,
                    attempt=row.attempts,
                    template=row.template,
                    recipient=row.recipient,
                    cc=list(row.cc),
                    attachments=list(row.attachments),
                    context={**row.context, **secrets},
                )
            )
        uow.commit()
        return claimed


def _finish(uow: UnitOfWork, item: _Claimed, error: str | None) -> None:
    with uow:
        row = uow.session.get(OutboxMessage, item.row_id)
        # Only the holder of the claim may finish it; an expired claim was taken over.
        if row is None or row.status != OutboxStatus.sending or row.attempts != item.attempt:
            return
        if error is None:
            row.status = OutboxStatus.sent
            row.sent_at = utcnow()
            row.last_error = None
        else:
            row.status = OutboxStatus.failed
            row.last_error = error[:1000]
        uow.session.add(row)
        uow.commit()


def _attachment_paths(home: Path, names: list[str]) -> list[Path]:
    paths = []
    for name in names:
        path = Path(name)
        paths.append(path if path.is_absolute() else home / path)
    return paths


async def deliver_pending(
    *,
    uow_factory: Callable[[], UnitOfWork],
    transport: Transport,
    home: Path,
    limit: int | None = None,
    max_attempts: int = 8,
    retry_base_seconds: float = 60.0,
    lease_seconds: float = 600.0,
    reset_url: str = DEFAULT_RESET_URL,
    login_url: str | None = None,
) -> DeliveryReport:
    """Send what is due in the outbox (at most `limit` rows); each row is tried once per pass."""
    report = DeliveryReport()
    tried: set[int] = set()
    try:
        while limit is None or len(tried) < limit:
            batch = CLAIM_BATCH if limit is None else min(CLAIM_BATCH, limit - len(tried))
            claimed = _claim(
                uow_factory(),
                batch=batch,
                skip=tried,
                max_attempts=max_attempts,
                retry_base=retry_base_seconds,
                lease=lease_seconds,
                reset_url=reset_url,
                login_url=login_url,
            )
            if not claimed:
                break
            for item in claimed:
                tried.add(item.row_id)
                error = await _send_one(item, transport, home)
                _finish(uow_factory(), item, error)
                if error is None:
                    report.sent += 1
                else:
                    report.failed += 1
                    report.errors.append(f"outbox {item.row_id}: {error}")
    finally:
        await transport.close()
    return report


async def _send_one(item: _Claimed, transport: Transport, home: Path) -> str | None:
    """None when sent, else the error text (kept in the row, without the message body)."""
    try:
        rendered = render(item.template, item.context)
        message = build_message(
            mail_from=transport.mail_from,
            recipient=item.recipient,
            rendered=rendered,
            cc=item.cc,
            attachments=_attachment_paths(home, item.attachments),
            message_id=None,
        )
        await transport.send(message)
    except Exception as exc:  # any failure is recorded on the row and retried
        return f"{type(exc).__name__}: {exc}"
    return None


def deliver_pending_sync(
    *,
    uow_factory: Callable[[], UnitOfWork],
    transport: Transport,
    home: Path,
    limit: int | None = None,
    **options: Any,
) -> DeliveryReport:
    """`deliver_pending` for synchronous callers (the CLI); not for use inside an event loop."""
    return asyncio.run(
        deliver_pending(
            uow_factory=uow_factory, transport=transport, home=home, limit=limit, **options
        )
    )
