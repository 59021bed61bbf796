"""What the portal's pages show: typed read models over the books (no page writes SQL)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict
from sqlmodel import col, func, or_, select

from handlers.db import UnitOfWork
from handlers.lookups import (
    balance_of,
    customer_of,
    details_on,
    find_contract,
    monthly_amount,
    row_id,
)
from handlers.models import Application, Contract, User
from handlers.results import RuleViolation


class ContractUser(BaseModel):
    """One user of a contract as a client may see it."""

    model_config = ConfigDict(frozen=True)

    username: str
    name: str
    role: str
    status: str


class ContractView(BaseModel):
    """A contract's standing: customer, status, the monthly amount and its users."""

    model_config = ConfigDict(frozen=True)

    contract_no: str
    customer_name: str
    status: str
    monthly_amount: Decimal
    users: tuple[ContractUser, ...]


class AccountView(BaseModel):
    """A user's own account page: balance, contact details, and the contract it shares."""

    model_config = ConfigDict(frozen=True)

    username: str
    first_name: str
    last_name: str
    email: str
    phone: str | None
    role: str
    balance: Decimal
    contract: ContractView


class ApplicationRow(BaseModel):
    """One application of a contract, as its authorized person follows it."""

    model_config = ConfigDict(frozen=True)

    reference: str
    form_type: str | None
    status: str
    received: date
    filename: str | None


def _contract_view(uow: UnitOfWork, contract: Contract, today: date) -> ContractView:
    customer = customer_of(uow, contract)
    details = details_on(uow, row_id(customer), today)
    users = uow.session.exec(
        select(User).where(User.contract_id == contract.id).order_by(col(User.id))
    ).all()
    return ContractView(
        contract_no=contract.number,
        customer_name=details.name if details else customer.reg_no,
        status=str(contract.status),
        monthly_amount=monthly_amount(uow, contract, today),
        users=tuple(
            ContractUser(
                username=u.username,
                name=f"{u.first_name} {u.last_name}",
                role=str(u.role),
                status=str(u.status),
            )
            for u in users
        ),
    )


def account_view(username: str, *, uow: UnitOfWork, today: date) -> AccountView | None:
    """The user's account page, or None for an unknown username."""
    with uow:
        user = uow.session.exec(select(User).where(User.username == username)).first()
        if user is None:
            return None
        contract = uow.session.get(Contract, user.contract_id)
        assert contract is not None  # noqa: S101 (a foreign key guarantees it)
        return AccountView(
            username=user.username,
            first_name=user.first_name,
            last_name=user.last_name,
            email=user.email,
            phone=user.phone,
            role=str(user.role),
            balance=balance_of(uow, row_id(user)),
            contract=_contract_view(uow, contract, today),
        )


def contract_view(contract_no: str, *, uow: UnitOfWork, today: date) -> ContractView | None:
    """A contract's standing and users (for its authorized person), or None when unknown."""
    with uow:
        try:
            contract = find_contract(uow, contract_no)
        except RuleViolation:
            return None
        return _contract_view(uow, contract, today)


def contract_applications(
    contract_no: str, *, uow: UnitOfWork, sender: str | None = None
) -> list[ApplicationRow]:
    """Every application naming the contract or sent by `sender`, newest first (invalid too)."""
    with uow:
        contract = uow.session.exec(select(Contract).where(Contract.number == contract_no)).first()
        clause = col(Application.contract_no) == contract_no
        if contract is not None:
            clause = or_(clause, col(Application.contract_id) == contract.id)
        if sender:
            # A form that could not be read names no contract; its sender still follows it.
            clause = or_(clause, func.lower(col(Application.sender)) == sender.strip().lower())
        rows = uow.session.exec(
            select(Application)
            .where(clause)
            .order_by(col(Application.created_at).desc(), col(Application.id).desc())
        ).all()
        return [
            ApplicationRow(
                reference=a.reference,
                form_type=a.form_type,
                status=str(a.status),
                received=a.created_at.date(),
                filename=a.filename,
            )
            for a in rows
        ]
