"""What a request would change, read from the books as before → after lines for the review.

Each request type says it in the terms staff check: whose balance moves to whom, the monthly
amount before and after, the fee from which month, the company details now beside the new ones.
Nothing here writes; the apply step decides again inside its own transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlmodel import select

from forms.catalogue import form_by_code
from handlers.contracts import DETAIL_FIELDS
from handlers.db import UnitOfWork
from handlers.lookups import (
    active_users,
    balance_of,
    base_fee_on,
    customer_of,
    details_on,
    money,
    monthly_amount,
    row_id,
)
from handlers.models import Application, Contract, UserRole
from handlers.request_rules import next_billing_month
from handlers.views import Change, ContractNow, UserLine

DETAIL_LABELS = {
    "name": ("Nosaukums", "Name"),
    "address": ("Juridiskā adrese", "Legal address"),
    "vat_no": ("PVN numurs", "VAT number"),
    "bank": ("Banka", "Bank"),
    "swift": ("SWIFT/BIC", "SWIFT/BIC"),
    "iban": ("IBAN", "IBAN"),
}
MONTHLY = ("Mēneša maksa", "Monthly amount")


def _eur(amount: Decimal) -> str:
    return f"{money(amount)} EUR"


def _decimal(value: Any) -> Decimal | None:
    try:
        return money(str(value)) if value not in (None, "") else None
    except InvalidOperation:
        return None


def contract_now(
    uow: UnitOfWork, application: Application, today: date
) -> tuple[Contract, ContractNow] | None:
    """The application's contract (by link, else by the number on the form) as it is today."""
    contract: Contract | None = None
    if application.contract_id is not None:
        contract = uow.session.get(Contract, application.contract_id)
    number = application.fields.get("contract_no")
    if contract is None and isinstance(number, str):
        contract = uow.session.exec(select(Contract).where(Contract.number == number)).first()
    if contract is None:
        return None
    details = details_on(uow, row_id(customer_of(uow, contract)), today)
    users = tuple(
        UserLine(
            username=u.username,
            name=f"{u.first_name} {u.last_name}",
            role=str(u.role),
            balance=balance_of(uow, row_id(u)),
        )
        for u in active_users(uow, row_id(contract))
    )
    return contract, ContractNow(
        number=contract.number,
        status=str(contract.status),
        suspended_from=contract.suspended_from,
        suspended_until=contract.suspended_until,
        base_fee=base_fee_on(uow, contract, today),
        per_user_fee=money(contract.per_user_fee),
        monthly_amount=monthly_amount(uow, contract, today),
        details={f: getattr(details, f) if details else None for f in DETAIL_FIELDS},
        users=users,
    )


Builder = Callable[[UnitOfWork, dict[str, Any], Contract, ContractNow, date], list[Change]]


def _user_change(
    uow: UnitOfWork, fields: dict[str, Any], contract: Contract, now: ContractNow, today: date
) -> list[Change]:
    old = str(fields.get("old_username") or "").strip().lower()
    new_name = f"{fields.get('new_first_name') or ''} {fields.get('new_last_name') or ''}".strip()
    current = next((u for u in now.users if u.username == old), None)
    lines = [
        Change(
            label_lv="Lietotājs",
            label_en="User",
            before=f"{old} ({current.name})" if current else f"{old} (nav aktīvs / not active)",
            after=f"{new_name} <{fields.get('new_email') or '—'}> (jauns / new)",
        )
    ]
    if current is not None:
        lines.append(
            Change(
                label_lv="Atlikums pāriet",
                label_en="Balance moves",
                before=f"{_eur(current.balance)} — {old}",
                after=f"{_eur(current.balance)} — {new_name}",
            )
        )
    return lines


def _user_add(
    uow: UnitOfWork, fields: dict[str, Any], contract: Contract, now: ContractNow, today: date
) -> list[Change]:
    rows = fields.get("users") if isinstance(fields.get("users"), list) else []
    added = len(rows or [])
    database_users = sum(1 for u in now.users if u.role == UserRole.user)
    return [
        Change(
            label_lv="Lietotāju skaits",
            label_en="Users",
            before=str(database_users),
            after=f"{database_users + added} (+{added})",
        ),
        Change(
            label_lv=MONTHLY[0],
            label_en=MONTHLY[1],
            before=_eur(now.monthly_amount),
            after=_eur(now.monthly_amount + now.per_user_fee * added),
        ),
    ]


def _user_block(
    uow: UnitOfWork, fields: dict[str, Any], contract: Contract, now: ContractNow, today: date
) -> list[Change]:
    rows = fields.get("users") if isinstance(fields.get("users"), list) else []
    names = [str(r.get("username") or "").strip().lower() for r in rows or []]
    when = fields.get("block_from") or "šodien / today"
    blocked = [u for u in now.users if u.username in names and u.role == UserRole.user]
    lines = [
        Change(
            label_lv="Lietotājs",
            label_en="User",
            before=f"{name}: " + ("aktīvs / active" if name in now_names(now) else "—"),
            after=f"{name}: bloķēts no / blocked from {when}",
        )
        for name in names
    ]
    lines.append(
        Change(
            label_lv=MONTHLY[0],
            label_en=MONTHLY[1],
            before=_eur(now.monthly_amount),
            after=_eur(now.monthly_amount - now.per_user_fee * len(blocked)),
        )
    )
    return lines


def now_names(now: ContractNow) -> set[str]:
    """The usernames of the contract's active users."""
    return {u.username for u in now.users}


def _fee_increase(
    uow: UnitOfWork, fields: dict[str, Any], contract: Contract, now: ContractNow, today: date
) -> list[Change]:
    new_fee = _decimal(fields.get("new_fee"))
    effective = fields.get("effective_from")
    start = date.fromisoformat(effective) if isinstance(effective, str) else None
    start = start or next_billing_month(today)
    month = f"{start:%m.%Y}"
    before_fee = max(now.base_fee, base_fee_on(uow, contract, start))
    after_fee = new_fee if new_fee is not None else before_fee
    return [
        Change(
            label_lv="Abonentmaksa",
            label_en="Base fee",
            before=_eur(before_fee),
            after=f"{_eur(after_fee)} no / from {month}",
        ),
        Change(
            label_lv=MONTHLY[0],
            label_en=MONTHLY[1],
            before=_eur(now.monthly_amount),
            after=f"{_eur(now.monthly_amount - now.base_fee + after_fee)} no / from {month}",
        ),
    ]


def _requisites_change(
    uow: UnitOfWork, fields: dict[str, Any], contract: Contract, now: ContractNow, today: date
) -> list[Change]:
    lines = []
    for field in DETAIL_FIELDS:
        current = now.details.get(field) or "—"
        new = fields.get(f"new_{field}")
        after = str(new) if new not in (None, "") else current
        lv, en = DETAIL_LABELS[field]
        lines.append(
            Change(label_lv=lv, label_en=en, before=current, after=after, changed=after != current)
        )
    return lines


def _contract_suspend(
    uow: UnitOfWork, fields: dict[str, Any], contract: Contract, now: ContractNow, today: date
) -> list[Change]:
    action = fields.get("action")
    start = fields.get("date_from") or "šodien / today"
    until = fields.get("date_to")
    after = (
        f"suspended no / from {start}" + (f" līdz / until {until}" if until else "")
        if action == "suspend"
        else "active (atjaunots / resumed)"
    )
    users = ", ".join(sorted(now_names(now))) or "—"
    return [
        Change(
            label_lv="Līguma statuss", label_en="Contract status", before=now.status, after=after
        ),
        Change(
            label_lv="Skartie lietotāji",
            label_en="Users affected",
            before=users,
            after="bloķēti / blocked" if action == "suspend" else "atbloķēti / unblocked",
        ),
    ]


def _einvoice_access(
    uow: UnitOfWork, fields: dict[str, Any], contract: Contract, now: ContractNow, today: date
) -> list[Change]:
    accountants = [u.username for u in now.users if u.role == UserRole.accountant]
    name = f"{fields.get('accountant_first_name') or ''} {fields.get('accountant_last_name') or ''}"
    return [
        Change(
            label_lv="Grāmatveži ar piekļuvi e-rēķiniem",
            label_en="Accountants with e-invoice access",
            before=", ".join(accountants) or "—",
            after=f"+ {name.strip()} <{fields.get('accountant_email') or '—'}>",
        )
    ]


# Keyed by request-type code (a test keeps it equal to handlers.request_types.REQUEST_TYPES);
# a type missing here would show its fields only.
BUILDERS: dict[str, Builder] = {
    "user_change": _user_change,
    "user_add": _user_add,
    "user_block": _user_block,
    "fee_increase": _fee_increase,
    "requisites_change": _requisites_change,
    "contract_suspend": _contract_suspend,
    "einvoice_access": _einvoice_access,
}


def changes_for(
    uow: UnitOfWork,
    application: Application,
    contract: Contract | None,
    now: ContractNow | None,
    today: date,
) -> list[Change]:
    """The before → after lines of the application (none when the contract is unknown)."""
    builder = BUILDERS.get(application.form_type or "")
    if (
        builder is None
        or contract is None
        or now is None
        or form_by_code(application.form_type or "") is None
    ):
        return []
    return builder(uow, application.fields, contract, now, today)
