"""Staff who decide: enrolment of a TOTP secret, and the check of a one-time code.

A decision counts only when its code checks out here: within one 30-second step either side of
now, newer than the last code the same person used (so each code works once), and not after
five wrong codes in a row (the person is locked until `reset`). The secret is stored encrypted
with a key the caller passes in (from settings); it leaves this module only once, at enrolment
or reset, for the person's authenticator app.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Literal

import pyotp
from cryptography.fernet import Fernet, InvalidToken
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import col, select

from forms.values import InvalidValue, normalize_email
from handlers.db import UnitOfWork
from handlers.messages import message
from handlers.models import OperationRecord, Staff
from handlers.views import View

ISSUER = "docintake"
STEP_SECONDS = 30
# ±1 step: a code typed just before its step ended still works, and clocks may drift a little.
WINDOW_STEPS = 1
MAX_WRONG_CODES = 5
USERNAME_PATTERN = r"^[a-z][a-z0-9._-]{1,63}$"


class EnrolStaff(BaseModel):
    """Enrol a staff member: a username they pick from the drop-down, their name and e-mail."""

    model_config = ConfigDict(frozen=True)

    username: str = Field(pattern=USERNAME_PATTERN)
    full_name: str = Field(min_length=1, max_length=200)
    email: str


class StaffError(ValueError):
    """A staff command that cannot be done; the message says why and what to do."""


class Enrolment(View):
    """A new (or reset) secret as the authenticator app takes it; shown once, never stored clear."""

    username: str
    secret: str
    otpauth_uri: str


class StaffMember(View):
    """A staff member as `docintake staff list` shows them (no secret)."""

    username: str
    full_name: str
    email: str
    active: bool
    locked: bool
    failed_codes: int


class CodeCheck(View):
    """The verdict on one code: accepted for `username`, or refused with LV/EN reasons."""

    ok: bool
    username: str
    code: Literal[
        "ok",
        "staff_unknown",
        "staff_inactive",
        "staff_locked",
        "code_missing",
        "code_wrong",
        "code_reused",
        "comment_required",
        "same_staff_twice",
    ]
    message_lv: str = ""
    message_en: str = ""


def new_key() -> str:
    """A fresh encryption key for the secrets (what DOCINTAKE_STAFF_TOTP_KEY holds)."""
    return Fernet.generate_key().decode()


def _fernet(key: str) -> Fernet:
    try:
        return Fernet(key.encode())
    except ValueError as bad:
        raise StaffError(
            "the staff secret key is not a Fernet key (DOCINTAKE_STAFF_TOTP_KEY)"
        ) from bad


def _secret(staff: Staff, key: str) -> str:
    try:
        return _fernet(key).decrypt(staff.totp_secret.encode()).decode()
    except InvalidToken as bad:
        raise StaffError(
            "the staff secrets were encrypted with another key (DOCINTAKE_STAFF_TOTP_KEY)"
        ) from bad


def _enrolment(staff: Staff, secret: str) -> Enrolment:
    uri = pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(
        name=staff.username, issuer_name=ISSUER
    )
    return Enrolment(username=staff.username, secret=secret, otpauth_uri=uri)


def _find(uow: UnitOfWork, username: str, *, lock: bool = False) -> Staff | None:
    query = select(Staff).where(Staff.username == username.strip().lower())
    if lock:
        # Two decisions with codes of the same person check one after the other.
        query = query.with_for_update()
    return uow.session.exec(query).first()


def enrol_staff(cmd: EnrolStaff, *, uow: UnitOfWork, key: str) -> Enrolment:
    """Enrol a staff member with a new TOTP secret; the secret for their app (shown once)."""
    try:
        email = normalize_email(cmd.email)
    except InvalidValue as bad:
        raise StaffError(f"e-mail: {bad.expected_en}") from None
    secret = pyotp.random_base32()
    with uow:
        if _find(uow, cmd.username) is not None:
            raise StaffError(
                f"{cmd.username} is already enrolled; `docintake staff reset {cmd.username}` "
                "gives a new secret"
            )
        staff = Staff(
            username=cmd.username,
            full_name=cmd.full_name.strip(),
            email=email,
            totp_secret=_fernet(key).encrypt(secret.encode()).decode(),
        )
        uow.session.add(staff)
        uow.commit()
        return _enrolment(staff, secret)


def reset_staff(username: str, *, uow: UnitOfWork, key: str) -> Enrolment:
    """A new secret for a staff member, unlocked and active again; the secret for their app."""
    secret = pyotp.random_base32()
    with uow:
        staff = _find(uow, username, lock=True)
        if staff is None:
            raise StaffError(f"no staff member {username}; `docintake staff list` shows them")
        staff.totp_secret = _fernet(key).encrypt(secret.encode()).decode()
        staff.active, staff.locked, staff.failed_codes = True, False, 0
        staff.last_time_step = None
        uow.session.add(staff)
        uow.commit()
        return _enrolment(staff, secret)


def disable_staff(username: str, *, uow: UnitOfWork) -> None:
    """Take a staff member off the drop-down; their codes stop working."""
    with uow:
        staff = _find(uow, username, lock=True)
        if staff is None:
            raise StaffError(f"no staff member {username}; `docintake staff list` shows them")
        staff.active = False
        uow.session.add(staff)
        uow.commit()


def list_staff(*, uow: UnitOfWork, active_only: bool = False) -> list[StaffMember]:
    """Every staff member by username (only those who may decide, with `active_only`)."""
    with uow.reading():
        query = select(Staff).order_by(col(Staff.username))
        if active_only:
            query = query.where(col(Staff.active).is_(True), col(Staff.locked).is_(False))
        return [
            StaffMember(
                username=s.username,
                full_name=s.full_name,
                email=s.email,
                active=s.active,
                locked=s.locked,
                failed_codes=s.failed_codes,
            )
            for s in uow.session.exec(query)
        ]


def _verdict(ok: bool, username: str, code: str, **params: object) -> CodeCheck:
    lv, en = message(code, username=username, **params) if not ok else ("", "")
    return CodeCheck(ok=ok, username=username, code=code, message_lv=lv, message_en=en)


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    current = totp.timecode(now)
    for step in range(current - WINDOW_STEPS, current + WINDOW_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _check(uow: UnitOfWork, username: str, code: str, *, key: str, now: datetime) -> CodeCheck:
    """Check a code inside the open unit of work; the caller commits the staff row's change."""
    staff = _find(uow, username, lock=True)
    if staff is None:
        return _verdict(False, username, "staff_unknown")
    if not staff.active:
        return _verdict(False, username, "staff_inactive")
    if staff.locked:
        return _verdict(False, username, "staff_locked")
    if not code:
        return _verdict(False, username, "code_missing")
    step = _matching_step(_secret(staff, key), code, now)
    if step is None:
        staff.failed_codes += 1
        staff.locked = staff.failed_codes >= MAX_WRONG_CODES
        uow.session.add(staff)
        if staff.locked:
            return _verdict(False, username, "staff_locked")
        return _verdict(
            False, username, "code_wrong", tries_left=MAX_WRONG_CODES - staff.failed_codes
        )
    if staff.last_time_step is not None and step <= staff.last_time_step:
        return _verdict(False, username, "code_reused")
    staff.last_time_step = step
    staff.failed_codes = 0
    uow.session.add(staff)
    return _verdict(True, username, "ok")


def check_code(username: str, code: str, *, uow: UnitOfWork, key: str, now: datetime) -> CodeCheck:
    """Check a staff member's one-time code and remember its use (or the wrong try)."""
    with uow:
        verdict = _check(uow, username.strip().lower(), "".join(code.split()), key=key, now=now)
        uow.commit()
        return verdict


class DecisionAttempt(BaseModel):
    """One decision as it arrived on a resumed run, to be checked once."""

    model_config = ConfigDict(frozen=True)

    application_id: int
    flow_run_id: str
    pause_key: str
    decision: str
    staff: str
    code: str
    comment: str = ""
    # Set for a second approval: the staff member who gave the first one.
    first_staff: str | None = None

    @property
    def key(self) -> str:
        """Names this attempt: the run's wait and a digest of what was sent (never the code)."""
        sent = "\0".join((self.decision, self.staff, self.code, self.comment))
        digest = hashlib.sha256(sent.encode()).hexdigest()[:32]
        return f"{self.application_id}:{self.flow_run_id}:{self.pause_key}:{digest}"


DECISION_CHECK = "staff_decision_check"


def verify_decision(
    attempt: DecisionAttempt, *, uow: UnitOfWork, key: str, now: datetime
) -> CodeCheck:
    """Whether a decision stands: its form rules, then the code; the verdict is kept, once.

    A resumed run replays its earlier waits and gets their inputs again: the verdict stored
    under the attempt's key answers those replays, so a replayed code is neither counted as
    wrong again nor refused as reused.
    """
    username = attempt.staff.strip().lower()
    with uow:
        stored = uow.session.exec(
            select(OperationRecord).where(
                OperationRecord.operation == DECISION_CHECK, OperationRecord.key == attempt.key
            )
        ).first()
        if stored is not None:
            return CodeCheck.model_validate(stored.result)
        if attempt.decision == "reject" and not attempt.comment.strip():
            verdict = _verdict(False, username, "comment_required")
        elif (
            attempt.decision == "approve"
            and attempt.first_staff is not None
            and attempt.first_staff.strip().lower() == username
        ):
            verdict = _verdict(False, username, "same_staff_twice")
        else:
            code = "".join(attempt.code.split())
            verdict = _check(uow, username, code, key=key, now=now)
        uow.session.add(
            OperationRecord(
                operation=DECISION_CHECK, key=attempt.key, result=verdict.model_dump(mode="json")
            )
        )
        uow.commit()
        return verdict


def decision_verdict(attempt_key: str, *, uow: UnitOfWork) -> CodeCheck | None:
    """The verdict on a decision attempt once it was checked (by the run or the engine's copy)."""
    with uow.reading():
        stored = uow.session.exec(
            select(OperationRecord).where(
                OperationRecord.operation == DECISION_CHECK, OperationRecord.key == attempt_key
            )
        ).first()
        return None if stored is None else CodeCheck.model_validate(stored.result)
