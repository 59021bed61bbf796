"""The intake flow: take in new mail, then start one request-type run per valid application."""

from __future__ import annotations

import asyncio

from prefect import flow, get_run_logger, task
from prefect.deployments import arun_deployment

from flows.common import load_settings, uow_factory
from flows.markdown import escape_markdown
from flows.request_flow import IO_BACKOFF, IO_RETRIES, deliver_mail
from handlers import decisions, views
from handlers.models import Application

# Request runs the intake starts concurrently. One: on a SQLite Prefect server (the embedded
# default) concurrent run creations abort each other ("database is locked", answered 503) and
# each loser waits 2, 4, 8 s in the client's back-off; one after the other a start takes ~40 ms.
START_AT_ONCE = 1

# Every request-type flow is served under this deployment name: `<form_type>/docintake`.
DEPLOYMENT_NAME = "docintake"


def deployment_for(form_type: str) -> str:
    """The deployment that carries applications of this form type."""
    return f"{form_type}/{DEPLOYMENT_NAME}"


def run_name(application: Application) -> str:
    """A flow-run name a person reads: `user_add · SIA Ozols · LUR-2026-000123`."""
    customer = application.fields.get("customer_name") or application.reg_no or "?"
    # The customer's name is the client's text: inert wherever the name is shown as Markdown.
    return f"{application.form_type} · {escape_markdown(str(customer))} · {application.reference}"


def run_tags(application: Application) -> list[str]:
    """Tags to find a run by: its form type and the customer's registration number."""
    return [tag for tag in (application.form_type, application.reg_no) if tag]


@task(retries=IO_RETRIES, retry_delay_seconds=IO_BACKOFF)
def take_new_mail() -> int:
    """Take in what waits in the drop folder; the number of messages taken."""
    from flows.intake_wiring import message_handler
    from intake.sources.dropdir import process_inbox

    settings = load_settings()
    settings.inbox_dir.mkdir(parents=True, exist_ok=True)
    handle = message_handler(settings, source="dropdir")
    taken = process_inbox(
        settings.inbox_dir, handle=handle, max_message_bytes=settings.max_message_bytes
    )
    return len(taken)


def applications_to_start() -> list[int]:
    """Valid applications that no request run carries yet, oldest first."""
    return views.applications_to_start(uow=uow_factory(load_settings()))


@task(retries=IO_RETRIES, retry_delay_seconds=IO_BACKOFF, persist_result=False)
async def start_request(application_id: int) -> str:
    """Start (once) the request-type run of an application; its flow run id."""
    uow = uow_factory(load_settings())
    application = decisions.get_application(application_id, uow=uow)
    if application is None or application.form_type is None:
        raise LookupError(f"application {application_id} cannot be started")
    # The idempotency key makes a repeated start return the run that exists.
    run = await arun_deployment(
        deployment_for(application.form_type),
        parameters={"application_id": application_id},
        timeout=0,
        idempotency_key=f"application-{application_id}",
        flow_run_name=run_name(application),
        tags=run_tags(application),
        as_subflow=False,
    )
    decisions.attach_flow_run(application_id, str(run.id), uow=uow)
    return str(run.id)


@flow(name="intake", log_prints=False)
async def intake(take_mail: bool = True) -> int:
    """Take in new mail, start a request run for every valid application, send the replies."""
    logger = get_run_logger()
    if take_mail:
        take_new_mail()
    gate = asyncio.Semaphore(START_AT_ONCE)

    async def start(application_id: int) -> None:
        async with gate:
            await start_request(application_id)

    to_start = applications_to_start()
    await asyncio.gather(*(start(application_id) for application_id in to_start))
    started = len(to_start)
    if started:
        logger.info("Started %d request run(s)", started)
    await deliver_mail()
    return started
