"""The books as a file sees them: customers → contracts → authorized persons and users.

These plain records sit between the file formats and the database, so that reading, checking,
importing and exporting each deal with one shape. Values in them are already normalized.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from handlers.models import BlockReason, ContractStatus, UserRole, UserStatus

# Told how far a long step got: the step's name, rows done, rows in all.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class Location:
    """Where a record stands in its file: the file's name and a row (CSV line or JSON path)."""

    file: str
    row: str


NOWHERE = Location(file="", row="")


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a file, named by file, row and field, in Latvian and English."""

    file: str
    row: str
    field: str | None
    code: str
    message_lv: str
    message_en: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.row}" if self.row else self.file
        if self.field:
            where += f": {self.field}"
        return f"{where}: {self.message_lv} / {self.message_en}"


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A login of a contract with its account balance."""

    username: str
    first_name: str
    last_name: str
    personal_code: str | None
    position: str | None
    email: str
    phone: str | None
    role: UserRole
    status: UserStatus
    balance: Decimal
    # An active user's block scheduled from a later day (the form's "Block from").
    block_from: date | None = None
    # Why a blocked user is blocked; None is their own block. Blocked by the contract's
    # suspension, they are unblocked when it ends.
    blocked_reason: BlockReason | None = None
    where: Location = field(default=NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class AuthorizedPersonRecord:
    """Someone who may submit applications for a contract."""

    name: str
    email: str
    where: Location = field(default=NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class FeeChangeRecord:
    """A base fee already agreed that applies from a later day (an approved fee increase)."""

    valid_from: date
    base_fee: Decimal
    where: Location = field(default=NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class DetailsChangeRecord:
    """A version of a customer's details that applies from a later day."""

    valid_from: date
    name: str
    address: str | None
    vat_no: str | None
    bank: str | None
    swift: str | None
    iban: str | None
    where: Location = field(default=NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class ContractRecord:
    """A subscription contract with its authorized persons, users and fee changes to come."""

    number: str
    status: ContractStatus
    base_fee: Decimal
    per_user_fee: Decimal
    suspended_until: date | None
    # An active contract's suspension scheduled from this day (until `suspended_until`).
    suspended_from: date | None = None
    fee_changes: tuple[FeeChangeRecord, ...] = ()
    authorized_persons: tuple[AuthorizedPersonRecord, ...] = ()
    users: tuple[UserRecord, ...] = ()
    where: Location = field(default=NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class CustomerRecord:
    """A client company with the details in force and its contracts."""

    reg_no: str
    name: str
    address: str | None
    vat_no: str | None
    bank: str | None
    swift: str | None
    iban: str | None
    details_changes: tuple[DetailsChangeRecord, ...] = ()
    contracts: tuple[ContractRecord, ...] = ()
    where: Location = field(default=NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class Books:
    """The whole customer base as one value."""

    customers: tuple[CustomerRecord, ...] = ()

    @property
    def user_count(self) -> int:
        """How many users the books hold (the unit a progress bar counts)."""
        return sum(len(c.users) for cu in self.customers for c in cu.contracts)


# The file format's field names, in the order files are written (issue 7). The OPTIONAL ones
# carry dated changes not yet in force (issue 14): a file without them reads as before, and
# JSON leaves them out when they are empty, so books without such changes export as before.
CUSTOMER_FIELDS = ("reg_no", "name", "address", "vat_no", "bank", "swift", "iban")
CONTRACT_FIELDS = ("number", "status", "base_fee", "per_user_fee", "suspended_until")
CONTRACT_OPTIONAL = ("suspended_from",)
DETAIL_FIELDS = ("name", "address", "vat_no", "bank", "swift", "iban")
DETAILS_CHANGE_FIELDS = ("valid_from", *DETAIL_FIELDS)
FEE_CHANGE_FIELDS = ("valid_from", "base_fee")
AUTHORIZED_PERSON_FIELDS = ("name", "email")
USER_FIELDS = (
    "username",
    "first_name",
    "last_name",
    "personal_code",
    "position",
    "email",
    "phone",
    "role",
    "status",
    "balance",
)
USER_OPTIONAL = ("block_from", "blocked_reason")
