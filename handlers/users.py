"""Users of a contract: change of user, new users, blocking, the accountant's e-invoice access."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import partial
from typing import Any

from sqlmodel import col, select

from handlers.audit import audit, snapshot
from handlers.commands import AddUsers, BlockUsers, ChangeUser, GrantEinvoiceAccess, NewUser
from handlers.credentials import unique_username
from handlers.db import UnitOfWork
from handlers.lookups import (
    active_users,
    balance_of,
    find_contract,
    find_user,
    monthly_amount,
    row_id,
)
from handlers.models import (
    BlockReason,
    Contract,
    LedgerEntry,
    User,
    UserRole,
    UserStatus,
)
from handlers.replies import confirm, send_credentials, user_summary
from handlers.results import OperationResult, apply_once

USER_FIELDS = ("username", "status", "blocked_reason", "blocked_from", "email", "role")


def normalize_email(address: str) -> str:
    """The address stripped, with its domain in lower case."""
    local, _, domain = address.strip().rpartition("@")
    return f"{local}@{domain.lower()}" if local else address.strip()


def register_user(
    uow: UnitOfWork,
    cmd: ChangeUser | AddUsers | GrantEinvoiceAccess,
    contract: Contract,
    person: NewUser,
    *,
    today: date,
    role: UserRole = UserRole.user,
) -> User:
    """Add a user row with a readable unique username and no password yet (set at delivery)."""
    assert contract.id is not None  # noqa: S101 (read from the database)
    user = User(
        contract_id=contract.id,
        username=unique_username(uow.session, person.first_name, person.last_name),
        first_name=person.first_name.strip(),
        last_name=person.last_name.strip(),
        personal_code=person.personal_code,
        position=person.position,
        email=normalize_email(person.email),
        phone=person.phone,
        role=role,
        must_change_password=True,
        application_id=cmd.application_id,
    )
    uow.session.add(user)
    uow.session.flush()
    audit(uow, cmd, "user.register", "user", user.id, after=snapshot(user, *USER_FIELDS))
    send_credentials(uow, cmd, user, contract, today=today)
    return user


def _block(
    uow: UnitOfWork, cmd: Any, user: User, reason: BlockReason, day: date, *, today: date
) -> None:
    before = snapshot(user, *USER_FIELDS)
    # A block from a later day is only scheduled: the user keeps working until then and the
    # daily job (`start_due_blocks`) blocks them on that day.
    scheduled = day > today
    if not scheduled:
        user.status = UserStatus.blocked
    user.blocked_reason = reason
    user.blocked_from = day
    uow.session.add(user)
    audit(
        uow,
        cmd,
        "user.block_scheduled" if scheduled else "user.block",
        "user",
        user.id,
        before=before,
        after=snapshot(user, *USER_FIELDS),
    )


def apply_change_user(cmd: ChangeUser, uow: UnitOfWork, today: date) -> dict[str, Any]:
    """Register the new user, move the old user's balance to it, block the old user."""
    contract = find_contract(uow, cmd.contract_no)
    old = find_user(uow, cmd.old_username, lock=True, field="old_username")
    new = register_user(uow, cmd, contract, cmd.new_user, today=today)
    old_id, new_id = row_id(old), row_id(new)
    # The old row is locked (PostgreSQL), so no top-up can slip in between the sum and the move.
    amount = balance_of(uow, old_id)
    if amount != 0:
        note = f"{old.username} -> {new.username}"
        uow.session.add_all(
            [
                LedgerEntry(
                    user_id=old_id,
                    amount=-amount,
                    kind="transfer_out",
                    description=note,
                    application_id=cmd.application_id,
                    request_key=cmd.key,
                ),
                LedgerEntry(
                    user_id=new_id,
                    amount=amount,
                    kind="transfer_in",
                    description=note,
                    application_id=cmd.application_id,
                    request_key=cmd.key,
                ),
            ]
        )
        audit(
            uow,
            cmd,
            "ledger.transfer",
            "user",
            old.id,
            before={"from": old.username, "balance": str(amount)},
            after={"to": new.username, "amount": str(amount)},
        )
    _block(uow, cmd, old, BlockReason.own, today, today=today)
    confirm(
        uow,
        cmd,
        "user_change",
        {
            "contract_no": contract.number,
            "old": user_summary(old),
            "new": user_summary(new),
            "blocked_from": today.isoformat(),
            "moved_amount": str(amount),
        },
        today=today,
    )
    return {
        "contract_no": contract.number,
        "old_username": old.username,
        "new_username": new.username,
        "moved_amount": str(amount),
    }


def _audit_monthly_amount(
    uow: UnitOfWork, cmd: AddUsers | BlockUsers, contract: Contract, before: Decimal, after: Decimal
) -> None:
    audit(
        uow,
        cmd,
        "contract.monthly_amount",
        "contract",
        contract.id,
        before={"monthly_amount": str(before)},
        after={"monthly_amount": str(after)},
    )


def apply_add_users(cmd: AddUsers, uow: UnitOfWork, today: date) -> dict[str, Any]:
    """Register each new user with credentials; the monthly amount rises by the per-user fee."""
    contract = find_contract(uow, cmd.contract_no)
    before = monthly_amount(uow, contract, today)
    users = [register_user(uow, cmd, contract, new, today=today) for new in cmd.users]
    after = monthly_amount(uow, contract, today)
    _audit_monthly_amount(uow, cmd, contract, before, after)
    confirm(
        uow,
        cmd,
        "user_add",
        {
            "contract_no": contract.number,
            "users": [user_summary(u) for u in users],
            "monthly_before": str(before),
            "monthly_after": str(after),
            "from": today.isoformat(),
        },
        today=today,
    )
    return {
        "contract_no": contract.number,
        "usernames": [u.username for u in users],
        "monthly_amount": str(after),
    }


def apply_block_users(cmd: BlockUsers, uow: UnitOfWork, today: date) -> dict[str, Any]:
    """Block users from a date (default: today); a later date only schedules the block."""
    contract = find_contract(uow, cmd.contract_no)
    users = [
        find_user(uow, name, field=f"users[{row}].username")
        for row, name in enumerate(cmd.usernames, start=1)
    ]
    before = monthly_amount(uow, contract, today)
    day = cmd.block_from or today
    for user in users:
        _block(uow, cmd, user, BlockReason.own, day, today=today)
    after = monthly_amount(uow, contract, day)
    _audit_monthly_amount(uow, cmd, contract, before, after)
    confirm(
        uow,
        cmd,
        "user_block",
        {
            "contract_no": contract.number,
            "users": [user_summary(u) for u in users],
            "block_from": day.isoformat(),
            "scheduled": day > today,
            "monthly_before": str(before),
            "monthly_after": str(after),
        },
        today=today,
    )
    return {
        "contract_no": contract.number,
        "blocked": [u.username for u in users],
        "block_from": day.isoformat(),
        "monthly_amount": str(after),
    }


def apply_grant_einvoice_access(
    cmd: GrantEinvoiceAccess, uow: UnitOfWork, today: date
) -> dict[str, Any]:
    """Register an accountant user (invoices only) with credentials at the accountant's e-mail."""
    contract = find_contract(uow, cmd.contract_no)
    new = NewUser(
        first_name=cmd.first_name, last_name=cmd.last_name, email=cmd.email, phone=cmd.phone
    )
    user = register_user(uow, cmd, contract, new, today=today, role=UserRole.accountant)
    confirm(
        uow,
        cmd,
        "einvoice_access",
        {"contract_no": contract.number, "accountant": user_summary(user)},
        today=today,
    )
    return {"contract_no": contract.number, "username": user.username}


def accountant_emails(uow: UnitOfWork, contract_id: int) -> list[str]:
    """The e-mails of the contract's active accountants (invoice notices go there too)."""
    return [u.email for u in active_users(uow, contract_id, role=UserRole.accountant)]


def start_due_blocks(*, uow: UnitOfWork, today: date) -> list[OperationResult]:
    """Block every user whose scheduled block (a form's "Block from") has come, per contract."""
    with uow:
        due = uow.session.exec(
            select(User)
            .where(
                User.status == UserStatus.active,
                User.blocked_reason == BlockReason.own,
                col(User.blocked_from).is_not(None),
                col(User.blocked_from) <= today,
            )
            .order_by(col(User.contract_id), col(User.username))
        ).all()
        by_contract: dict[int, list[User]] = {}
        for user in due:
            by_contract.setdefault(user.contract_id, []).append(user)
        results = []
        for contract_id, users in by_contract.items():
            contract = uow.session.get(Contract, contract_id)
            assert contract is not None  # noqa: S101 (a foreign key guarantees it)
            cmd = BlockUsers(
                request_key=f"block-due:{contract.number}:{today.isoformat()}",
                contract_no=contract.number,
                usernames=tuple(u.username for u in users),
            )
            results.append(
                apply_once(
                    uow, "start_blocks", cmd.key, partial(_blocks_due, uow, cmd, users, today)
                )
            )
        uow.commit()
        return results


def _blocks_due(uow: UnitOfWork, cmd: BlockUsers, users: list[User], today: date) -> dict[str, Any]:
    for user in users:
        assert user.blocked_from is not None  # noqa: S101 (selected by it)
        _block(uow, cmd, user, BlockReason.own, user.blocked_from, today=today)
    return {"blocked": list(cmd.usernames)}
