"""Staff decisions on applications: the approval rows, the status they set, the flow run.

Plain functions over a UnitOfWork; the flows call them from tasks. No Prefect here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import select

from handlers import senders
from handlers.db import UnitOfWork
from handlers.models import Application, ApplicationStatus, Approval, OutboxMessage, utcnow
from handlers.outbox import enqueue
from handlers.threads import thread_of_application
from handlers.views import ApplicationRef

# A staff decision may only move an application that is still on its way to the books.
_OPEN = {
    ApplicationStatus.received,
    ApplicationStatus.awaiting_approval,
    ApplicationStatus.approved,
}


class ApplicationNotFoundError(LookupError):
    """No application has that id or reference."""


def _application(uow: UnitOfWork, application_id: int) -> Application:
    application = uow.session.get(Application, application_id)
    if application is None:
        raise ApplicationNotFoundError(application_id)
    return application


def get_application(application_id: int, *, uow: UnitOfWork) -> Application | None:
    """The application with that id, readable after the unit of work closes, or None."""
    with uow.reading():
        application = uow.session.get(Application, application_id)
        if application is not None:
            # Detached before the closing rollback would expire its attributes.
            uow.session.expunge(application)
        return application


def find_application(reference: str, *, uow: UnitOfWork) -> Application | None:
    """The application with that reference number (case-insensitive), or None; detached."""
    with uow.reading():
        application = uow.session.exec(
            select(Application).where(Application.reference == reference.strip().upper())
        ).first()
        if application is not None:
            uow.session.expunge(application)
        return application


def application_of_run(flow_run_id: str, *, uow: UnitOfWork) -> Application | None:
    """The application a flow run carries, or None; detached."""
    with uow.reading():
        application = uow.session.exec(
            select(Application).where(Application.flow_run_id == flow_run_id)
        ).first()
        if application is not None:
            uow.session.expunge(application)
        return application


def attach_flow_run(application_id: int, flow_run_id: str, *, uow: UnitOfWork) -> None:
    """Remember which flow run carries the application (set once, by the intake flow)."""
    with uow:
        application = _application(uow, application_id)
        if application.flow_run_id != flow_run_id:
            application.flow_run_id = flow_run_id
            application.updated_at = utcnow()
            uow.session.add(application)
            uow.commit()


def record_check(
    application_id: int,
    *,
    uow: UnitOfWork,
    errors: Sequence[dict[str, Any]],
    warnings: Sequence[dict[str, Any]],
) -> None:
    """Store what the check against the books found beside the document's own issues."""
    with uow:
        application = _application(uow, application_id)
        known_errors = list(application.errors)
        known_warnings = list(application.warnings)
        application.errors = known_errors + [e for e in errors if e not in known_errors]
        application.warnings = known_warnings + [w for w in warnings if w not in known_warnings]
        application.updated_at = utcnow()
        uow.session.add(application)
        uow.commit()


def mark_awaiting_approval(application_id: int, *, uow: UnitOfWork, flow_run_id: str) -> None:
    """The application now waits for staff; the flow run that waits is stored with it."""
    with uow:
        application = _application(uow, application_id)
        if application.status == ApplicationStatus.received:
            application.status = ApplicationStatus.awaiting_approval
            application.updated_at = utcnow()
        application.flow_run_id = flow_run_id
        uow.session.add(application)
        uow.commit()


def approvals_for(application_id: int, *, uow: UnitOfWork) -> list[Approval]:
    """Every decision recorded on the application, oldest first; detached."""
    with uow.reading():
        approvals = list(
            uow.session.exec(
                select(Approval)
                .where(Approval.application_id == application_id)
                .order_by(Approval.decided_at, Approval.id)  # type: ignore[arg-type]
            )
        )
        for approval in approvals:
            uow.session.expunge(approval)
        return approvals


def record_decision(
    application_id: int,
    *,
    uow: UnitOfWork,
    decision: str,
    staff: str,
    comment: str | None,
    final: bool,
) -> Approval:
    """Write one staff decision; `final` approvals set `approved`, a reject sets `rejected`.

    Idempotent: the same decision by the same person is recorded once, so a retried task
    never doubles it.
    """
    if decision not in {"approve", "reject"}:
        raise ValueError(f"unknown decision {decision!r}")
    with uow:
        application = _application(uow, application_id)
        existing = uow.session.exec(
            select(Approval).where(
                Approval.application_id == application_id,
                Approval.decision == decision,
                Approval.staff == staff,
            )
        ).first()
        if existing is not None:
            # Detached before the closing rollback would expire its attributes.
            uow.session.expunge(existing)
            return existing
        approval = Approval(
            application_id=application_id, decision=decision, staff=staff, comment=comment
        )
        uow.session.add(approval)
        # A first of two approvals leaves the status (and its waiting time) alone.
        if application.status in _OPEN and (decision == "reject" or final):
            application.status = (
                ApplicationStatus.rejected if decision == "reject" else ApplicationStatus.approved
            )
            application.updated_at = utcnow()
            uow.session.add(application)
        uow.session.flush()
        uow.commit()
        return approval


def _recipients(application: Application, uow: UnitOfWork) -> tuple[str | None, list[str]]:
    """The client's reply addresses (handlers.senders.reply_addresses): main, then copies."""
    addresses = senders.reply_addresses(application, uow)
    return (addresses[0], list(addresses[1:])) if addresses else (None, [])


def _tell_client(
    uow: UnitOfWork,
    application: Application,
    template: str,
    titles: tuple[str, str],
    **extra: Any,
) -> None:
    """Queue one reply about the application to the client, in its thread (nobody: nothing)."""
    recipient, cc = _recipients(application, uow)
    if recipient is None:
        return
    enqueue(
        uow.session,
        template=template,
        recipient=recipient,
        cc=cc,
        context={
            "reference": application.reference,
            "form_title_lv": titles[0],
            "form_title_en": titles[1],
            **extra,
        },
        dedupe_key=application.reference,
        application_id=application.id,
        thread=thread_of_application(uow.session, application.id),
    )


def reject_application(
    application_id: int,
    *,
    uow: UnitOfWork,
    comment: str | None,
    titles: tuple[str, str],
    errors: Sequence[dict[str, Any]] = (),
) -> None:
    """Set `rejected` and write the `request_rejected` mail (with the comment or the errors)."""
    with uow:
        application = _application(uow, application_id)
        if application.status in _OPEN:
            application.status = ApplicationStatus.rejected
            application.updated_at = utcnow()
            uow.session.add(application)
        extra: dict[str, Any] = {"comment": comment}
        if errors:
            extra["errors"] = list(errors)
        _tell_client(uow, application, "request_rejected", titles, **extra)
        uow.commit()


def expire_application(application_id: int, *, uow: UnitOfWork, titles: tuple[str, str]) -> bool:
    """Set `expired` and write `request_expired` to the client; False if it was decided already."""
    with uow:
        application = _application(uow, application_id)
        if application.status != ApplicationStatus.awaiting_approval:
            return False
        application.status = ApplicationStatus.expired
        application.updated_at = utcnow()
        uow.session.add(application)
        _tell_client(uow, application, "request_expired", titles)
        uow.commit()
        return True


def remind_staff(
    application_id: int,
    *,
    uow: UnitOfWork,
    recipient: str,
    waiting_days: int,
    runs_url: str,
    titles: tuple[str, str],
) -> ApplicationRef | None:
    """Write one `approval_reminder` to staff; None if already reminded (or no application).

    `runs_url` is the UI's address of flow runs; the run's id is appended to it.
    """
    with uow:
        application = uow.session.get(Application, application_id)
        if application is None:
            return None
        reminded = uow.session.exec(
            select(OutboxMessage.id).where(
                OutboxMessage.dedupe_key == application.reference,
                OutboxMessage.template == "approval_reminder",
            )
        ).first()
        if reminded is not None:
            return None
        enqueue(
            uow.session,
            template="approval_reminder",
            recipient=recipient,
            context={
                "reference": application.reference,
                "form_title_lv": titles[0],
                "form_title_en": titles[1],
                "waiting_days": waiting_days,
                "ui_url": f"{runs_url}{application.flow_run_id}",
            },
            dedupe_key=application.reference,
            application_id=application.id,
        )
        uow.commit()
        return ApplicationRef(
            reference=application.reference,
            form_type=application.form_type,
            flow_run_id=application.flow_run_id,
        )


CANCELLED_BY_STAFF = (
    "Iesniegumu atcēla darbinieks; ja izmaiņas joprojām vajadzīgas, lūdzu, nosūtiet veidlapu "
    "vēlreiz. / Cancelled by staff; if you still need the change, please send the form again."
)


def cancel_application(flow_run_id: str, *, uow: UnitOfWork, titles: tuple[str, str]) -> str | None:
    """End the open application a person cancelled the run of: `cancelled`, the client told once.

    The reference, or None when no open application has that run (already ended: nothing to do).
    """
    with uow:
        application = uow.session.exec(
            select(Application).where(Application.flow_run_id == flow_run_id)
        ).first()
        if application is None or application.status not in _OPEN:
            return None
        application.status = ApplicationStatus.cancelled
        application.updated_at = utcnow()
        uow.session.add(application)
        _tell_client(uow, application, "request_rejected", titles, comment=CANCELLED_BY_STAFF)
        uow.commit()
        return application.reference


def waiting_applications(*, uow: UnitOfWork) -> list[Application]:
    """Every application waiting for a staff decision, oldest first; detached."""
    with uow.reading():
        rows = list(
            uow.session.exec(
                select(Application)
                .where(Application.status == ApplicationStatus.awaiting_approval)
                .order_by(Application.updated_at)  # type: ignore[arg-type]
            )
        )
        for row in rows:
            uow.session.expunge(row)
        return rows


def open_runs(*, uow: UnitOfWork) -> dict[str, str]:
    """Flow run id → reference of every application a request run still carries."""
    with uow.reading():
        rows = uow.session.exec(
            select(Application.flow_run_id, Application.reference).where(
                Application.status.in_(_OPEN),  # type: ignore[attr-defined]
                Application.flow_run_id.is_not(None),  # type: ignore[union-attr]
            )
        ).all()
    return {run_id: reference for run_id, reference in rows if run_id is not None}
