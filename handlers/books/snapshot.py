"""The books as they stand in the database, loaded in a few queries (never one per row).

Both the import (to compare) and the export (to write) start from this snapshot, so "what the
database holds" means the same to both: a customer's details in force today, a contract's base
fee in force today, a user's balance as the sum of its ledger entries — and the dated versions
of details and fees that apply only from a later day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, func, select
from sqlmodel import Session, SQLModel

from handlers.lookups import money
from handlers.models import (
    AuthorizedPerson,
    BlockReason,
    Contract,
    ContractFee,
    ContractStatus,
    Customer,
    CustomerDetails,
    LedgerEntry,
    User,
    UserRole,
    UserStatus,
)

DETAIL_FIELDS = ("name", "address", "vat_no", "bank", "swift", "iban")


@dataclass(slots=True)
class CustomerState:
    """A customer, its details in force today, those from later days, and its highest version."""

    id: int
    reg_no: str
    details: dict[str, Any] | None = None
    details_from: date | None = None
    max_version: int = 0
    # The version that will apply on each later day (the highest of that day).
    later_details: dict[date, dict[str, Any]] = field(default_factory=dict)


@dataclass(slots=True)
class ContractState:
    """A contract, the base fee in force today and the fees from later days."""

    id: int
    number: str
    customer_id: int
    status: ContractStatus
    base_fee: Decimal
    per_user_fee: Decimal
    suspended_from: date | None
    suspended_until: date | None
    fee_ids: dict[date, int] = field(default_factory=dict)  # ContractFee id by valid_from
    later_fees: dict[date, Decimal] = field(default_factory=dict)  # valid_from after today


@dataclass(slots=True)
class PersonState:
    """An authorized person of a contract."""

    id: int
    contract_id: int
    name: str
    email: str


@dataclass(slots=True)
class UserState:
    """A user and its balance (the sum of its ledger entries)."""

    id: int
    contract_id: int
    username: str
    first_name: str
    last_name: str
    personal_code: str | None
    position: str | None
    email: str
    phone: str | None
    role: UserRole
    status: UserStatus
    blocked_reason: BlockReason | None
    blocked_from: date | None
    balance: Decimal


@dataclass(slots=True)
class Snapshot:
    """Everything the books hold, keyed the way a file names it."""

    customers: dict[str, CustomerState]  # by reg_no
    contracts: dict[str, ContractState]  # by number
    persons: dict[tuple[int, str], PersonState]  # by (contract id, e-mail)
    users: dict[str, UserState]  # by username


def _money(value: Any) -> Decimal:
    # SQLite hands sums back through a float; two places is what money has.
    return money(value if value is not None else 0)


def _rows(
    session: Session, model: type[SQLModel], *names: str, order_by: Sequence[str] = ()
) -> Sequence[Row[Any]]:
    """Chosen columns of every row of a table, as plain rows (no ORM objects: far faster)."""
    table = model.__table__  # type: ignore[attr-defined]
    stmt = select(*(table.c[n] for n in names)).order_by(*(table.c[n] for n in order_by))
    return session.connection().execute(stmt).all()


def load_snapshot(session: Session, *, today: date) -> Snapshot:
    """The whole customer base as of `today`, in one query per table."""
    customers = {
        row.reg_no: CustomerState(id=row.id, reg_no=row.reg_no)
        for row in _rows(session, Customer, "id", "reg_no")
    }
    by_id = {c.id: c for c in customers.values()}
    details_rows = _rows(
        session,
        CustomerDetails,
        "customer_id",
        "valid_from",
        "version",
        *DETAIL_FIELDS,
        order_by=("customer_id", "valid_from", "version"),
    )
    for row in details_rows:
        customer = by_id[row.customer_id]
        customer.max_version = max(customer.max_version, row.version)
        values = {f: getattr(row, f) for f in DETAIL_FIELDS}
        if row.valid_from > today:
            customer.later_details[row.valid_from] = values
        # Ordered by date: the last one not after today is in force; with none yet, the first.
        if customer.details is None or row.valid_from <= today:
            customer.details = values
            customer.details_from = row.valid_from
    for customer in customers.values():
        # With no version in force yet, the first day's stands for today's (not one to come).
        if customer.details_from is not None and customer.details_from > today:
            customer.details = customer.later_details.pop(customer.details_from)

    contracts: dict[str, ContractState] = {}
    contract_by_id: dict[int, ContractState] = {}
    contract_rows = _rows(
        session,
        Contract,
        "id",
        "number",
        "customer_id",
        "status",
        "base_fee",
        "per_user_fee",
        "suspended_from",
        "suspended_until",
    )
    for row in contract_rows:
        contract = ContractState(
            id=row.id,
            number=row.number,
            customer_id=row.customer_id,
            status=ContractStatus(row.status),
            base_fee=_money(row.base_fee),
            per_user_fee=_money(row.per_user_fee),
            suspended_from=row.suspended_from,
            suspended_until=row.suspended_until,
        )
        contracts[contract.number] = contract
        contract_by_id[contract.id] = contract
    fee_rows = _rows(
        session,
        ContractFee,
        "id",
        "contract_id",
        "valid_from",
        "base_fee",
        order_by=("contract_id", "valid_from"),
    )
    for row in fee_rows:
        contract = contract_by_id[row.contract_id]
        contract.fee_ids[row.valid_from] = row.id
        if row.valid_from <= today:  # the newest version not after today applies
            contract.base_fee = _money(row.base_fee)
        else:
            contract.later_fees[row.valid_from] = _money(row.base_fee)

    persons = {
        (row.contract_id, row.email): PersonState(
            id=row.id, contract_id=row.contract_id, name=row.name, email=row.email
        )
        for row in _rows(
            session, AuthorizedPerson, "id", "contract_id", "name", "email", order_by=("id",)
        )
    }

    ledger = LedgerEntry.__table__  # type: ignore[attr-defined]
    balance_stmt = select(ledger.c.user_id, func.sum(ledger.c.amount)).group_by(ledger.c.user_id)
    balances = {
        user_id: _money(total)
        for user_id, total in session.connection().execute(balance_stmt).all()
    }
    users: dict[str, UserState] = {}
    user_rows = _rows(
        session,
        User,
        "id",
        "contract_id",
        "username",
        "first_name",
        "last_name",
        "personal_code",
        "position",
        "email",
        "phone",
        "role",
        "status",
        "blocked_reason",
        "blocked_from",
    )
    for row in user_rows:
        users[row.username] = UserState(
            id=row.id,
            contract_id=row.contract_id,
            username=row.username,
            first_name=row.first_name,
            last_name=row.last_name,
            personal_code=row.personal_code,
            position=row.position,
            email=row.email,
            phone=row.phone,
            role=UserRole(row.role),
            status=UserStatus(row.status),
            blocked_reason=None if row.blocked_reason is None else BlockReason(row.blocked_reason),
            blocked_from=row.blocked_from,
            balance=balances.get(row.id, Decimal("0.00")),
        )
    return Snapshot(customers=customers, contracts=contracts, persons=persons, users=users)
