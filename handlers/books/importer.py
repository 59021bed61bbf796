"""Import: bring Books into the database in one transaction, idempotently and in bulk.

The file is compared with a snapshot of the books (a few queries, not one per row); what is new
is inserted in chunks, what changed is updated by primary key, and every change leaves an audit
event by the actor `import`. Anything wrong, or a dry run, and nothing is written at all.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from handlers.books.plan import ContractTarget, Plan, contract_target, details_of, user_block
from handlers.books.records import (
    Books,
    ContractRecord,
    CustomerRecord,
    Problem,
    Progress,
    UserRecord,
)
from handlers.books.rules import problem_at
from handlers.books.snapshot import (
    ContractState,
    CustomerState,
    Snapshot,
    UserState,
    load_snapshot,
)
from handlers.books.validation import load_books
from handlers.books.writer import ACTOR, USER_FIELDS, Writer
from handlers.db import UnitOfWork

__all__ = ["ACTOR", "ImportReport", "import_books", "import_file"]


@dataclass(slots=True)
class ImportReport:
    """What an import did (or, in a dry run, would do), and why it did nothing if it did not."""

    dry_run: bool
    committed: bool = False
    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    unchanged: Counter[str] = field(default_factory=Counter)
    not_in_file: Counter[str] = field(default_factory=Counter)
    problems: list[Problem] = field(default_factory=list)

    @property
    def changes(self) -> int:
        """How many records are (or would be) created or updated."""
        return sum(self.created.values()) + sum(self.updated.values())


def import_books(
    books: Books,
    *,
    uow: UnitOfWork,
    today: date,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Bring the books in; with any problem, or a dry run, change nothing and say why."""
    report = ImportReport(dry_run=dry_run)
    with uow:
        snap = load_snapshot(uow.session, today=today)
        plan = _plan(books, snap, report, today)
        if report.problems or dry_run:
            return report
        Writer(uow.session, snap, today, progress).write(plan)
        uow.commit()
        report.committed = True
    return report


def import_file(
    path: Path,
    *,
    uow: UnitOfWork,
    today: date,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Read, check and import a books file or CSV folder; with any problem, change nothing.

    Rows without problems are still checked against the books, so one run reports everything.
    Raises BooksFileError when the path is no books file at all.
    """
    books, problems = load_books(path, progress=progress)
    report = import_books(
        books, uow=uow, today=today, dry_run=dry_run or bool(problems), progress=progress
    )
    report.problems[:0] = problems
    report.dry_run = dry_run
    return report


# --- comparing --------------------------------------------------------------------------------


def _user_values(u: UserRecord | UserState) -> tuple[Any, ...]:
    return (*(getattr(u, f) for f in USER_FIELDS), u.balance)


def _user_changed(user: UserRecord, state: UserState, today: date) -> bool:
    block = user_block(user, state, today)
    was = (state.blocked_reason, state.blocked_from)
    return _user_values(user) != _user_values(state) or block != was


def _not_later(where: Any, fld: str, today: date) -> Problem:
    day = today.strftime("%d.%m.%Y")
    return problem_at(
        where,
        fld,
        "not_later",
        f"Spēkā no: izmaiņai jābūt no vēlākas dienas nekā šodiena ({day})",
        f"Valid from: a change to come must be dated after today ({day})",
    )


def _later_details(
    customer: CustomerRecord,
    state: CustomerState | None,
    plan: Plan,
    report: ImportReport,
    today: date,
) -> None:
    """Details versions from later days that the books lack or hold otherwise."""
    held: dict[date, Any] = {} if state is None else state.later_details
    for later in customer.details_changes:
        if later.valid_from <= today:
            report.problems.append(_not_later(later.where, "valid_from", today))
        elif held.get(later.valid_from) != details_of(later):
            plan.later_details.append((customer.reg_no, later))
        else:
            report.unchanged["details_changes"] += 1


def _later_fees(
    contract: ContractRecord,
    state: ContractState | None,
    plan: Plan,
    report: ImportReport,
    today: date,
) -> None:
    """Fees from later days that the books lack or hold otherwise."""
    for later in contract.fee_changes:
        held = None if state is None else state.later_fees.get(later.valid_from)
        if later.valid_from <= today:
            report.problems.append(_not_later(later.where, "valid_from", today))
        elif state is None or held is None:
            plan.new_fees.append((contract.number, later))
        elif held != later.base_fee:
            plan.changed_fees.append((state.fee_ids[later.valid_from], held, later))
        else:
            report.unchanged["fee_changes"] += 1


def _plan(books: Books, snap: Snapshot, report: ImportReport, today: date) -> Plan:
    """What the file adds and changes; moves between owners are problems, not changes."""
    plan = Plan()
    reg_no_of = {c.id: c.reg_no for c in snap.customers.values()}
    number_of = {c.id: c.number for c in snap.contracts.values()}
    seen = Counter[str]()
    for customer in books.customers:
        state = snap.customers.get(customer.reg_no)
        if state is None:
            plan.new_customers.append(customer)
        elif details_of(customer) != state.details:
            plan.changed_details.append((state, customer))
        else:
            report.unchanged["customers"] += 1
        seen["customers"] += state is not None
        _later_details(customer, state, plan, report, today)
        for contract in customer.contracts:
            cstate = snap.contracts.get(contract.number)
            seen["contracts"] += cstate is not None
            if cstate is None:
                plan.new_contracts.append((customer.reg_no, contract))
            elif state is None or cstate.customer_id != state.id:
                owner = reg_no_of[cstate.customer_id]
                report.problems.append(
                    problem_at(
                        contract.where,
                        "number",
                        "conflict",
                        f"Līgums {contract.number} datubāzē pieder klientam {owner}",
                        f"Contract {contract.number} belongs to customer {owner} in the books",
                    )
                )
                continue
            elif contract_target(contract, cstate, today) != ContractTarget.of_state(cstate):
                plan.changed_contracts.append((cstate, contract))
            else:
                report.unchanged["contracts"] += 1
            _later_fees(contract, cstate, plan, report, today)
            for person in contract.authorized_persons:
                pstate = None if cstate is None else snap.persons.get((cstate.id, person.email))
                seen["authorized_persons"] += pstate is not None
                if pstate is None:
                    plan.new_persons.append((contract.number, person))
                elif pstate.name != person.name:
                    plan.changed_persons.append((pstate, person))
                else:
                    report.unchanged["authorized_persons"] += 1
            for user in contract.users:
                ustate = snap.users.get(user.username)
                seen["users"] += ustate is not None
                if ustate is None:
                    plan.new_users.append((contract.number, user))
                elif cstate is None or ustate.contract_id != cstate.id:
                    other = number_of[ustate.contract_id]
                    report.problems.append(
                        problem_at(
                            user.where,
                            "username",
                            "conflict",
                            f"Lietotājs {user.username} datubāzē pieder līgumam {other}",
                            f"User {user.username} belongs to contract {other} in the books",
                        )
                    )
                elif _user_changed(user, ustate, today):
                    plan.changed_users.append((ustate, user))
                else:
                    report.unchanged["users"] += 1
    report.created.update(
        customers=len(plan.new_customers),
        contracts=len(plan.new_contracts),
        authorized_persons=len(plan.new_persons),
        users=len(plan.new_users),
        details_changes=len(plan.later_details),
        fee_changes=len(plan.new_fees),
        ledger_entries=len(plan.new_users)
        + sum(u.balance != s.balance for s, u in plan.changed_users),
    )
    report.updated.update(
        customers=len(plan.changed_details),
        contracts=len(plan.changed_contracts),
        authorized_persons=len(plan.changed_persons),
        users=len(plan.changed_users),
        fee_changes=len(plan.changed_fees),
    )
    report.not_in_file.update(
        customers=len(snap.customers) - seen["customers"],
        contracts=len(snap.contracts) - seen["contracts"],
        authorized_persons=len(snap.persons) - seen["authorized_persons"],
        users=len(snap.users) - seen["users"],
    )
    for counter in (report.created, report.updated, report.not_in_file):
        for key in [k for k, n in counter.items() if n == 0]:
            del counter[key]
    return plan
