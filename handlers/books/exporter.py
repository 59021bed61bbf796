"""Export: the books in the database as Books, in a fixed order (same books, same file)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from handlers.books.records import (
    AuthorizedPersonRecord,
    Books,
    ContractRecord,
    CustomerRecord,
    UserRecord,
)
from handlers.books.snapshot import ContractState, PersonState, UserState, load_snapshot
from handlers.db import UnitOfWork


def export_books(*, uow: UnitOfWork, today: date) -> Books:
    """Every customer with its details in force today, contracts, persons, users and balances."""
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
                authorized_persons=tuple(
                    AuthorizedPersonRecord(name=p.name, email=p.email)
                    for p in sorted(persons_of[c.id], key=lambda p: (p.email, p.name))
                ),
                users=tuple(
                    UserRecord(
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
                    )
                    for u in sorted(users_of[c.id], key=lambda u: u.username)
                ),
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
                contracts=contracts,
            )
        )
    return Books(customers=tuple(customers))
