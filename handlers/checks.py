"""Checks of a parsed application against the books, run before staff are asked to approve.

FORMS.md "Reading and checking are two steps": the parse result is about the document alone;
these rules need the database. They return the same kind of field issues (LV/EN) as the parser.
The rules are the request type's own (handlers/request_types.py), the same ones the apply step
runs again inside its transaction.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from sqlmodel import select

from forms.result import Issue
from handlers.db import UnitOfWork
from handlers.models import Contract
from handlers.request_rules import RuleContext, issue, run_rules
from handlers.request_types import request_type


class CheckResult(BaseModel):
    """Errors stop the request; warnings are shown to staff. `contract_id` when one was found."""

    errors: list[Issue] = Field(default_factory=list)
    warnings: list[Issue] = Field(default_factory=list)
    contract_id: int | None = None

    @property
    def ok(self) -> bool:
        """True when nothing in the books stands in the way."""
        return not self.errors


def check_application(
    form_type: str,
    fields: dict[str, Any],
    *,
    uow: UnitOfWork,
    sender: str | None,
    today: date,
) -> CheckResult:
    """Check a parsed form against the books with its request type's rules; never writes."""
    with uow:
        found = request_type(form_type)
        if found is None:
            return CheckResult(errors=[issue(None, "unknown_form_type", form_type=form_type)])
        contract_no = str(fields.get("contract_no") or "").strip()
        contract = uow.session.exec(select(Contract).where(Contract.number == contract_no)).first()
        if contract is None:
            return CheckResult(
                errors=[issue("contract_no", "contract_not_found", contract_no=contract_no)]
            )
        action = found.action_for(fields)
        try:
            # The same command the apply step will build (its key is never used: nothing runs).
            command = action.build(fields, {"request_key": "check", "actor": "check"})
        except (KeyError, TypeError, ValueError, ValidationError) as exc:
            return CheckResult(
                errors=[issue(None, "application_fields_invalid", detail=type(exc).__name__)],
                contract_id=contract.id,
            )
        context = RuleContext(uow=uow, contract=contract, today=today, fields=fields, sender=sender)
        return CheckResult(
            errors=run_rules(context, command, action.rules),
            warnings=run_rules(context, command, action.warnings),
            contract_id=contract.id,
        )
