"""Contracts: fee increases, dated company details, suspension and resumption."""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Any

from sqlmodel import col, func, select

from forms.catalogue import field_labels
from handlers.audit import audit, snapshot
from handlers.commands import (
    ChangeDetails,
    Command,
    IncreaseFee,
    ResumeContract,
    SuspendContract,
)
from handlers.db import UnitOfWork
from handlers.lookups import (
    active_users,
    base_fee_on,
    customer_of,
    details_on,
    find_contract,
    money,
    monthly_amount,
    row_id,
)
from handlers.models import (
    BlockReason,
    Contract,
    ContractFee,
    ContractStatus,
    CustomerDetails,
    User,
    UserStatus,
)
from handlers.replies import confirm
from handlers.request_rules import next_billing_month
from handlers.results import OperationResult, RuleViolation, apply_once
from handlers.users import start_due_blocks

DETAIL_FIELDS = ("name", "address", "vat_no", "bank", "swift", "iban")
CONTRACT_FIELDS = ("status", "suspended_from", "suspended_until")


def apply_increase_fee(cmd: IncreaseFee, uow: UnitOfWork, today: date) -> dict[str, Any]:
    """Raise the base monthly fee from a month (the rules have checked that it rises)."""
    contract = find_contract(uow, cmd.contract_no, lock=True)
    effective = cmd.effective_from or next_billing_month(today)
    new_fee = money(cmd.new_fee)
    # What the new fee replaces: what is charged today or already set for that month.
    current = max(base_fee_on(uow, contract, today), base_fee_on(uow, contract, effective))
    existing = uow.session.exec(
        select(ContractFee).where(
            ContractFee.contract_id == contract.id, ContractFee.valid_from == effective
        )
    ).first()
    if existing is not None:
        existing.base_fee = new_fee
        existing.application_id = cmd.application_id
        uow.session.add(existing)
    else:
        uow.session.add(
            ContractFee(
                contract_id=row_id(contract),
                valid_from=effective,
                base_fee=new_fee,
                application_id=cmd.application_id,
            )
        )
    audit(
        uow,
        cmd,
        "contract.fee",
        "contract",
        contract.id,
        before={"base_fee": str(current)},
        after={"base_fee": str(new_fee), "valid_from": effective.isoformat()},
    )
    uow.session.flush()
    confirm(
        uow,
        cmd,
        "fee_increase",
        {
            "contract_no": contract.number,
            "fee_before": str(current),
            "fee_after": str(new_fee),
            "effective_from": effective.isoformat(),
            "monthly_after": str(monthly_amount(uow, contract, effective)),
        },
        today=today,
    )
    return {
        "contract_no": contract.number,
        "old_fee": str(current),
        "new_fee": str(new_fee),
        "effective_from": effective.isoformat(),
    }


def apply_change_details(cmd: ChangeDetails, uow: UnitOfWork, today: date) -> dict[str, Any]:
    """Add a dated version of the company's details; earlier invoices keep theirs."""
    contract = find_contract(uow, cmd.contract_no)
    customer = customer_of(uow, contract)
    customer_id = row_id(customer)
    given = {name: getattr(cmd, name) for name in DETAIL_FIELDS if getattr(cmd, name)}
    effective = cmd.effective_from or today
    current = details_on(uow, customer_id, effective)
    base = snapshot(current, *DETAIL_FIELDS) if current else dict.fromkeys(DETAIL_FIELDS)
    values = {**base, **given}
    if not values.get("name"):
        raise RuleViolation("no_details_given", field="new_name")
    version = uow.session.exec(
        select(func.coalesce(func.max(CustomerDetails.version), 0)).where(
            CustomerDetails.customer_id == customer_id,
            CustomerDetails.valid_from == effective,
        )
    ).one()
    row = CustomerDetails(
        customer_id=customer_id,
        version=int(version) + 1,
        valid_from=effective,
        application_id=cmd.application_id,
        **values,
    )
    uow.session.add(row)
    uow.session.flush()
    audit(
        uow,
        cmd,
        "customer.details",
        "customer",
        customer_id,
        before=base,
        after={**values, "valid_from": effective.isoformat()},
    )
    confirm(
        uow,
        cmd,
        "requisites_change",
        {
            "contract_no": contract.number,
            "effective_from": effective.isoformat(),
            "rows": [_detail_change(name, base.get(name), values[name]) for name in sorted(given)],
        },
        today=today,
    )
    return {
        "contract_no": contract.number,
        "effective_from": effective.isoformat(),
        "details_version_id": row.id,
        "changed": sorted(given),
    }


def _detail_change(name: str, before: Any, after: Any) -> dict[str, Any]:
    """One company detail before → after, with its printed labels from the form."""
    label_lv, label_en = field_labels("requisites_change", f"new_{name}")
    return {"label_lv": label_lv, "label_en": label_en, "before": before, "after": after}


def apply_suspend(cmd: SuspendContract, uow: UnitOfWork, today: date) -> dict[str, Any]:
    """Suspend the contract and block its active users because of the suspension."""
    contract = find_contract(uow, cmd.contract_no, lock=True)
    date_from = cmd.date_from or today
    before = snapshot(contract, *CONTRACT_FIELDS)
    contract.suspended_from = date_from
    contract.suspended_until = cmd.date_to
    # A suspension from a later day is only scheduled: start_due_suspensions starts it then.
    blocked = start_suspension(uow, cmd, contract) if date_from <= today else []
    uow.session.add(contract)
    audit(
        uow,
        cmd,
        "contract.suspend",
        "contract",
        contract.id,
        before=before,
        after=snapshot(contract, *CONTRACT_FIELDS),
    )
    until = cmd.date_to.isoformat() if cmd.date_to else None
    # A scheduled suspension blocks, on its first day, the users active then: name today's.
    to_block = blocked or [u.username for u in active_users(uow, row_id(contract))]
    confirm(
        uow,
        cmd,
        "contract_suspend",
        {
            "contract_no": contract.number,
            "date_from": date_from.isoformat(),
            "date_to": until,
            "scheduled": date_from > today,
            "users": to_block,
        },
        today=today,
        action="suspend",
    )
    return {
        "contract_no": contract.number,
        "action": "suspend",
        "date_from": date_from.isoformat(),
        "date_to": until,
        "scheduled": date_from > today,
        "blocked": blocked,
    }


def start_suspension(uow: UnitOfWork, cmd: Command, contract: Contract) -> list[str]:
    """Set the contract suspended and block its active users because of the suspension."""
    contract.status = ContractStatus.suspended
    uow.session.add(contract)
    blocked = []
    for user in active_users(uow, row_id(contract)):
        user_before = snapshot(user, "status", "blocked_reason", "blocked_from")
        user.status = UserStatus.blocked
        user.blocked_reason = BlockReason.suspension
        user.blocked_from = contract.suspended_from
        uow.session.add(user)
        blocked.append(user.username)
        audit(
            uow,
            cmd,
            "user.block",
            "user",
            user.id,
            before=user_before,
            after=snapshot(user, "status", "blocked_reason", "blocked_from"),
        )
    return blocked


def apply_resume(cmd: ResumeContract, uow: UnitOfWork, today: date) -> dict[str, Any]:
    """Make the contract active again; unblock exactly the users its suspension blocked."""
    contract = find_contract(uow, cmd.contract_no, lock=True)
    return resume_loaded(cmd, uow, contract, today)


def resume_loaded(
    cmd: ResumeContract, uow: UnitOfWork, contract: Contract, today: date
) -> dict[str, Any]:
    """Resume an already-read contract: active again, exactly the suspension's users unblocked."""
    # Resuming a suspension that has not started yet just cancels it.
    before = snapshot(contract, *CONTRACT_FIELDS)
    contract.status = ContractStatus.active
    contract.suspended_from = None
    contract.suspended_until = None
    uow.session.add(contract)
    audit(
        uow,
        cmd,
        "contract.resume",
        "contract",
        contract.id,
        before=before,
        after=snapshot(contract, *CONTRACT_FIELDS),
    )
    unblocked = []
    for user in uow.session.exec(
        select(User)
        .where(
            User.contract_id == contract.id,
            User.status == UserStatus.blocked,
            User.blocked_reason == BlockReason.suspension,
        )
        .order_by(col(User.id))
    ).all():
        user_before = snapshot(user, "status", "blocked_reason", "blocked_from")
        user.status = UserStatus.active
        user.blocked_reason = None
        user.blocked_from = None
        uow.session.add(user)
        unblocked.append(user.username)
        audit(
            uow,
            cmd,
            "user.unblock",
            "user",
            user.id,
            before=user_before,
            after=snapshot(user, "status", "blocked_reason", "blocked_from"),
        )
    confirm(
        uow,
        cmd,
        "contract_suspend",
        {
            "contract_no": contract.number,
            # Still active: the suspension had not started, so resuming cancelled it.
            "was_scheduled": before.get("status") == ContractStatus.active,
            "suspended_from": before.get("suspended_from"),
            "users": unblocked,
        },
        today=today,
        action="resume",
    )
    return {"contract_no": contract.number, "action": "resume", "unblocked": unblocked}


def start_due_suspensions(*, uow: UnitOfWork, today: date) -> list[OperationResult]:
    """Start every scheduled suspension whose first day has come (each once: keyed by it)."""
    with uow:
        due = uow.session.exec(
            select(Contract).where(
                Contract.status == ContractStatus.active,
                col(Contract.suspended_from).is_not(None),
                col(Contract.suspended_from) <= today,
            )
        ).all()
        results = []
        for contract in due:
            assert contract.suspended_from is not None  # noqa: S101 (selected by it)
            cmd = SuspendContract(
                request_key=f"suspend-due:{contract.number}:{contract.suspended_from.isoformat()}",
                contract_no=contract.number,
            )
            results.append(
                apply_once(
                    uow,
                    "suspend_contract",
                    cmd.key,
                    partial(_started, uow, cmd, contract),
                )
            )
        uow.commit()
        return results


def _started(uow: UnitOfWork, cmd: SuspendContract, contract: Contract) -> dict[str, Any]:
    return {"contract_no": contract.number, "blocked": start_suspension(uow, cmd, contract)}


def apply_due_contract_dates(*, uow: UnitOfWork, today: date) -> list[OperationResult]:
    """The daily job: start suspensions and user blocks due today, end suspensions that ended."""
    return (
        start_due_suspensions(uow=uow, today=today)
        + start_due_blocks(uow=uow, today=today)
        + resume_due_contracts(uow=uow, today=today)
    )


def resume_due_contracts(*, uow: UnitOfWork, today: date) -> list[OperationResult]:
    """Resume every contract whose suspension ended by today (each once: keyed by its end date)."""
    with uow:
        due = uow.session.exec(
            select(Contract).where(
                Contract.status == ContractStatus.suspended,
                col(Contract.suspended_until).is_not(None),
                col(Contract.suspended_until) <= today,
            )
        ).all()
        results = []
        for contract in due:
            assert contract.suspended_until is not None  # noqa: S101 (selected by it)
            cmd = ResumeContract(
                request_key=f"resume-due:{contract.number}:{contract.suspended_until.isoformat()}",
                contract_no=contract.number,
            )
            results.append(
                apply_once(
                    uow,
                    "resume_contract",
                    cmd.key,
                    partial(resume_loaded, cmd, uow, contract, today),
                )
            )
        uow.commit()
        return results
