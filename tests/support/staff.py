"""Enrolled staff for the tests, and fresh one-time codes from their secrets (as their app would).

Each code works once per staff member, so `fresh_code` never hands out a time step already
given; it picks the current step or the next (both inside the ±1 window when the run checks the
code a few seconds later) and waits for the next step only when both were used.
"""

from __future__ import annotations

import time

import pyotp

from handlers.db import UnitOfWork
from handlers.staff import STEP_SECONDS, EnrolStaff, enrol_staff

# username -> full name: the two staff every flows test may decide as.
STAFF = {"ilze": "Ilze Kalniņa", "maris": "Māris Ozols"}
SECRETS: dict[str, str] = {}
_last_step: dict[str, int] = {}


def enrol(uow: UnitOfWork, key: str, username: str, full_name: str) -> str:
    """Enrol a staff member with the key; their secret, also kept for `fresh_code`."""
    enrolment = enrol_staff(
        EnrolStaff(username=username, full_name=full_name, email=f"{username}@example.lv"),
        uow=uow,
        key=key,
    )
    SECRETS[username] = enrolment.secret
    _last_step.pop(username, None)
    return enrolment.secret


def enrol_all(uow: UnitOfWork, key: str) -> None:
    """Enrol every staff member of STAFF."""
    for username, full_name in STAFF.items():
        enrol(uow, key, username, full_name)


def fresh_code(username: str) -> str:
    """A code of the staff member no earlier call returned (waits out a step if it must)."""
    totp = pyotp.TOTP(SECRETS[username], interval=STEP_SECONDS)
    while True:
        now = time.time()
        current = int(now // STEP_SECONDS)
        for step in (current, current + 1):
            if step > _last_step.get(username, -1):
                _last_step[username] = step
                return totp.at(step * STEP_SECONDS)
        time.sleep(STEP_SECONDS - now % STEP_SECONDS + 0.2)


def wrong_code(username: str) -> str:
    """A six-digit code that is not valid for the staff member now or a step either side."""
    totp = pyotp.TOTP(SECRETS[username], interval=STEP_SECONDS)
    valid = {totp.at(time.time() + d * STEP_SECONDS) for d in (-2, -1, 0, 1, 2)}
    return next(c for c in (f"{n:06d}" for n in range(1000000)) if c not in valid)
