"""Test helpers every tier may import.

`smtp_sink` (a real SMTP server on loopback), `books` (seeded books, filled forms), and the
accounts helpers below: balances on seeded users, cheap password hashing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

from sqlmodel import select

from handlers import credentials
from handlers.accounts import balance
from handlers.db import UnitOfWork
from handlers.models import LedgerEntry, User
from handlers.views import UserBalance


@contextmanager
def cheap_hashing() -> Iterator[None]:
    """argon2 at its lowest cost inside the block (tests only: the default costs ~0.1 s a hash)."""
    credentials.configure_hasher(time_cost=1, memory_cost=8, parallelism=1)
    try:
        yield
    finally:
        credentials.configure_hasher()


def give_balances(uow: UnitOfWork, amount: Decimal = Decimal("50.00")) -> dict[str, int]:
    """An opening ledger entry of `amount` for every user; their ids by username."""
    with uow:
        users = uow.session.exec(select(User)).all()
        for user in users:
            assert user.id is not None
            uow.session.add(LedgerEntry(user_id=user.id, amount=amount, kind="opening"))
        uow.commit()
        return {u.username: u.id for u in users if u.id is not None}


def balance_now(username: str, *, uow: UnitOfWork) -> Decimal:
    """The user's balance as `accounts.balance` reads it (the user must exist)."""
    found = balance(username, uow=uow)
    assert isinstance(found, UserBalance), found
    return found.balance
