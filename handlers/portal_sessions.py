"""The portal's server-side sessions and the throttle on failed sign-ins.

A browser holds only a random token; the table keeps its sha256, who signed in and the CSRF
token of its forms. A session ends after `idle` without a request or `absolute` after sign-in,
whichever is first; sign-in and the choice of a role each start a fresh one (the old token dies),
so a token planted before sign-in is worth nothing after it.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict
from sqlmodel import col, delete, select

from handlers.credentials import token_hash
from handlers.db import UnitOfWork
from handlers.models import AuditEvent, PortalSession, PortalThrottle, utcnow
from handlers.portal_people import Principal, principal_of

ACTOR = "portal"
TOUCH_EVERY = timedelta(seconds=60)


class SessionView(BaseModel):
    """A live session as a page sees it: its CSRF token, who (or which roles to choose from)."""

    model_config = ConfigDict(frozen=True)

    csrf_token: str
    principal: Principal | None = None
    choices: tuple[Principal, ...] = ()


@dataclass(frozen=True)
class SessionPolicy:
    """How long a session lives: idle time since the last request, and in all."""

    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=12)


@dataclass(frozen=True)
class ThrottlePolicy:
    """Failed sign-ins allowed per account and per client address within a window, and the lock."""

    account_failures: int = 5
    address_failures: int = 20
    window: timedelta = timedelta(minutes=15)
    lock: timedelta = timedelta(minutes=15)


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes for what was written as UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def open_session(
    *,
    uow: UnitOfWork,
    principal: Principal | None,
    choices: Sequence[Principal] = (),
    replaces: str | None = None,
) -> tuple[str, SessionView]:
    """Start a session (ending the one it replaces); the cookie's clear token and the view."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    with uow:
        if replaces:
            uow.session.exec(
                delete(PortalSession).where(col(PortalSession.token_hash) == token_hash(replaces))
            )
        uow.session.add(
            PortalSession(
                token_hash=token_hash(token),
                csrf_token=csrf,
                principal_kind=principal.kind if principal else None,
                principal_id=principal.id if principal else None,
                choices=[c.model_dump(mode="json") for c in choices],
            )
        )
        if principal is not None:
            _audit_sign_in(uow, principal)
        uow.commit()
    return token, SessionView(csrf_token=csrf, principal=principal, choices=tuple(choices))


def _audit_sign_in(uow: UnitOfWork, principal: Principal) -> None:
    uow.session.add(
        AuditEvent(
            actor=ACTOR,
            action="portal.sign_in",
            entity=principal.kind,
            entity_id=str(principal.id),
            after={"role": principal.role},
        )
    )


def current_session(
    token: str | None, *, uow: UnitOfWork, policy: SessionPolicy, now: datetime | None = None
) -> SessionView | None:
    """The live session of a cookie token (its last-seen time moved on), or None when expired."""
    if not token:
        return None
    now = now or utcnow()
    with uow:
        row = uow.session.exec(
            select(PortalSession).where(PortalSession.token_hash == token_hash(token))
        ).first()
        if row is None:
            return None
        if (
            _aware(row.last_seen_at) + policy.idle <= now
            or _aware(row.created_at) + policy.absolute <= now
        ):
            uow.session.delete(row)
            uow.commit()
            return None
        principal = None
        if row.principal_kind is not None and row.principal_id is not None:
            # Read afresh each time: a blocked user or a changed password counts at once.
            principal = principal_of(row.principal_kind, row.principal_id, uow=uow)
            if principal is None:
                uow.session.delete(row)
                uow.commit()
                return None
        csrf = row.csrf_token
        choices = tuple(Principal.model_validate(c) for c in row.choices)
        # A write per page would cost more than the page; a minute's slack in idleness does not.
        if _aware(row.last_seen_at) + TOUCH_EVERY <= now:
            row.last_seen_at = now
            uow.session.add(row)
            uow.commit()
    return SessionView(csrf_token=csrf, principal=principal, choices=choices)


def close_session(token: str | None, *, uow: UnitOfWork) -> None:
    """End the session of this token (sign out); nothing happens for an unknown one."""
    if not token:
        return
    with uow:
        uow.session.exec(
            delete(PortalSession).where(col(PortalSession.token_hash) == token_hash(token))
        )
        uow.commit()


def close_other_sessions(principal: Principal, keep: str | None, *, uow: UnitOfWork) -> int:
    """End every session of the principal but `keep` (after a password change); how many."""
    with uow:
        stmt = delete(PortalSession).where(
            col(PortalSession.principal_kind) == principal.kind,
            col(PortalSession.principal_id) == principal.id,
        )
        if keep:
            stmt = stmt.where(col(PortalSession.token_hash) != token_hash(keep))
        result = uow.session.exec(stmt)
        uow.commit()
        return int(result.rowcount or 0)


def end_sessions(kind: str, principal_ids: Sequence[int], *, uow: UnitOfWork) -> int:
    """End every session of these principals (after a password was set by a link); how many."""
    with uow:
        result = uow.session.exec(
            delete(PortalSession).where(
                col(PortalSession.principal_kind) == kind,
                col(PortalSession.principal_id).in_(list(principal_ids)),
            )
        )
        uow.commit()
        return int(result.rowcount or 0)


def expire_sessions(*, uow: UnitOfWork, policy: SessionPolicy, now: datetime | None = None) -> int:
    """Delete sessions past either limit (housekeeping); how many went."""
    now = now or utcnow()
    with uow:
        result = uow.session.exec(
            delete(PortalSession).where(
                (col(PortalSession.last_seen_at) <= now - policy.idle)
                | (col(PortalSession.created_at) <= now - policy.absolute)
            )
        )
        uow.commit()
        return int(result.rowcount or 0)


# --- failed sign-ins ------------------------------------------------------------------------


def account_key(identifier: str) -> str:
    """The throttle key of a typed username or e-mail (hashed: the table holds no address)."""
    return "account:" + token_hash(identifier.strip().casefold())


def address_key(address: str) -> str:
    """The throttle key of a client address."""
    return f"address:{address}"


def locked_until(
    keys: Sequence[str], *, uow: UnitOfWork, now: datetime | None = None
) -> datetime | None:
    """The latest lock still in force on any of the keys, or None."""
    now = now or utcnow()
    with uow:
        rows = uow.session.exec(
            select(PortalThrottle).where(col(PortalThrottle.key).in_(list(keys)))
        ).all()
        locks = [_aware(r.locked_until) for r in rows if r.locked_until is not None]
    live = [lock for lock in locks if lock > now]
    return max(live) if live else None


def record_failed_sign_in(
    account: str,
    address: str,
    *,
    uow: UnitOfWork,
    policy: ThrottlePolicy,
    now: datetime | None = None,
    action: str = "portal.sign_in_locked",
) -> datetime | None:
    """Count one failed sign-in against the account and the address; the lock it earned, if any.

    Other attempts worth limiting (password-reminder requests) count the same way under keys of
    their own, audited as `action` when they earn a lock.
    """
    now = now or utcnow()
    earned: datetime | None = None
    with uow:
        for key, limit in ((account, policy.account_failures), (address, policy.address_failures)):
            row = uow.session.exec(select(PortalThrottle).where(PortalThrottle.key == key)).first()
            if row is None:
                row = PortalThrottle(key=key, failures=0, window_started_at=now)
            if _aware(row.window_started_at) + policy.window <= now:
                row.failures = 0
                row.window_started_at = now
            row.failures += 1
            if row.failures >= limit:
                row.locked_until = now + policy.lock
                row.failures = 0
                row.window_started_at = now
                earned = row.locked_until
                uow.session.add(
                    AuditEvent(
                        actor=ACTOR,
                        action=action,
                        entity="throttle",
                        entity_id=key.split(":", 1)[0],
                    )
                )
            uow.session.add(row)
        uow.commit()
    return earned


def clear_failures(account: str, *, uow: UnitOfWork) -> None:
    """Forget the failed sign-ins of an account after it signed in."""
    with uow:
        uow.session.exec(delete(PortalThrottle).where(col(PortalThrottle.key) == account))
        uow.commit()
