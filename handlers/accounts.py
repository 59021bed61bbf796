"""Users' accounts: balance, statement for a period, and top-ups with their invoices."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import col, select

from handlers.audit import audit, snapshot
from handlers.commands import TopUp
from handlers.contracts import DETAIL_FIELDS
from handlers.db import UnitOfWork
from handlers.invoices import STANDARD_VAT_RATE, due_date, vat_of
from handlers.lookups import balance_of, customer_of, details_on, find_user, money, row_id
from handlers.models import Contract, Invoice, LedgerEntry, UserStatus
from handlers.outbox import enqueue
from handlers.results import OperationResult, RuleViolation, failure, run_once
from handlers.users import accountant_emails
from handlers.views import Statement, StatementEntry, UserBalance


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def balance(username: str, *, uow: UnitOfWork) -> UserBalance | OperationResult:
    """The user's balance and standing (what `docintake accounts show` prints); else why not."""
    with uow:
        try:
            user = find_user(uow, username)
        except RuleViolation as violation:
            return failure("balance", username, violation)
        contract = uow.session.get(Contract, user.contract_id)
        return UserBalance(
            username=user.username,
            first_name=user.first_name,
            last_name=user.last_name,
            email=user.email,
            phone=user.phone,
            role=str(user.role),
            status=str(user.status),
            blocked_reason=None if user.blocked_reason is None else str(user.blocked_reason),
            contract_no=contract.number if contract else None,
            must_change_password=user.must_change_password,
            balance=balance_of(uow, row_id(user)),
        )


def statement(
    username: str,
    *,
    uow: UnitOfWork,
    date_from: date | None = None,
    date_to: date | None = None,
) -> Statement | OperationResult:
    """The user's ledger entries in a period (dates inclusive) with opening and closing balance."""
    with uow:
        try:
            user = find_user(uow, username)
        except RuleViolation as violation:
            return failure("statement", username, violation)
        user_id = row_id(user)
        stmt = select(LedgerEntry).where(LedgerEntry.user_id == user_id)
        opening = Decimal("0.00")
        if date_from is not None:
            start = _start_of(date_from)
            stmt = stmt.where(col(LedgerEntry.created_at) >= start)
            opening = balance_of(uow, user_id, before=start)
        if date_to is not None:
            stmt = stmt.where(col(LedgerEntry.created_at) < _start_of(date_to + timedelta(days=1)))
        entries = uow.session.exec(
            stmt.order_by(col(LedgerEntry.created_at), col(LedgerEntry.id))
        ).all()
        closing = money(opening + sum((e.amount for e in entries), Decimal(0)))
        return Statement(
            username=user.username,
            date_from=date_from,
            date_to=date_to,
            opening=opening,
            closing=closing,
            entries=tuple(
                StatementEntry(
                    date=e.created_at.date(),
                    kind=e.kind,
                    amount=money(e.amount),
                    description=e.description,
                )
                for e in entries
            ),
        )


def _apply_top_up(cmd: TopUp, uow: UnitOfWork, today: date) -> dict[str, Any]:
    amount = money(cmd.amount) if cmd.amount == cmd.amount.quantize(Decimal("0.01")) else None
    if amount is None or amount <= 0:
        raise RuleViolation("amount_not_positive", field="amount")
    # Lock the user's row: a change of user moving this balance waits for us, and we for it.
    user = find_user(uow, cmd.username, lock=True)
    if user.status != UserStatus.active:
        raise RuleViolation("user_not_active", field="username", username=user.username)
    user_id = row_id(user)
    before = balance_of(uow, user_id)
    uow.session.add(
        LedgerEntry(
            user_id=user_id,
            amount=amount,
            kind="top_up",
            description="top-up",
            application_id=cmd.application_id,
            request_key=cmd.key,
        )
    )
    contract = uow.session.get(Contract, user.contract_id)
    assert contract is not None  # noqa: S101 (a foreign key guarantees it)
    customer = customer_of(uow, contract)
    details = details_on(uow, row_id(customer), today)
    sequence = uow.next_number(f"invoice-{today.year}")
    accountants = accountant_emails(uow, row_id(contract))
    invoice = Invoice(
        number=f"R-{today.year}-{sequence:06d}",
        year=today.year,
        sequence=sequence,
        kind="top_up",
        contract_id=row_id(contract),
        user_id=user_id,
        amount=amount,
        vat_rate=STANDARD_VAT_RATE,
        issued_on=today,
        due_on=due_date(today),
        customer_details={
            "reg_no": customer.reg_no,
            **(snapshot(details, *DETAIL_FIELDS) if details else {}),
        },
        recipients=[user.email, *accountants],
    )
    uow.session.add(invoice)
    uow.session.flush()
    after = money(before + amount)
    audit(
        uow,
        cmd,
        "ledger.top_up",
        "user",
        user_id,
        before={"balance": str(before)},
        after={"balance": str(after), "invoice": invoice.number},
    )
    vat = vat_of(amount, STANDARD_VAT_RATE)
    # The amount is credited to the account as it is; VAT is added on the invoice.
    context = {
        "reference": invoice.number,
        "invoice_number": invoice.number,
        "amount": str(amount),
        "vat_rate": str(STANDARD_VAT_RATE.normalize()),
        "vat": str(vat),
        "total": str(amount + vat),
        "issued_on": today.isoformat(),
        "due_on": due_date(today).isoformat(),
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        # The books' name on the invoice date, never the client's spelling.
        "customer_name": (details.name if details else customer.reg_no),
        "contract_no": contract.number,
        "balance_before": str(before),
        "balance": str(after),
    }
    enqueue(
        uow.session,
        template="topup_invoice",
        recipient=user.email,
        context=context,
        dedupe_key=cmd.key,
        application_id=cmd.application_id,
    )
    for accountant in accountants:
        enqueue(
            uow.session,
            template="invoice_notice",
            recipient=accountant,
            context=context,
            dedupe_key=cmd.key,
            application_id=cmd.application_id,
        )
    return {
        "username": user.username,
        "amount": str(amount),
        "balance": str(after),
        "invoice_number": invoice.number,
    }


def top_up(cmd: TopUp, *, uow: UnitOfWork, today: date) -> OperationResult:
    """Credit the amount at once, issue a top-up invoice, e-mail it to the user and accountants."""
    return run_once(uow, "top_up", cmd.key, lambda: _apply_top_up(cmd, uow, today))
