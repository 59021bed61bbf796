"""Commands: frozen pydantic models named in the imperative; a handler takes one and a uow.

Every command that changes the books carries its idempotency key: the application's id (a
request from a form) or a request key (self-service, CLI). `reference` and `reply_to` say how
the confirmation e-mail is addressed.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, SecretStr, model_validator


class Command(BaseModel):
    """What every changing command carries: who, why (application / request key), and replies."""

    model_config = ConfigDict(frozen=True)

    application_id: int | None = None
    request_key: str | None = None
    actor: str = "system"
    reference: str | None = None
    reply_to: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _has_key(self) -> Command:
        if self.application_id is None and not self.request_key:
            raise ValueError("a command needs an application_id or a request_key")
        return self

    @property
    def key(self) -> str:
        """The idempotency key: `application:<id>` or the request key."""
        if self.application_id is not None:
            return f"application:{self.application_id}"
        return self.request_key or ""  # never empty: _has_key guarantees one of the two

    @property
    def dedupe_key(self) -> str:
        """What the outbox rows of this command are unique by."""
        return self.reference or self.key


class NewUser(BaseModel):
    """A person to register as a user of a contract."""

    model_config = ConfigDict(frozen=True)

    first_name: str
    last_name: str
    email: str
    personal_code: str | None = None
    position: str | None = None
    phone: str | None = None


class ChangeUser(Command):
    """Register a new user, move the old user's balance to it, block the old one."""

    contract_no: str
    old_username: str
    new_user: NewUser


class AddUsers(Command):
    """Register new users of a contract, each with credentials."""

    contract_no: str
    users: tuple[NewUser, ...]


class BlockUsers(Command):
    """Block users of a contract from a date (default: today)."""

    contract_no: str
    usernames: tuple[str, ...]
    block_from: date | None = None


class IncreaseFee(Command):
    """Raise the contract's base monthly fee from a month (default: the next billing month)."""

    contract_no: str
    new_fee: Decimal
    effective_from: date | None = None


class ChangeDetails(Command):
    """A new dated version of the customer's details; fields left None are kept."""

    contract_no: str
    name: str | None = None
    address: str | None = None
    vat_no: str | None = None
    bank: str | None = None
    swift: str | None = None
    iban: str | None = None
    effective_from: date | None = None


class SuspendContract(Command):
    """Suspend a contract from a date, optionally until a date (then it resumes by itself)."""

    contract_no: str
    date_from: date | None = None
    date_to: date | None = None


class ResumeContract(Command):
    """Make a suspended contract active again and unblock the users its suspension blocked."""

    contract_no: str


class GrantEinvoiceAccess(Command):
    """Register an accountant user who sees the contract's invoices."""

    contract_no: str
    first_name: str
    last_name: str
    email: str
    phone: str | None = None


class ChangePassword(Command):
    """A user changes their own password (the current one is required)."""

    username: str
    old_password: SecretStr
    new_password: SecretStr


class RequestPasswordReset(Command):
    """Send a one-time reset link to the user's e-mail on record (username or e-mail given)."""

    identifier: str


class ResetPassword(Command):
    """Set a new password with a one-time reset token."""

    token: SecretStr
    new_password: SecretStr


class TopUp(Command):
    """Credit an amount to the user's account at once and issue a top-up invoice."""

    username: str
    amount: Decimal


class UpdateContact(Command):
    """Change the user's own e-mail and/or phone; a surname change goes to staff."""

    username: str
    email: str | None = None
    phone: str | None = None
    last_name: str | None = None
