"""Who speaks for a contract, and where its replies may go: look-ups over the books.

The rules (ARCHITECTURE.md, "Who may change a contract"):
- only an authorized person of *the contract the form names* may file for it
  (`authorized_contract`); being in the books for another contract is not enough;
- replies and confirmations go to the verified sender and to addresses the books hold for that
  contract — never to an address only the form names (`reply_addresses`). Credentials are not
  replies: they go to the new user's address that staff approved.
Every function takes the caller's open unit of work (`with uow:` already entered) so it can be
used inside the transaction that writes the mail.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func
from sqlmodel import col, select

from handlers.db import UnitOfWork
from handlers.models import Application, AuthorizedPerson, Contract, Customer, User


def _lower(address: str | None) -> str:
    return (address or "").strip().lower()


def known_contract_ids(email: str, *, uow: UnitOfWork) -> set[int]:
    """Contracts whose authorized persons or users have this address (any case)."""
    address = _lower(email)
    persons = uow.session.exec(
        select(AuthorizedPerson.contract_id).where(func.lower(AuthorizedPerson.email) == address)
    ).all()
    users = uow.session.exec(
        select(User.contract_id).where(func.lower(User.email) == address)
    ).all()
    return {*persons, *users}


def contract_named(
    reg_no: str | None, contract_no: str | None, *, uow: UnitOfWork
) -> Contract | None:
    """The contract a form names by number (and registration number when given), or None."""
    if not contract_no:
        return None
    stmt = select(Contract).where(Contract.number == contract_no)
    if reg_no:
        stmt = stmt.join(Customer, col(Customer.id) == Contract.customer_id).where(
            Customer.reg_no == reg_no
        )
    found: Contract | None = uow.session.exec(stmt).first()
    return found


def is_authorized_person(email: str | None, contract_id: int, *, uow: UnitOfWork) -> bool:
    """True when this address is an authorized person of this contract."""
    if not email:
        return False
    found = uow.session.exec(
        select(AuthorizedPerson.id).where(
            AuthorizedPerson.contract_id == contract_id,
            func.lower(AuthorizedPerson.email) == _lower(email),
        )
    ).first()
    return found is not None


def authorized_contract(
    email: str | None, reg_no: str | None, contract_no: str | None, *, uow: UnitOfWork
) -> Contract | None:
    """The contract the form names when the sender is one of its authorized persons, else None."""
    contract = contract_named(reg_no, contract_no, uow=uow)
    if contract is None or contract.id is None:
        return None
    return contract if is_authorized_person(email, contract.id, uow=uow) else None


def contract_addresses(contract_id: int, *, uow: UnitOfWork) -> set[str]:
    """Every address the books hold for a contract: its authorized persons and its users."""
    persons = uow.session.exec(
        select(AuthorizedPerson.email).where(AuthorizedPerson.contract_id == contract_id)
    ).all()
    users = uow.session.exec(select(User.email).where(User.contract_id == contract_id)).all()
    return {_lower(address) for address in (*persons, *users) if address}


def _unique(addresses: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for address in addresses:
        if address and address not in seen:
            seen[address] = None
    return tuple(seen)


def reply_addresses(application: Application, uow: UnitOfWork) -> tuple[str, ...]:
    """Where the client's replies about an application go; the first is the main recipient.

    The sender (the From address intake accepted: verified, or read under `flag` because the
    books hold it), then the form's contact e-mail only when the books hold it for the
    application's contract. Empty when nobody may be written to.
    """
    sender = _lower(application.sender)
    if application.contract_id is None:
        return (sender,) if sender else ()
    known = contract_addresses(application.contract_id, uow=uow)
    contact = application.fields.get("submitter_email")
    candidates = [sender if sender in known else ""]
    if isinstance(contact, str) and _lower(contact) in known:
        candidates.append(_lower(contact))
    return _unique(candidates)
