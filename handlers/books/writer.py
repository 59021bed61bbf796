"""Writing an import's plan: bulk inserts in chunks and updates by primary key, with audit.

Everything happens inside the caller's transaction; nothing here commits. Dated changes still
to come (issue 14) are written as the handlers' own operations leave them: fee and details
versions from their day, a contract's `suspended_from` and a user's `blocked_from` that the
daily job (`apply_due_contract_dates`) acts on when the day comes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select, update
from sqlmodel import Session, SQLModel

from handlers.books.plan import (
    ContractTarget,
    Plan,
    contract_target,
    details_of,
    user_block,
)
from handlers.books.records import USER_FIELDS as FILE_USER_FIELDS
from handlers.books.records import Progress, UserRecord
from handlers.books.snapshot import Snapshot, UserState
from handlers.models import (
    AuditEvent,
    AuthorizedPerson,
    BlockReason,
    Contract,
    ContractFee,
    Customer,
    CustomerDetails,
    LedgerEntry,
    User,
    utcnow,
)

ACTOR = "import"
CHUNK = 5000
# The tables whose rows a progress bar counts (the file's rows); the rest follow them.
COUNTED: frozenset[type[SQLModel]] = frozenset({Customer, Contract, AuthorizedPerson, User})
# A user row takes the file's user fields but its key (username) and balance (the ledger's).
USER_FIELDS = tuple(f for f in FILE_USER_FIELDS if f not in {"username", "balance"})


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, date):
        return value.isoformat()
    return value


def _chunks(rows: Sequence[dict[str, Any]]) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start : start + CHUNK]


class Writer:
    """Carries out a plan inside the caller's transaction, in bulk statements."""

    def __init__(
        self, session: Session, snap: Snapshot, today: date, progress: Progress | None
    ) -> None:
        self.session = session
        self.today = today
        self.now: datetime = utcnow()
        self.progress = progress
        self.audit: list[dict[str, Any]] = []
        self.customer_ids = {reg_no: c.id for reg_no, c in snap.customers.items()}
        self.contract_ids = {number: c.id for number, c in snap.contracts.items()}
        # The highest details version of each customer: every new version takes the next.
        self.versions = {c.id: c.max_version for c in snap.customers.values()}
        self.done = 0
        self.total = 0

    def write(self, plan: Plan) -> None:
        """Insert and update everything the plan names, parents before children."""
        self.total = (
            len(plan.new_customers)
            + len(plan.new_contracts)
            + len(plan.new_persons)
            + len(plan.new_users)
            + len(plan.changed_details)
            + len(plan.changed_contracts)
            + len(plan.changed_persons)
            + len(plan.changed_users)
        )
        self._customers(plan)
        self._contracts(plan)
        self._persons(plan)
        self._users(plan)
        self._insert(AuditEvent, self.audit)
        self.session.flush()

    def _tick(self, rows: int) -> None:
        self.done += rows
        if self.progress is not None:
            self.progress("writing", min(self.done, self.total), self.total)

    def _insert(
        self, model: type[SQLModel], rows: Sequence[dict[str, Any]], *key: str
    ) -> dict[Any, int]:
        """Insert rows in chunks as plain executemany; with `key`, the new ids by that key.

        The ids are read back by key rather than with RETURNING: on SQLite, RETURNING in
        parameter order falls back to one statement per row, many times slower.
        """
        table = model.__table__  # type: ignore[attr-defined]
        statement = insert(table)
        connection = self.session.connection()
        ids: dict[Any, int] = {}
        for chunk in _chunks(rows):
            connection.execute(statement, list(chunk))
            if model in COUNTED:
                self._tick(len(chunk))
            if not key:
                continue
            # The first key column narrows the read-back to this chunk's rows.
            first = table.c[key[0]]
            wanted = {row[key[0]] for row in chunk}
            found = connection.execute(
                select(table.c.id, *(table.c[k] for k in key)).where(first.in_(wanted))
            )
            for row in found:
                ids[row[1] if len(key) == 1 else tuple(row[1:])] = row[0]
        return ids

    def _update(self, model: type[SQLModel], rows: Sequence[dict[str, Any]]) -> None:
        for chunk in _chunks(rows):
            self.session.exec(update(model), params=chunk)
            if model in COUNTED:
                self._tick(len(chunk))

    def _event(
        self,
        action: str,
        entity: str,
        entity_id: int,
        before: dict[str, Any] | None,
        after: dict[str, Any],
    ) -> None:
        self.audit.append(
            {
                "actor": ACTOR,
                "action": action,
                "entity": entity,
                "entity_id": str(entity_id),
                "before": None if before is None else {k: _jsonable(v) for k, v in before.items()},
                "after": {k: _jsonable(v) for k, v in after.items()},
                "created_at": self.now,
            }
        )

    def _changed(
        self,
        action: str,
        entity: str,
        entity_id: int,
        old: dict[str, Any],
        new: dict[str, Any],
        keys: Sequence[str] | None = None,
    ) -> None:
        """An audit event with the before and after of the changed keys (by default: differing)."""
        if keys is None:
            keys = [k for k in new if old.get(k) != new[k]]
        self._event(
            action, entity, entity_id, {k: old.get(k) for k in keys}, {k: new[k] for k in keys}
        )

    def _customers(self, plan: Plan) -> None:
        ids = self._insert(
            Customer,
            [{"reg_no": c.reg_no, "created_at": self.now} for c in plan.new_customers],
            "reg_no",
        )
        self.customer_ids.update(ids)
        details: list[dict[str, Any]] = []
        for customer in plan.new_customers:
            cid = ids[customer.reg_no]
            self._event("customer_created", "customer", cid, None, {"reg_no": customer.reg_no})
            details.append(self._version(cid, self.today, details_of(customer)))
        for state, customer in plan.changed_details:
            new = details_of(customer)
            self._changed(
                "customer_details_changed", "customer", state.id, state.details or {}, new
            )
            details.append(self._version(state.id, self.today, new))
        for reg_no, later in plan.later_details:
            cid = self.customer_ids[reg_no]
            values = details_of(later)
            after = {"valid_from": later.valid_from, **values}
            self._event("customer_details_scheduled", "customer", cid, None, after)
            details.append(self._version(cid, later.valid_from, values))
        self._insert(CustomerDetails, details)
        self._tick(len(plan.changed_details))

    def _version(
        self, customer_id: int, valid_from: date, values: dict[str, Any]
    ) -> dict[str, Any]:
        """The next details version of a customer, valid from a day."""
        self.versions[customer_id] = self.versions.get(customer_id, 0) + 1
        return {
            "customer_id": customer_id,
            "version": self.versions[customer_id],
            "valid_from": valid_from,
            **values,
            "created_at": self.now,
        }

    def _contracts(self, plan: Plan) -> None:
        targets = [
            (reg_no, c, contract_target(c, None, self.today)) for reg_no, c in plan.new_contracts
        ]
        rows = [
            {
                "number": c.number,
                "customer_id": self.customer_ids[reg_no],
                **asdict(target),
                "created_at": self.now,
            }
            for reg_no, c, target in targets
        ]
        ids = self._insert(Contract, rows, "number")
        self.contract_ids.update(ids)
        # A contract brought in was already running: its fee holds for the whole current month.
        month_start = self.today.replace(day=1)
        fees = []
        for _, contract, target in targets:
            cid = ids[contract.number]
            self._event("contract_created", "contract", cid, None, _contract_dict(target))
            fees.append(self._fee(cid, month_start, contract.base_fee))
        updates = []
        fee_updates = []
        for state, contract in plan.changed_contracts:
            target = contract_target(contract, state, self.today)
            updates.append({"id": state.id, **asdict(target)})
            if contract.base_fee != state.base_fee:
                # A changed fee is a new dated version from today (one per day and contract).
                fee_id = state.fee_ids.get(self.today)
                if fee_id is None:
                    fees.append(self._fee(state.id, self.today, contract.base_fee))
                else:
                    fee_updates.append({"id": fee_id, "base_fee": contract.base_fee})
            self._changed(
                "contract_changed",
                "contract",
                state.id,
                _contract_dict(ContractTarget.of_state(state)),
                _contract_dict(target),
            )
        for number, later in plan.new_fees:
            cid = self.contract_ids[number]
            fees.append(self._fee(cid, later.valid_from, later.base_fee))
            self._event(
                "fee_scheduled", "contract", cid, None, _fee_dict(later.valid_from, later.base_fee)
            )
        for fee_id, old_fee, later in plan.changed_fees:
            fee_updates.append({"id": fee_id, "base_fee": later.base_fee})
            self._event(
                "fee_scheduled",
                "contract_fee",
                fee_id,
                _fee_dict(later.valid_from, old_fee),
                _fee_dict(later.valid_from, later.base_fee),
            )
        self._insert(ContractFee, fees)
        self._update(Contract, updates)
        self._update(ContractFee, fee_updates)

    def _fee(self, contract_id: int, valid_from: date, fee: Decimal) -> dict[str, Any]:
        return {
            "contract_id": contract_id,
            "valid_from": valid_from,
            "base_fee": fee,
            "created_at": self.now,
        }

    def _persons(self, plan: Plan) -> None:
        rows = [
            {"contract_id": self.contract_ids[number], "name": p.name, "email": p.email}
            for number, p in plan.new_persons
        ]
        ids = self._insert(AuthorizedPerson, rows, "contract_id", "email")
        for row in rows:
            pid = ids[(row["contract_id"], row["email"])]
            self._event("authorized_person_added", "authorized_person", pid, None, row)
        updates = []
        for state, person in plan.changed_persons:
            updates.append({"id": state.id, "name": person.name})
            self._event(
                "authorized_person_changed",
                "authorized_person",
                state.id,
                {"name": state.name},
                {"name": person.name},
            )
        self._update(AuthorizedPerson, updates)

    def _users(self, plan: Plan) -> None:
        rows = []
        for number, u in plan.new_users:
            reason, since = user_block(u, None, self.today)
            rows.append(
                {
                    "contract_id": self.contract_ids[number],
                    "username": u.username,
                    **{f: getattr(u, f) for f in USER_FIELDS},
                    "blocked_reason": reason,
                    "blocked_from": since,
                    # Credentials come later through the password-reset path.
                    "password_hash": None,
                    "must_change_password": True,
                    "created_at": self.now,
                }
            )
        ids = self._insert(User, rows, "username")
        ledger: list[dict[str, Any]] = []
        for (_, user), row in zip(plan.new_users, rows, strict=True):
            uid = ids[user.username]
            after = _user_dict(user, row["blocked_reason"], row["blocked_from"])
            self._event("user_created", "user", uid, None, after)
            ledger.append(
                self._entry(uid, user.balance, "opening", "Sākuma atlikums / Opening balance")
            )
        updates = []
        for state, user in plan.changed_users:
            reason, since = user_block(user, state, self.today)
            updates.append(
                {
                    "id": state.id,
                    **{f: getattr(user, f) for f in USER_FIELDS},
                    "blocked_reason": reason,
                    "blocked_from": since,
                }
            )
            if user.balance != state.balance:
                # The balance stays a sum of entries: one entry makes it what the file says.
                ledger.append(
                    self._entry(
                        state.id,
                        user.balance - state.balance,
                        "adjustment",
                        "Atlikuma korekcija (imports) / Balance adjustment (import)",
                    )
                )
            was = (state.blocked_reason, state.blocked_from)
            old = _user_dict(state, *was, masked=False)
            new = _user_dict(user, reason, since, masked=False)
            # Compared unmasked, so that a changed personal code is seen; shown masked.
            changed = [k for k in new if old[k] != new[k]]
            self._changed(
                "user_changed",
                "user",
                state.id,
                _user_dict(state, *was),
                _user_dict(user, reason, since),
                changed,
            )
        self._update(User, updates)
        self._insert(LedgerEntry, ledger)

    def _entry(self, user_id: int, amount: Decimal, kind: str, text: str) -> dict[str, Any]:
        return {
            "user_id": user_id,
            "amount": amount,
            "kind": kind,
            "description": text,
            "created_at": self.now,
        }


def _contract_dict(target: ContractTarget) -> dict[str, Any]:
    return asdict(target)


def _fee_dict(valid_from: date, fee: Decimal) -> dict[str, Any]:
    return {"valid_from": valid_from, "base_fee": fee}


def _user_dict(
    u: UserRecord | UserState,
    blocked_reason: BlockReason | None,
    blocked_from: date | None,
    *,
    masked: bool = True,
) -> dict[str, Any]:
    values = {"username": u.username, **{f: getattr(u, f) for f in USER_FIELDS}}
    values["balance"] = u.balance
    values["blocked_reason"] = blocked_reason
    values["blocked_from"] = blocked_from
    # The audit trail shows that a personal code was given or changed, not the code itself.
    if masked and values["personal_code"] is not None:
        values["personal_code"] = "***"
    return values
