"""What an operation returns, and the idempotency that makes a second run return the first result.

Business-rule failures are values (`OperationResult(ok=False, …)` with LV/EN messages); inside an
operation they are raised as `RuleViolation` to abandon the half-done change, and turned into a
value here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from forms.result import Issue
from handlers.db import UnitOfWork
from handlers.messages import message
from handlers.models import OperationRecord


class OperationResult(BaseModel):
    """The outcome of one operation: ok or a business-rule failure, with LV/EN text and data."""

    model_config = ConfigDict(frozen=True)

    operation: str
    key: str
    ok: bool
    code: str = "ok"
    message_lv: str = "Izpildīts."
    message_en: str = "Done."
    field: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    # True when this is the stored result of an earlier run: nothing was applied this time.
    replayed: bool = False

    def as_issue(self) -> Issue:
        """The failure as a form issue (field, code, LV, EN), for replies and review."""
        return Issue(
            field=self.field, code=self.code, message_lv=self.message_lv, message_en=self.message_en
        )


class RuleViolation(Exception):
    """A business rule refused the operation; caught by `apply_once` and returned as a value."""

    def __init__(self, code: str, *, field: str | None = None, **params: Any) -> None:
        self.code = code
        self.field = field
        self.message_lv, self.message_en = message(code, **params)
        super().__init__(f"{code}: {self.message_en}")

    @classmethod
    def from_issue(cls, found: Issue) -> RuleViolation:
        """The violation of a rule that reported this issue (its wording kept)."""
        violation = cls.__new__(cls)
        violation.code, violation.field = found.code, found.field
        violation.message_lv, violation.message_en = found.message_lv, found.message_en
        Exception.__init__(violation, f"{found.code}: {found.message_en}")
        return violation


def success(operation: str, key: str, **data: Any) -> OperationResult:
    """A successful result carrying JSON-friendly data."""
    return OperationResult(operation=operation, key=key, ok=True, data=data)


def failure(operation: str, key: str, violation: RuleViolation) -> OperationResult:
    """A refused result made from a rule violation."""
    return OperationResult(
        operation=operation,
        key=key,
        ok=False,
        code=violation.code,
        field=violation.field,
        message_lv=violation.message_lv,
        message_en=violation.message_en,
    )


def _stored(uow: UnitOfWork, operation: str, key: str) -> OperationResult | None:
    record = uow.session.exec(
        select(OperationRecord).where(
            OperationRecord.operation == operation, OperationRecord.key == key
        )
    ).first()
    if record is None:
        return None
    return OperationResult.model_validate({**record.result, "replayed": True})


def apply_once(
    uow: UnitOfWork, operation: str, key: str, apply: Callable[[], dict[str, Any]]
) -> OperationResult:
    """Run `apply` once per (operation, key) inside the open unit of work; never commits.

    The key is claimed first (a unique row), so a concurrent second run waits for the first and
    then finds its result. A rule violation undoes everything `apply` did (a savepoint) and is
    returned as a value; a refused run is not remembered, so it may be tried again later.
    """
    stored = _stored(uow, operation, key)
    if stored is not None:
        return stored
    savepoint = uow.session.begin_nested()
    record = OperationRecord(operation=operation, key=key, result={})
    try:
        uow.session.add(record)
        uow.session.flush()
    except IntegrityError:
        savepoint.rollback()
        stored = _stored(uow, operation, key)
        if stored is None:  # pragma: no cover - the unique row exists, so it is found
            raise
        return stored
    try:
        data = apply()
    except RuleViolation as violation:
        savepoint.rollback()
        return failure(operation, key, violation)
    result = success(operation, key, **data)
    record.result = result.model_dump(mode="json", exclude={"replayed"})
    uow.session.add(record)
    savepoint.commit()
    return result


def run_once(
    uow: UnitOfWork, operation: str, key: str, apply: Callable[[], dict[str, Any]]
) -> OperationResult:
    """Open the unit of work, `apply_once`, and commit when something new was applied."""
    with uow:
        result = apply_once(uow, operation, key, apply)
        if result.ok and not result.replayed:
            uow.commit()
        return result
