"""An import's plan, and what each row of the books becomes when a file's record comes in.

The importer compares and the writer writes with the same answers, so a second import of the
same file finds nothing to change. A file that says nothing about a scheduled change — an older
file, without the keys added for dated changes (issue 14) — leaves it as the books have it: an
import adds and changes scheduled changes, and never cancels one (staff do that by a request).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from handlers.books.records import (
    DETAIL_FIELDS,
    AuthorizedPersonRecord,
    ContractRecord,
    CustomerRecord,
    DetailsChangeRecord,
    FeeChangeRecord,
    UserRecord,
)
from handlers.books.snapshot import ContractState, CustomerState, PersonState, UserState
from handlers.models import BlockReason, ContractStatus, UserStatus


@dataclass(slots=True)
class Plan:
    """The difference between a file and the books, by natural key."""

    new_customers: list[CustomerRecord] = field(default_factory=list)
    changed_details: list[tuple[CustomerState, CustomerRecord]] = field(default_factory=list)
    # Details versions from later days, new or different: (reg_no, version).
    later_details: list[tuple[str, DetailsChangeRecord]] = field(default_factory=list)
    new_contracts: list[tuple[str, ContractRecord]] = field(default_factory=list)
    changed_contracts: list[tuple[ContractState, ContractRecord]] = field(default_factory=list)
    # Fees from later days: new ones by contract number, changed ones by ContractFee id.
    new_fees: list[tuple[str, FeeChangeRecord]] = field(default_factory=list)
    changed_fees: list[tuple[int, Decimal, FeeChangeRecord]] = field(default_factory=list)
    new_persons: list[tuple[str, AuthorizedPersonRecord]] = field(default_factory=list)
    changed_persons: list[tuple[PersonState, AuthorizedPersonRecord]] = field(default_factory=list)
    new_users: list[tuple[str, UserRecord]] = field(default_factory=list)
    changed_users: list[tuple[UserState, UserRecord]] = field(default_factory=list)


def details_of(record: CustomerRecord | DetailsChangeRecord) -> dict[str, Any]:
    """A customer's details as the customer_details table holds them."""
    return {f: getattr(record, f) for f in DETAIL_FIELDS}


@dataclass(frozen=True, slots=True)
class ContractTarget:
    """The contract columns a file's record asks for (or that the books hold)."""

    status: ContractStatus
    base_fee: Decimal
    per_user_fee: Decimal
    suspended_from: date | None
    suspended_until: date | None

    @classmethod
    def of_state(cls, state: ContractState) -> ContractTarget:
        """What the books hold now."""
        return cls(
            state.status,
            state.base_fee,
            state.per_user_fee,
            state.suspended_from,
            state.suspended_until,
        )


def contract_target(
    record: ContractRecord, state: ContractState | None, today: date
) -> ContractTarget:
    """The contract as it should be after the import (`state` None: a new contract)."""
    since: date | None
    until = record.suspended_until
    if record.status == ContractStatus.suspended:
        # A suspension already running keeps its first day; one the file starts, starts today.
        running = state is not None and state.status == ContractStatus.suspended
        since = state.suspended_from if state is not None and running else today
    elif record.suspended_from is not None:
        since = record.suspended_from
    elif until is None and state is not None and state.status == ContractStatus.active:
        since, until = state.suspended_from, state.suspended_until  # the file is silent: kept
    else:
        since = None
    return ContractTarget(record.status, record.base_fee, record.per_user_fee, since, until)


def user_block(
    record: UserRecord, state: UserState | None, today: date
) -> tuple[BlockReason | None, date | None]:
    """A user's block reason and date after the import (`state` None: a new user)."""
    if record.status == UserStatus.blocked:
        if state is not None and state.status == UserStatus.blocked:
            return record.blocked_reason or state.blocked_reason, state.blocked_from
        # Nobody knows why the old system blocked them: count it as their own block, so that
        # resuming a suspended contract never unblocks them by mistake.
        return record.blocked_reason or BlockReason.own, None if state is None else today
    if record.block_from is not None:
        return BlockReason.own, record.block_from
    if (
        state is not None
        and state.status == UserStatus.active
        and state.blocked_reason == BlockReason.own
        and state.blocked_from is not None
    ):
        return state.blocked_reason, state.blocked_from  # the file is silent: kept
    return None, None
