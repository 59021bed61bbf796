"""Enrolled staff for the tests, and fresh one-time codes from their secrets (as their app would).

Each code works once per staff member, so `fresh_code` never hands out a time step already
given; it picks the current step or the next (both inside the ±1 window when the run checks the
code a few seconds later). When both were used, a person would wait up to 30 s for the next
step; tests decide far more often than any person, and the suite would sleep for minutes. So
the helper lets the step pass for that person instead: it clears their record of the last step
used in the books they were enrolled in, and starts again from the current step. The rule
itself (a code is refused once its step was used) is tested on its own in test_staff.py and
test_flows_staff.py, which never reach that branch.
"""

from __future__ import annotations

import time

import pyotp
from sqlalchemy import Engine
from sqlmodel import select

from handlers.db import UnitOfWork
from handlers.models import Staff
from handlers.staff import STEP_SECONDS, EnrolStaff, enrol_staff

# username -> full name: the two staff every flows test may decide as.
STAFF = {"ilze": "Ilze Kalniņa", "maris": "Māris Ozols"}
SECRETS: dict[str, str] = {}
_last_step: dict[str, int] = {}
# The database each person was enrolled in: where their last used step is kept.
_books: dict[str, Engine] = {}


def enrol(uow: UnitOfWork, key: str, username: str, full_name: str) -> str:
    """Enrol a staff member with the key; their secret, also kept for `fresh_code`."""
    enrolment = enrol_staff(
        EnrolStaff(username=username, full_name=full_name, email=f"{username}@example.lv"),
        uow=uow,
        key=key,
    )
    SECRETS[username] = enrolment.secret
    _last_step.pop(username, None)
    _books[username] = uow.engine
    return enrolment.secret


def enrol_all(uow: UnitOfWork, key: str) -> None:
    """Enrol every staff member of STAFF."""
    for username, full_name in STAFF.items():
        enrol(uow, key, username, full_name)


def fresh_code(username: str) -> str:
    """A code of the staff member no earlier call returned (see the module's docstring)."""
    totp = pyotp.TOTP(SECRETS[username], interval=STEP_SECONDS)
    current = int(time.time() // STEP_SECONDS)
    for step in (current, current + 1):
        if step > _last_step.get(username, -1):
            _last_step[username] = step
            return totp.at(step * STEP_SECONDS)
    _forget_last_step(username)
    _last_step[username] = current
    return totp.at(current * STEP_SECONDS)


def _forget_last_step(username: str) -> None:
    with UnitOfWork(_books[username]) as uow:
        staff = uow.session.exec(select(Staff).where(Staff.username == username)).one()
        staff.last_time_step = None
        uow.session.add(staff)
        uow.commit()


def wrong_code(username: str) -> str:
    """A six-digit code that is not valid for the staff member now or a step either side."""
    totp = pyotp.TOTP(SECRETS[username], interval=STEP_SECONDS)
    valid = {totp.at(time.time() + d * STEP_SECONDS) for d in (-2, -1, 0, 1, 2)}
    return next(c for c in (f"{n:06d}" for n in range(1000000)) if c not in valid)
