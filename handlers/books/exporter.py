"""Export: the books in the database as Books, in a fixed order (same books, same file).

Besides what is in force today, the export carries every dated change still to come (issue 14),
so that an export → import "move" loses none: fee and details versions from later days, an
active contract's scheduled suspension, an active user's scheduled block, and which blocked users
the contract's suspension blocked (its end unblocks them).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from handlers.books.records import (
    AuthorizedPersonRecord,
    Books,
    ContractRecord,
    CustomerRecord,
    DetailsChangeRecord,
    FeeChangeRecord,
    UserRecord,
)
from handlers.books.snapshot import (
    ContractState,
    CustomerState,
    PersonState,
    UserState,
    load_snapshot,
)
from handlers.db import UnitOfWork
from handlers.models import BlockReason, ContractStatus, UserStatus


def export_books(*, uow: UnitOfWork, today: date) -> Books:
    """Every customer with details, contracts, persons, users, balances, and changes to come."""
    with uow:
        snap = load_snapshot(uow.session, today=today)
    contracts_of: defaultdict[int, list[ContractState]] = defaultdict(list)
    for contract in snap.contracts.values():
        contracts_of[contract.customer_id].append(contract)
    persons_of: defaultdict[int, list[PersonState]] = defaultdict(list)
    for person in snap.persons.values():
        persons_of[person.contract_id].append(person)
    users_of: defaultdict[int, list[UserState]] = defaultdict(list)
    for user in snap.users.values():
        users_of[user.contract_id].append(user)

    customers = []
    for customer in sorted(snap.customers.values(), key=lambda c: c.reg_no):
        details = customer.details or {}
        contracts = tuple(
            ContractRecord(
                number=c.number,
                status=c.status,
                base_fee=c.base_fee,
                per_user_fee=c.per_user_fee,
                suspended_until=c.suspended_until,
                suspended_from=_scheduled_suspension(c),
                fee_changes=tuple(
                    FeeChangeRecord(valid_from=day, base_fee=fee)
                    for day, fee in sorted(c.later_fees.items())
                ),
                authorized_persons=tuple(
                    AuthorizedPersonRecord(name=p.name, email=p.email)
                    for p in sorted(persons_of[c.id], key=lambda p: (p.email, p.name))
                ),
                users=tuple(_user(u) for u in sorted(users_of[c.id], key=lambda u: u.username)),
            )
            for c in sorted(contracts_of[customer.id], key=lambda c: c.number)
        )
        customers.append(
            CustomerRecord(
                reg_no=customer.reg_no,
                name=details.get("name") or "",
                address=details.get("address"),
                vat_no=details.get("vat_no"),
                bank=details.get("bank"),
                swift=details.get("swift"),
                iban=details.get("iban"),
                details_changes=_details_changes(customer),
                contracts=contracts,
            )
        )
    return Books(customers=tuple(customers))


def _scheduled_suspension(contract: ContractState) -> date | None:
    """The first day of a suspension the daily job has not started yet, if any."""
    return contract.suspended_from if contract.status == ContractStatus.active else None


def _details_changes(customer: CustomerState) -> tuple[DetailsChangeRecord, ...]:
    return tuple(
        DetailsChangeRecord(valid_from=day, **values)
        for day, values in sorted(customer.later_details.items())
    )


def _user(u: UserState) -> UserRecord:
    active = u.status == UserStatus.active
    return UserRecord(
        username=u.username,
        first_name=u.first_name,
        last_name=u.last_name,
        personal_code=u.personal_code,
        position=u.position,
        email=u.email,
        phone=u.phone,
        role=u.role,
        status=u.status,
        balance=u.balance,
        # An active user with a block date is blocked by the daily job on that day.
        block_from=u.blocked_from if active and u.blocked_reason == BlockReason.own else None,
        # Only a suspension's block is named: it ends with the suspension. A user's own block
        # is the default, so books without suspensions export as before.
        blocked_reason=u.blocked_reason
        if not active and u.blocked_reason == BlockReason.suspension
        else None,
    )
