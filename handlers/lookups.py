"""What every operation needs from the books: find and lock rows, balances, fees, details."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from handlers.db import UnitOfWork
from handlers.models import (
    Contract,
    ContractFee,
    Customer,
    CustomerDetails,
    LedgerEntry,
    User,
    UserRole,
    UserStatus,
)
from handlers.results import RuleViolation

CENT = Decimal("0.01")


def money(value: Decimal | int | str) -> Decimal:
    """A Decimal with exactly two places."""
    return Decimal(value).quantize(CENT)


def row_id(row: Any) -> int:
    """The primary key of a row that has been flushed or read from the database."""
    if row.id is None:
        raise RuntimeError(f"{type(row).__name__} has no id yet: flush it first")
    return int(row.id)


def find_contract(uow: UnitOfWork, contract_no: str, *, lock: bool = False) -> Contract:
    """The contract with this number (locked on PostgreSQL when asked), or a rule violation."""
    stmt = select(Contract).where(Contract.number == contract_no.strip())
    if lock and uow.is_postgres:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    contract = uow.session.exec(stmt).first()
    if contract is None:
        raise RuleViolation("contract_not_found", field="contract_no", contract_no=contract_no)
    return contract


def find_user(
    uow: UnitOfWork, username: str, *, lock: bool = False, field: str = "username"
) -> User:
    """The user with this username (row locked on PostgreSQL when asked), or a rule violation."""
    stmt = select(User).where(User.username == username.strip().lower())
    if lock and uow.is_postgres:
        # A balance move must see the row as committed by whoever held the lock before us.
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    user = uow.session.exec(stmt).first()
    if user is None:
        raise RuleViolation("user_not_found", field=field, username=username)
    return user


def balance_of(uow: UnitOfWork, user_id: int, *, before: datetime | None = None) -> Decimal:
    """The sum of the user's ledger entries (only those created before a moment, when given)."""
    stmt = select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
        LedgerEntry.user_id == user_id
    )
    if before is not None:
        stmt = stmt.where(col(LedgerEntry.created_at) < before)
    return money(uow.session.exec(stmt).one())


def active_users(uow: UnitOfWork, contract_id: int, *, role: UserRole | None = None) -> list[User]:
    """The contract's users whose status is active, oldest first."""
    stmt = select(User).where(User.contract_id == contract_id, User.status == UserStatus.active)
    if role is not None:
        stmt = stmt.where(User.role == role)
    return list(uow.session.exec(stmt.order_by(col(User.id))).all())


def base_fee_on(uow: UnitOfWork, contract: Contract, day: date) -> Decimal:
    """The base monthly fee in force on a day: the newest fee version not after it."""
    fee = uow.session.exec(
        select(ContractFee)
        .where(ContractFee.contract_id == contract.id, ContractFee.valid_from <= day)
        .order_by(col(ContractFee.valid_from).desc())
    ).first()
    return money(fee.base_fee if fee is not None else contract.base_fee)


def monthly_amount(uow: UnitOfWork, contract: Contract, day: date) -> Decimal:
    """The monthly invoice amount: base fee plus the per-user fee for each active database user."""
    assert contract.id is not None  # noqa: S101 (a row read from the database has its id)
    users = [
        user
        for user in uow.session.exec(select(User).where(User.contract_id == contract.id)).all()
        if user.role == UserRole.user
        # Counted while active and not blocked by that day: a block from a later day is
        # scheduled (status still active), and a block dated after `day` did not yet apply.
        and (user.status == UserStatus.active or user.blocked_from is not None)
        and (user.blocked_from is None or user.blocked_from > day)
    ]
    return money(base_fee_on(uow, contract, day) + contract.per_user_fee * len(users))


def details_on(uow: UnitOfWork, customer_id: int, day: date) -> CustomerDetails | None:
    """The customer's details version in force on a day (the newest, highest version)."""
    return uow.session.exec(
        select(CustomerDetails)
        .where(CustomerDetails.customer_id == customer_id, CustomerDetails.valid_from <= day)
        .order_by(col(CustomerDetails.valid_from).desc(), col(CustomerDetails.version).desc())
    ).first()


def customer_of(uow: UnitOfWork, contract: Contract) -> Customer:
    """The customer a contract belongs to."""
    customer = uow.session.get(Customer, contract.customer_id)
    assert customer is not None  # noqa: S101 (a foreign key guarantees it)
    return customer
