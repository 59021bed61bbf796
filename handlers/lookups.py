"""What every operation needs from the books: find and lock rows, balances, fees, audit, replies."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from forms.catalogue import form_titles
from handlers.commands import Command
from handlers.db import UnitOfWork
from handlers.models import (
    AuditEvent,
    Contract,
    ContractFee,
    Customer,
    CustomerDetails,
    LedgerEntry,
    User,
    UserRole,
    UserStatus,
)
from handlers.outbox import enqueue
from handlers.results import RuleViolation
from handlers.threads import thread_of_application

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


def snapshot(row: Any, *fields: str) -> dict[str, Any]:
    """Chosen attributes of a row as JSON-friendly values, for audit before/after."""
    values: dict[str, Any] = {}
    for name in fields:
        value = getattr(row, name)
        values[name] = value if value is None or isinstance(value, int | bool) else str(value)
    return values


def audit(
    uow: UnitOfWork,
    cmd: Command,
    action: str,
    entity: str,
    entity_id: int | str | None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Write one audit event in the current transaction."""
    uow.session.add(
        AuditEvent(
            actor=cmd.actor,
            action=action,
            entity=entity,
            entity_id=None if entity_id is None else str(entity_id),
            before=before,
            after=after,
            application_id=cmd.application_id,
        )
    )


def user_summary(user: User) -> dict[str, str]:
    """A user as a confirmation names them: username, name and e-mail."""
    return {
        "username": user.username,
        "name": f"{user.first_name} {user.last_name}".strip(),
        "email": user.email,
    }


def confirm(
    uow: UnitOfWork,
    cmd: Command,
    form_type: str,
    changes: dict[str, Any],
    *,
    today: date,
    action: str = "",
) -> None:
    """Enqueue the confirmation to everyone the command says to reply to.

    `changes` says what changed, before → after, and what follows (JSON values: money and
    dates as strings); the confirmation template words it for the form type and `action`.
    """
    title_lv, title_en = form_titles(form_type)
    contract = uow.session.exec(
        select(Contract).where(Contract.number == str(changes.get("contract_no", "")))
    ).first()
    context = {
        "reference": cmd.reference,
        "form_type": form_type,
        "action": action,
        "form_title_lv": title_lv,
        "form_title_en": title_en,
        "customer_name": books_name(uow, contract, today) if contract else "",
        "changes": changes,
    }
    for recipient in dict.fromkeys(r.strip() for r in cmd.reply_to if r and r.strip()):
        enqueue(
            uow.session,
            template="confirmation",
            recipient=recipient,
            context=context,
            dedupe_key=cmd.dedupe_key,
            application_id=cmd.application_id,
            thread=thread_of_application(uow.session, cmd.application_id),
        )


def books_name(uow: UnitOfWork, contract: Contract, day: date) -> str:
    """The customer's name as the books have it on a day, not as the client typed it."""
    customer = customer_of(uow, contract)
    assert customer.id is not None  # noqa: S101 (read from the database)
    details = details_on(uow, customer.id, day)
    return details.name if details else customer.reg_no


def addressee(user: User) -> dict[str, Any]:
    """Who a personal e-mail greets; delivery mints the password or reset token by `user_id`."""
    return {
        "user_id": user.id,
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
    }


def send_credentials(
    uow: UnitOfWork, cmd: Command, user: User, contract: Contract, *, today: date
) -> None:
    """Enqueue the credentials e-mail; the password and sign-in link are added at delivery."""
    enqueue(
        uow.session,
        template="credentials",
        recipient=user.email,
        context={
            **addressee(user),
            "role": str(user.role),
            "contract_no": contract.number,
            "customer_name": books_name(uow, contract, today),
        },
        dedupe_key=f"{cmd.dedupe_key}:{user.username}",
        application_id=cmd.application_id,
    )
