"""What a user does alone: password change and reset, contact details, the request log."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlmodel import col, func, or_, select

from forms.values import InvalidValue, normalize_email, normalize_phone
from handlers.audit import audit, snapshot
from handlers.commands import ChangePassword, RequestPasswordReset, ResetPassword, UpdateContact
from handlers.credentials import MIN_PASSWORD_LENGTH, hash_password, token_hash, verify_password
from handlers.db import UnitOfWork
from handlers.lookups import find_user
from handlers.messages import message
from handlers.models import (
    Application,
    PasswordResetToken,
    User,
    UserStatus,
    utcnow,
)
from handlers.outbox import enqueue
from handlers.replies import addressee
from handlers.results import OperationResult, RuleViolation, failure, run_once
from handlers.views import RequestLog, RequestLogEntry

RESET_TOKEN_LIFETIME = timedelta(hours=2)


def _set_password(uow: UnitOfWork, user: User, password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise RuleViolation("weak_password", field="new_password", min_length=MIN_PASSWORD_LENGTH)
    user.password_hash = hash_password(password)
    user.must_change_password = False
    uow.session.add(user)


def _apply_change_password(cmd: ChangePassword, uow: UnitOfWork) -> dict[str, Any]:
    user = find_user(uow, cmd.username)
    if not verify_password(user.password_hash, cmd.old_password.get_secret_value()):
        raise RuleViolation("wrong_password", field="old_password")
    _set_password(uow, user, cmd.new_password.get_secret_value())
    # The audit says that it changed, never the hashes.
    audit(uow, cmd, "user.password", "user", user.id, after={"changed": True})
    return {"username": user.username}


def change_password(cmd: ChangePassword, *, uow: UnitOfWork, today: date) -> OperationResult:
    """Change the user's password; the current one must be right."""
    return run_once(uow, "change_password", cmd.key, lambda: _apply_change_password(cmd, uow))


def _apply_request_reset(cmd: RequestPasswordReset, uow: UnitOfWork) -> dict[str, Any]:
    identifier = cmd.identifier.strip()
    users = uow.session.exec(
        select(User).where(
            User.status == UserStatus.active,
            or_(
                col(User.username) == identifier.lower(),
                func.lower(col(User.email)) == identifier.lower(),
            ),
        )
    ).all()
    for user in users:
        # The token is minted when the mail is claimed for sending, so it is never stored clear.
        enqueue(
            uow.session,
            template="password_reset",
            recipient=user.email,
            context={
                **addressee(user),
                "valid_hours": int(RESET_TOKEN_LIFETIME.total_seconds() // 3600),
            },
            dedupe_key=cmd.key,
        )
        audit(uow, cmd, "user.password_reset_requested", "user", user.id)
    # The same answer whether or not anyone matched: the result must not reveal who exists.
    return {}


def request_password_reset(
    cmd: RequestPasswordReset, *, uow: UnitOfWork, today: date
) -> OperationResult:
    """E-mail a one-time reset link to the address on record; the answer never tells who exists."""
    result = run_once(
        uow, "request_password_reset", cmd.key, lambda: _apply_request_reset(cmd, uow)
    )
    lv, en = message("reset_requested")
    return result.model_copy(update={"code": "reset_requested", "message_lv": lv, "message_en": en})


def _apply_reset_password(cmd: ResetPassword, uow: UnitOfWork) -> dict[str, Any]:
    now = utcnow()
    token = uow.session.exec(
        select(PasswordResetToken).where(
            PasswordResetToken.token_hash == token_hash(cmd.token.get_secret_value())
        )
    ).first()
    if token is None or token.used_at is not None or token.expires_at <= now:
        raise RuleViolation("token_invalid", field="token")
    user = uow.session.get(User, token.user_id)
    if user is None or user.status != UserStatus.active:
        raise RuleViolation("token_invalid", field="token")
    _set_password(uow, user, cmd.new_password.get_secret_value())
    # Every outstanding token of the user dies with this one: a reset is one-time.
    for other in uow.session.exec(
        select(PasswordResetToken).where(
            PasswordResetToken.user_id == user.id, col(PasswordResetToken.used_at).is_(None)
        )
    ).all():
        other.used_at = now
        uow.session.add(other)
    audit(uow, cmd, "user.password_reset", "user", user.id, after={"changed": True})
    return {"username": user.username}


def reset_password(cmd: ResetPassword, *, uow: UnitOfWork, today: date) -> OperationResult:
    """Set a new password with a valid, unused, unexpired reset token."""
    return run_once(uow, "reset_password", cmd.key, lambda: _apply_reset_password(cmd, uow))


def _apply_update_contact(cmd: UpdateContact, uow: UnitOfWork) -> dict[str, Any]:
    user = find_user(uow, cmd.username)
    if cmd.last_name is not None and cmd.last_name.strip() != user.last_name:
        raise RuleViolation("surname_change_to_staff", field="last_name")
    changes: dict[str, str] = {}
    try:
        if cmd.email:
            changes["email"] = normalize_email(cmd.email)
        if cmd.phone:
            changes["phone"] = normalize_phone(cmd.phone)
    except InvalidValue as invalid:
        raise RuleViolation(
            "invalid_value",
            field="email" if invalid.code == "invalid_email" else "phone",
            expected_lv=invalid.expected_lv,
            expected_en=invalid.expected_en,
        ) from None
    if not changes:
        raise RuleViolation("nothing_to_update", field=None)
    before = snapshot(user, "email", "phone")
    for name, value in changes.items():
        setattr(user, name, value)
    uow.session.add(user)
    audit(
        uow,
        cmd,
        "user.contact",
        "user",
        user.id,
        before=before,
        after=snapshot(user, "email", "phone"),
    )
    return {"username": user.username, **snapshot(user, "email", "phone")}


def update_contact(cmd: UpdateContact, *, uow: UnitOfWork, today: date) -> OperationResult:
    """Change the user's e-mail and phone; a surname change is refused with a hint to staff."""
    return run_once(uow, "update_contact", cmd.key, lambda: _apply_update_contact(cmd, uow))


def request_log(username: str, *, uow: UnitOfWork) -> RequestLog | OperationResult:
    """The applications of the user's contract, newest first: reference, type, status, date."""
    with uow:
        try:
            user = find_user(uow, username)
        except RuleViolation as violation:
            return failure("request_log", username, violation)
        rows = uow.session.exec(
            select(Application)
            .where(Application.contract_id == user.contract_id)
            .order_by(col(Application.created_at).desc(), col(Application.id).desc())
        ).all()
        return RequestLog(
            username=user.username,
            requests=tuple(
                RequestLogEntry(
                    reference=a.reference,
                    form_type=a.form_type,
                    status=str(a.status),
                    received=a.created_at.date(),
                )
                for a in rows
            ),
        )
