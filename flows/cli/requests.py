"""`docintake requests`: List, show, approve and reject applications.

Approve and reject resume the waiting flow run through the Prefect API with the same `Decision`
input the UI's Resume dialog sends; the server checks it against the input's schema, and a
refused resume is an error with the server's reason.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Annotated, Any
from uuid import UUID

import typer
from rich.console import Console
from rich.table import Table
from sqlmodel import select

from flows.common import load_settings, uow_factory
from flows.settings import Settings
from handlers import decisions
from handlers.models import Application, ApplicationStatus

app = typer.Typer(help="List, show, approve and reject applications.", no_args_is_help=True)
console = Console()


class ResumeRefusedError(RuntimeError):
    """The Prefect server did not resume the run; the message is its reason."""


def api_url(settings: Settings) -> str:
    """The Prefect API: PREFECT_API_URL, else the local server `serve` starts."""
    return os.environ.get("PREFECT_API_URL") or f"http://127.0.0.1:{settings.prefect_port}/api"


def _summary(application: Application) -> dict[str, Any]:
    return {
        "reference": application.reference,
        "form_type": application.form_type,
        "status": str(application.status),
        "customer_name": application.fields.get("customer_name"),
        "reg_no": application.reg_no,
        "sender": application.sender,
        "created_at": application.created_at.isoformat(),
        "updated_at": application.updated_at.isoformat(),
        "flow_run_id": application.flow_run_id,
    }


async def flow_run_state(url: str, flow_run_id: str) -> str | None:
    """The run's state name (`Suspended`, `Running`, …), or None when the server lacks it."""
    from prefect.client.orchestration import PrefectClient
    from prefect.exceptions import ObjectNotFound

    async with PrefectClient(url) as client:
        try:
            run = await client.read_flow_run(UUID(flow_run_id))
        except ObjectNotFound:
            return None
    return run.state.name if run.state is not None else None


# A run that has just suspended writes the form (the input schema) a moment after its state.
SCHEMA_NOT_YET = "Run input schema not found"
SCHEMA_WAIT_SECONDS = 10.0


async def resume_with_decision(url: str, flow_run_id: str, run_input: dict[str, Any]) -> None:
    """Resume a waiting run with a decision; raise ResumeRefusedError with the server's reason."""
    from prefect.client.orchestration import PrefectClient
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.responses import SetStateStatus

    from flows.recovery import interrupted

    deadline = time.monotonic() + SCHEMA_WAIT_SECONDS
    async with PrefectClient(url) as client:
        while True:
            run = await client.read_flow_run(UUID(flow_run_id))
            if interrupted(run.state):
                raise ResumeRefusedError(
                    f"the run was interrupted ({run.state.name if run.state else '?'}); "
                    "docintake restarts it shortly — decide again once it waits"
                )
            if run.state is None or run.state.type != StateType.PAUSED:
                state = run.state.name if run.state is not None else "unknown"
                raise ResumeRefusedError(f"the run is not waiting for a decision (state: {state})")
            result = await client.resume_flow_run(UUID(flow_run_id), run_input=run_input)
            if result.status == SetStateStatus.ACCEPT:
                return
            reason = getattr(result.details, "reason", None) or str(result.status)
            if not reason.startswith(SCHEMA_NOT_YET) or time.monotonic() > deadline:
                raise ResumeRefusedError(reason)
            await asyncio.sleep(0.3)


def decide(
    reference: str,
    *,
    decision: str,
    staff: str,
    comment: str | None,
    settings: Settings | None = None,
) -> Application:
    """Send a staff decision to the run that waits for it; the application decided on."""
    settings = settings or load_settings()
    application = decisions.find_application(reference, uow=uow_factory(settings))
    if application is None:
        raise ResumeRefusedError(f"no application {reference}")
    if application.flow_run_id is None:
        raise ResumeRefusedError(f"{application.reference} has no flow run yet")
    run_input: dict[str, Any] = {"decision": decision, "staff": staff}
    if comment is not None:
        run_input["comment"] = comment
    asyncio.run(resume_with_decision(api_url(settings), application.flow_run_id, run_input))
    return application


@app.command("list")
def list_requests(
    pending: Annotated[
        bool, typer.Option("--pending", help="Only those waiting for staff.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines for programs.")] = False,
) -> None:
    """List applications, newest first."""
    uow = uow_factory(load_settings())
    with uow:
        query = select(Application).order_by(Application.id.desc())  # type: ignore[union-attr]
        if pending:
            query = query.where(Application.status == ApplicationStatus.awaiting_approval)
        rows = [_summary(a) for a in uow.session.exec(query)]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table("Reference", "Form", "Status", "Customer", "Received")
    for row in rows:
        table.add_row(
            row["reference"],
            row["form_type"] or "?",
            row["status"],
            row["customer_name"] or "",
            row["created_at"][:16].replace("T", " "),
        )
    console.print(table)


@app.command("show")
def show_request(
    reference: Annotated[str, typer.Argument(help="LUR-YYYY-NNNNNN")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON for programs.")] = False,
) -> None:
    """Show one application: the parsed fields, warnings, errors and its history."""
    settings = load_settings()
    application = decisions.find_application(reference, uow=uow_factory(settings))
    if application is None:
        typer.echo(f"No application {reference}", err=True)
        raise typer.Exit(1)
    history = [
        {
            "decision": a.decision,
            "staff": a.staff,
            "comment": a.comment,
            "decided_at": a.decided_at.isoformat(),
        }
        for a in decisions.approvals_for(application.id or 0, uow=uow_factory(settings))
    ]
    state: str | None = None
    if application.flow_run_id:
        try:
            state = asyncio.run(flow_run_state(api_url(settings), application.flow_run_id))
        except Exception as exc:  # the books still answer when Prefect is down
            state = f"unknown ({type(exc).__name__})"
    data: dict[str, Any] = {
        **_summary(application),
        "flow_run_state": state,
        "fields": application.fields,
        "warnings": application.warnings,
        "errors": application.errors,
        "history": history,
    }
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    console.print(
        f"[bold]{application.reference}[/bold] {application.form_type} — {data['status']}"
    )
    console.print(f"Sender: {application.sender}  Flow run: {state or '—'}")
    fields = Table("Field", "Value")
    for key, value in application.fields.items():
        fields.add_row(key, json.dumps(value, ensure_ascii=False))
    console.print(fields)
    for kind in ("errors", "warnings"):
        for issue in data[kind]:
            console.print(f"{kind[:-1]}: {issue.get('message_lv')} / {issue.get('message_en')}")
    for entry in history:
        console.print(f"{str(entry['decided_at'])[:16]} {entry['decision']} by {entry['staff']}")


def _decide_or_exit(reference: str, decision: str, staff: str, comment: str | None) -> None:
    try:
        application = decide(reference, decision=decision, staff=staff, comment=comment)
    except ResumeRefusedError as exc:
        typer.echo(f"Refused: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"{application.reference}: {decision} sent; the run resumes within seconds")


@app.command("approve")
def approve(
    reference: Annotated[str, typer.Argument(help="LUR-YYYY-NNNNNN")],
    staff: Annotated[str, typer.Option("--staff", help="Your name (recorded).")],
    comment: Annotated[str | None, typer.Option("--comment")] = None,
) -> None:
    """Approve a waiting application."""
    _decide_or_exit(reference, "approve", staff, comment)


@app.command("reject")
def reject(
    reference: Annotated[str, typer.Argument(help="LUR-YYYY-NNNNNN")],
    staff: Annotated[str, typer.Option("--staff", help="Your name (recorded).")],
    comment: Annotated[str, typer.Option("--comment", help="Sent to the client.")],
) -> None:
    """Reject a waiting application; the comment goes to the client."""
    _decide_or_exit(reference, "reject", staff, comment)
