"""Typed read models: what the CLI, the review, the schedules and the portal show.

Every read that leaves handlers is one of these frozen models, built inside a unit of work, so
no caller writes SQL or reaches into a detached row's attributes after its session ended.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlmodel import col, func, select

from handlers.db import UnitOfWork
from handlers.models import Application, ApplicationStatus, Approval, Customer
from handlers.request_types import needs_two_approvals


class View(BaseModel):
    """A frozen read model."""

    model_config = ConfigDict(frozen=True)


def aware(moment: datetime) -> datetime:
    """A datetime in UTC; SQLite hands back naive ones for what was written as UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# -- accounts and self-service ------------------------------------------------------------------


class UserBalance(View):
    """A user's standing and balance (`docintake accounts show`, the portal's home)."""

    username: str
    first_name: str
    last_name: str
    email: str
    phone: str | None
    role: str
    status: str
    blocked_reason: str | None
    contract_no: str | None
    must_change_password: bool
    balance: Decimal


class StatementEntry(View):
    """One ledger entry of a statement."""

    date: date
    kind: str
    amount: Decimal
    description: str | None


class Statement(View):
    """A user's ledger entries in a period, with opening and closing balance."""

    username: str
    date_from: date | None
    date_to: date | None
    opening: Decimal
    closing: Decimal
    entries: tuple[StatementEntry, ...]


class RequestLogEntry(View):
    """One application of a contract as its users see it."""

    reference: str
    form_type: str | None
    status: str
    received: date


class RequestLog(View):
    """The applications of a user's contract, newest first."""

    username: str
    requests: tuple[RequestLogEntry, ...]


# -- applications, for staff --------------------------------------------------------------------


class DecisionView(View):
    """One staff decision recorded on an application."""

    decision: str
    staff: str
    comment: str | None
    decided_at: datetime


class ApplicationSummary(View):
    """One line of `requests list`: who sent what, where it stands, and its approvals so far."""

    id: int
    reference: str
    form_type: str | None
    status: str
    customer_name: str | None
    reg_no: str | None
    sender: str | None
    created_at: datetime
    updated_at: datetime
    flow_run_id: str | None
    approvals: tuple[str, ...]  # the staff who approved so far, in order
    approvals_needed: int  # 2 for four-eyes request types and unverified senders
    sender_verified: bool  # False: read without proof of the sender (two approvers)


class ApplicationDetail(ApplicationSummary):
    """One application in full (`requests show`): the fields, its issues and its decisions."""

    fields: dict[str, Any]
    warnings: tuple[dict[str, Any], ...]
    errors: tuple[dict[str, Any], ...]
    history: tuple[DecisionView, ...]


def _decisions(uow: UnitOfWork, application_ids: list[int]) -> dict[int, list[Approval]]:
    found: dict[int, list[Approval]] = {i: [] for i in application_ids}
    if not application_ids:
        return found
    rows = uow.session.exec(
        select(Approval)
        .where(col(Approval.application_id).in_(application_ids))
        .order_by(col(Approval.decided_at), col(Approval.id))
    )
    for row in rows:
        found[row.application_id].append(row)
    return found


def _approvals_needed(application: Application) -> int:
    two = needs_two_approvals(application.form_type, sender_verified=application.sender_verified)
    return 2 if two else 1


def _summary_fields(application: Application, approvals: list[Approval]) -> dict[str, Any]:
    customer = application.fields.get("customer_name")
    return {
        "id": application.id or 0,
        "reference": application.reference,
        "form_type": application.form_type,
        "status": str(application.status),
        "customer_name": customer if isinstance(customer, str) else None,
        "reg_no": application.reg_no,
        "sender": application.sender,
        "created_at": aware(application.created_at),
        "updated_at": aware(application.updated_at),
        "flow_run_id": application.flow_run_id,
        "approvals": tuple(a.staff for a in approvals if a.decision == "approve"),
        "approvals_needed": _approvals_needed(application),
        "sender_verified": application.sender_verified,
    }


def list_applications(*, uow: UnitOfWork, pending: bool = False) -> list[ApplicationSummary]:
    """Applications oldest first (only those waiting for staff when `pending`)."""
    with uow:
        query = select(Application).order_by(col(Application.created_at), col(Application.id))
        if pending:
            query = query.where(Application.status == ApplicationStatus.awaiting_approval)
        rows = list(uow.session.exec(query))
        decided = _decisions(uow, [a.id for a in rows if a.id is not None])
        return [ApplicationSummary(**_summary_fields(a, decided[a.id or 0])) for a in rows]


def application_detail(reference: str, *, uow: UnitOfWork) -> ApplicationDetail | None:
    """The application with that reference (case-insensitive) in full, or None."""
    with uow:
        application = uow.session.exec(
            select(Application).where(Application.reference == reference.strip().upper())
        ).first()
        if application is None or application.id is None:
            return None
        approvals = _decisions(uow, [application.id])[application.id]
        return ApplicationDetail(
            **_summary_fields(application, approvals),
            fields=dict(application.fields),
            warnings=tuple(application.warnings),
            errors=tuple(application.errors),
            history=tuple(
                DecisionView(
                    decision=a.decision,
                    staff=a.staff,
                    comment=a.comment,
                    decided_at=aware(a.decided_at),
                )
                for a in approvals
            ),
        )


def applications_to_start(*, uow: UnitOfWork) -> list[int]:
    """Valid applications that no request run carries yet, oldest first."""
    with uow.reading():
        ids = uow.session.exec(
            select(Application.id)
            .where(
                Application.status == ApplicationStatus.received,
                col(Application.flow_run_id).is_(None),
                col(Application.form_type).is_not(None),
            )
            .order_by(col(Application.id))
        ).all()
    return [i for i in ids if i is not None]


class ApplicationRef(View):
    """What names an application outside the books: its reference, form type and run."""

    reference: str
    form_type: str | None
    flow_run_id: str | None


def customer_count(*, uow: UnitOfWork) -> int:
    """How many customers the books hold."""
    with uow:
        return int(uow.session.exec(select(func.count()).select_from(Customer)).one())


# -- the whole picture staff see before deciding ------------------------------------------------


class UserLine(View):
    """One active user of a contract, with the balance on their account."""

    username: str
    name: str
    role: str
    balance: Decimal


class ContractNow(View):
    """A contract as it stands today: status, money, details and active users."""

    number: str
    status: str
    suspended_from: date | None
    suspended_until: date | None
    base_fee: Decimal
    per_user_fee: Decimal
    monthly_amount: Decimal
    details: dict[str, str | None]
    users: tuple[UserLine, ...]


class Change(View):
    """One line of what the request changes: before → after (`changed` marks a real change)."""

    label_lv: str
    label_en: str
    before: str
    after: str
    changed: bool = True


class ReviewView(View):
    """Everything staff need to decide one application, read from the books in one go."""

    reference: str
    form_type: str | None
    status: str
    sender: str | None
    # False: read without proof of the sender (DOCINTAKE_SENDER_VERIFICATION=flag).
    sender_verified: bool
    filename: str | None
    document_sha256: str
    fields: dict[str, Any]
    warnings: tuple[dict[str, Any], ...]
    contract: ContractNow | None
    changes: tuple[Change, ...]
    decisions: tuple[DecisionView, ...]
    approvals_needed: int

    @property
    def approvals_given(self) -> tuple[str, ...]:
        """The staff who approved so far, in order."""
        return tuple(d.staff for d in self.decisions if d.decision == "approve")


def review_view(application_id: int, *, uow: UnitOfWork, today: date) -> ReviewView:
    """The application with its contract now and what it would change, for the review."""
    from handlers.review_changes import changes_for, contract_now

    with uow.reading():
        application = uow.session.get(Application, application_id)
        if application is None:
            raise LookupError(f"application {application_id} does not exist")
        found = contract_now(uow, application, today)
        contract, now = found if found is not None else (None, None)
        changes = changes_for(uow, application, contract, now, today) if contract else ()
        approvals = _decisions(uow, [application_id])[application_id]
        return ReviewView(
            reference=application.reference,
            form_type=application.form_type,
            status=str(application.status),
            sender=application.sender,
            sender_verified=application.sender_verified,
            filename=application.filename,
            document_sha256=application.document_sha256,
            fields=dict(application.fields),
            warnings=tuple(application.warnings),
            contract=now,
            changes=tuple(changes),
            decisions=tuple(
                DecisionView(
                    decision=a.decision,
                    staff=a.staff,
                    comment=a.comment,
                    decided_at=aware(a.decided_at),
                )
                for a in approvals
            ),
            approvals_needed=_approvals_needed(application),
        )
