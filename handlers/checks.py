"""Checks of a parsed application against the books, run before staff are asked to approve.

FORMS.md "Reading and checking are two steps": the parse result is about the document alone;
these rules need the database. They return the same kind of field issues (LV/EN) as the parser.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, Field
from sqlmodel import select

from forms.catalogue import FORM_CODES
from forms.result import Issue
from forms.values import fold_text
from handlers.db import UnitOfWork
from handlers.lookups import active_users, base_fee_on, customer_of, row_id
from handlers.messages import message
from handlers.models import AuthorizedPerson, Contract, ContractStatus, User, UserRole, UserStatus


class CheckResult(BaseModel):
    """Errors stop the request; warnings are shown to staff. `contract_id` when one was found."""

    errors: list[Issue] = Field(default_factory=list)
    warnings: list[Issue] = Field(default_factory=list)
    contract_id: int | None = None

    @property
    def ok(self) -> bool:
        """True when nothing in the books stands in the way."""
        return not self.errors


def _issue(field: str | None, code: str, **params: Any) -> Issue:
    lv, en = message(code, **params)
    return Issue(field=field, code=code, message_lv=lv, message_en=en)


def _name_key(name: str) -> tuple[str, ...]:
    # Diacritic- and case-insensitive, and indifferent to "Surname Name" versus "Name Surname".
    return tuple(sorted(fold_text(name).replace(",", " ").split()))


class _Checker:
    def __init__(self, uow: UnitOfWork, contract: Contract, today: date) -> None:
        self.uow = uow
        self.contract = contract
        self.today = today
        self.errors: list[Issue] = []
        self.warnings: list[Issue] = []

    def user_of_contract(self, username: Any, field: str) -> User | None:
        if not username:
            return None
        user = self.uow.session.exec(
            select(User).where(User.username == str(username).strip().lower())
        ).first()
        if user is None:
            self.errors.append(_issue(field, "user_not_found", username=username))
        elif user.contract_id != self.contract.id:
            self.errors.append(
                _issue(
                    field,
                    "user_not_in_contract",
                    username=username,
                    contract_no=self.contract.number,
                )
            )
        elif user.status != UserStatus.active:
            self.errors.append(_issue(field, "user_not_active", username=username))
        else:
            return user
        return None

    def new_emails(self, emails: list[tuple[str, Any]]) -> None:
        active = {u.email.casefold() for u in active_users(self.uow, row_id(self.contract))}
        seen: set[str] = set()
        for field, email in emails:
            if not email:
                continue
            folded = str(email).strip().casefold()
            if folded in seen:
                self.errors.append(_issue(field, "email_repeated", email=email))
            elif folded in active:
                self.errors.append(_issue(field, "email_already_active", email=email))
            seen.add(folded)

    def user_change(self, fields: dict[str, Any]) -> None:
        user = self.user_of_contract(fields.get("old_username"), "old_username")
        given = fields.get("old_user_name")
        if user is not None and given:
            actual = f"{user.first_name} {user.last_name}"
            if _name_key(given) != _name_key(actual):
                self.warnings.append(
                    _issue(
                        "old_user_name",
                        "user_name_mismatch",
                        given=given,
                        username=user.username,
                        actual=actual,
                    )
                )
        self.new_emails([("new_email", fields.get("new_email"))])

    def user_add(self, fields: dict[str, Any]) -> None:
        rows = fields.get("users") or []
        self.new_emails(
            [(f"users[{i}].email", row.get("email")) for i, row in enumerate(rows, start=1)]
        )

    def user_block(self, fields: dict[str, Any]) -> None:
        rows = fields.get("users") or []
        blocked = set()
        for i, row in enumerate(rows, start=1):
            user = self.user_of_contract(row.get("username"), f"users[{i}].username")
            if user is not None:
                blocked.add(user.id)
                name = row.get("name")
                actual = f"{user.first_name} {user.last_name}"
                if name and _name_key(name) != _name_key(actual):
                    self.warnings.append(
                        _issue(
                            f"users[{i}].name",
                            "user_name_mismatch",
                            given=name,
                            username=user.username,
                            actual=actual,
                        )
                    )
        remaining = {
            u.id for u in active_users(self.uow, row_id(self.contract), role=UserRole.user)
        }
        if blocked and not remaining - blocked:
            self.errors.append(_issue("users", "block_all_users"))

    def fee_increase(self, fields: dict[str, Any]) -> None:
        books = base_fee_on(self.uow, self.contract, self.today)
        new_fee = _decimal(fields.get("new_fee"))
        if new_fee is not None and new_fee <= books:
            self.errors.append(
                _issue("new_fee", "fee_not_higher", new_fee=new_fee, current_fee=books)
            )
        current = _decimal(fields.get("current_fee"))
        if current is not None and current != books:
            self.warnings.append(
                _issue("current_fee", "current_fee_differs", given=current, books=books)
            )

    def einvoice_access(self, fields: dict[str, Any]) -> None:
        self.new_emails([("accountant_email", fields.get("accountant_email"))])


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None


def _contract_state(checker: _Checker, form_type: str, fields: dict[str, Any]) -> None:
    contract = checker.contract
    resuming = form_type == "contract_suspend" and fields.get("action") == "resume"
    if resuming:
        if contract.status != ContractStatus.suspended:
            checker.errors.append(
                _issue("action", "contract_not_suspended", contract_no=contract.number)
            )
    elif contract.status != ContractStatus.active:
        code = (
            "contract_already_suspended"
            if form_type == "contract_suspend"
            else "contract_not_active"
        )
        checker.errors.append(
            _issue(
                "action" if form_type == "contract_suspend" else "contract_no",
                code,
                contract_no=contract.number,
                status=str(contract.status),
            )
        )


def _authorized(checker: _Checker, fields: dict[str, Any], sender: str | None) -> None:
    people = checker.uow.session.exec(
        select(AuthorizedPerson).where(AuthorizedPerson.contract_id == checker.contract.id)
    ).all()
    submitter = fields.get("submitter_name")
    if submitter and _name_key(submitter) not in {_name_key(p.name) for p in people}:
        checker.errors.append(_issue("submitter_name", "submitter_not_authorized", name=submitter))
    if sender and sender.strip().casefold() not in {p.email.casefold() for p in people}:
        checker.warnings.append(_issue(None, "sender_not_authorized", sender=sender))


def check_application(
    form_type: str,
    fields: dict[str, Any],
    *,
    uow: UnitOfWork,
    sender: str | None,
    today: date,
) -> CheckResult:
    """Check a parsed form against the books: contract, submitter, users, fee; never writes."""
    with uow:
        contract_no = str(fields.get("contract_no") or "").strip()
        contract = uow.session.exec(select(Contract).where(Contract.number == contract_no)).first()
        if contract is None:
            return CheckResult(
                errors=[_issue("contract_no", "contract_not_found", contract_no=contract_no)]
            )
        checker = _Checker(uow, contract, today)
        reg_no = fields.get("reg_no")
        if reg_no and customer_of(uow, contract).reg_no != str(reg_no):
            checker.errors.append(
                _issue("reg_no", "contract_reg_no_mismatch", contract_no=contract_no, reg_no=reg_no)
            )
        _contract_state(checker, form_type, fields)
        _authorized(checker, fields, sender)
        specific = getattr(checker, form_type, None)
        if form_type not in FORM_CODES:
            checker.errors.append(_issue(None, "unknown_form_type", form_type=form_type))
        elif specific is not None:
            specific(fields)
        return CheckResult(
            errors=checker.errors, warnings=checker.warnings, contract_id=contract.id
        )
