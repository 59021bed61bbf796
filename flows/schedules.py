"""Scheduled work: the daily due changes, and reminders and expiry for runs waiting on staff."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID

from prefect import flow, get_run_logger, task
from prefect.client.orchestration import get_client
from prefect.events import emit_event
from prefect.states import Cancelled

from flows.common import load_settings, uow_factory
from flows.request_flow import IO_BACKOFF, IO_RETRIES, deliver_mail
from flows.review import form_titles
from handlers import decisions


def working_days_between(start: datetime, end: datetime) -> int:
    """Whole working days (Monday to Friday) from start to end."""
    days = 0
    day = start.date()
    while day < end.date():
        day += timedelta(days=1)
        if day.weekday() < 5:
            days += 1
    return days


@task(retries=IO_RETRIES, retry_delay_seconds=IO_BACKOFF)
def apply_due(today: date) -> int:
    """Apply what falls due today (suspensions start, ended ones resume); how many changes."""
    from handlers.contracts import apply_due_contract_dates

    results = apply_due_contract_dates(uow=uow_factory(load_settings()), today=today)
    return sum(1 for result in results if result.ok and not result.replayed)


@flow(name="daily", persist_result=False, log_prints=False)
async def daily(today: date | None = None) -> int:
    """Once a day: suspensions that ended resume, dated blocks and fees take effect; mail out."""
    changed = apply_due(today or date.today())
    await deliver_mail()
    return changed


@task(retries=IO_RETRIES, retry_delay_seconds=IO_BACKOFF, persist_result=False)
def remind(application_id: int, waiting_days: int) -> bool:
    """Write one `approval_reminder` to staff and emit its event; False if already reminded."""
    settings = load_settings()
    application = decisions.get_application(application_id, uow=uow_factory(settings))
    if application is None:
        return False
    reminded = decisions.remind_staff(
        application_id,
        uow=uow_factory(settings),
        recipient=settings.staff_email,
        waiting_days=waiting_days,
        runs_url=f"{settings.public_url.rstrip('/')}/runs/flow-run/",
        titles=form_titles(application.form_type),
    )
    if reminded is None:
        return False
    # The event carries the reference and form type only: no personal data leaves for Prefect.
    emit_event(
        event="docintake.approval.reminder",
        resource={
            "prefect.resource.id": f"docintake.application.{reminded.reference}",
            "docintake.form-type": reminded.form_type or "",
        },
        payload={"waiting_working_days": waiting_days},
    )
    return True


@task(retries=IO_RETRIES, retry_delay_seconds=IO_BACKOFF, persist_result=False)
async def expire(application_id: int) -> bool:
    """Expire an application waiting too long: notice to the client, the run cancelled."""
    settings = load_settings()
    uow = uow_factory(settings)
    application = decisions.get_application(application_id, uow=uow)
    if application is None:
        return False
    expired = decisions.expire_application(
        application_id, uow=uow, titles=form_titles(application.form_type)
    )
    if expired and application.flow_run_id:
        async with get_client() as client:
            await client.set_flow_run_state(
                UUID(application.flow_run_id),
                Cancelled(message=f"{application.reference} expired without a decision"),
                force=True,
            )
    return expired


@flow(name="reminders", persist_result=False, log_prints=False)
async def reminders(now: datetime | None = None) -> dict[str, int]:
    """Remind staff of runs waiting 2 working days; expire those waiting 30 days."""
    logger = get_run_logger()
    settings = load_settings()
    moment = now or datetime.now(UTC)
    waiting = [
        (a.id, a.updated_at)
        for a in decisions.waiting_applications(uow=uow_factory(settings))
        if a.id is not None
    ]
    reminded = expired = 0
    for application_id, since in waiting:
        if moment - since >= timedelta(days=settings.expiry_days):
            expired += await expire(application_id)
            continue
        days = working_days_between(since, moment)
        if days >= settings.reminder_working_days:
            reminded += remind(application_id, days)
    if reminded or expired:
        logger.info("Reminded %d, expired %d waiting application(s)", reminded, expired)
        await deliver_mail()
    return {"reminded": reminded, "expired": expired}
