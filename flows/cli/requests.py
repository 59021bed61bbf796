"""`docintake requests`: List, show, approve and reject applications.

Approve and reject go through `flows.staff.decide`: the same `Decision` input the UI's Resume
dialog sends, with the staff member's one-time code; then they wait for what the run made of it
and print one line (exit codes below). Everything heavy is imported inside the commands.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from handlers.views import ApplicationSummary

app = typer.Typer(help="List, show, approve and reject applications.", no_args_is_help=True)


def _summary(application: ApplicationSummary) -> dict[str, Any]:
    return {
        "reference": application.reference,
        "form_type": application.form_type,
        "status": application.status,
        "customer_name": application.customer_name,
        "reg_no": application.reg_no,
        "sender": application.sender,
        # False: read without proof of the sender (DOCINTAKE_SENDER_VERIFICATION=flag).
        "sender_verified": application.sender_verified,
        "created_at": application.created_at.isoformat(),
        "updated_at": application.updated_at.isoformat(),
        "flow_run_id": application.flow_run_id,
        "approvals": list(application.approvals),
        "approvals_needed": application.approvals_needed,
    }


def age(since: datetime, now: datetime) -> str:
    """How long ago, as staff say it: `45 min`, `5 h`, `3 d`."""
    minutes = max(0, int((now - since).total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h"
    return f"{minutes // (24 * 60)} d"


def status_text(application: ApplicationSummary) -> str:
    """The status in a narrow column: `waiting`, with four-eyes progress (`waiting 1/2`)."""
    if application.status != "awaiting_approval":
        return application.status
    if application.approvals_needed > 1:
        return f"waiting {len(application.approvals)}/{application.approvals_needed}"
    return "waiting"


@app.command("list")
def list_requests(
    pending: Annotated[
        bool, typer.Option("--pending", help="Only those waiting for staff.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON for programs.")] = False,
) -> None:
    """List applications, oldest first: reference, sender, form, status, age."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from flows.common import load_settings, uow_factory
    from handlers.views import list_applications
    from intake.sanitize import clean_value

    rows = list_applications(uow=uow_factory(load_settings()), pending=pending)
    if as_json:
        # Client text is cleaned for the terminal: a stray control character or lone
        # surrogate in old rows must not crash the list for everyone.
        listed = [clean_value(_summary(a)) for a in rows]
        typer.echo(json.dumps(listed, ensure_ascii=False, indent=2))
        return
    now = datetime.now(UTC)
    # The reference never wraps (staff copy it into approve); the other columns wrap instead.
    table = Table("Reference", "Sender", "Form", "Status", "Age")
    table.columns[0].no_wrap = True
    table.columns[0].min_width = 15
    for column in table.columns[1:]:
        column.overflow = "fold"
    for row in rows:
        sender = clean_value(row.sender or "—")
        table.add_row(
            row.reference,
            escape(sender if row.sender_verified else f"{sender} (not verified)"),
            row.form_type or "?",
            status_text(row),
            age(row.created_at, now),
        )
    Console().print(table)


@app.command("show")
def show_request(
    reference: Annotated[str, typer.Argument(help="LUR-YYYY-NNNNNN")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON for programs.")] = False,
) -> None:
    """Show one application: the parsed fields, warnings, errors and its history."""
    import asyncio

    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from flows.common import load_settings, uow_factory
    from flows.staff import api_url, flow_run_state
    from handlers.threads import client_answers
    from handlers.views import application_detail
    from intake.sanitize import clean_value

    settings = load_settings()
    application = application_detail(reference, uow=uow_factory(settings))
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
        for a in application.history
    ]
    state: str | None = None
    if application.flow_run_id:
        try:
            state = asyncio.run(flow_run_state(api_url(settings), application.flow_run_id))
        except Exception as exc:  # the books still answer when Prefect is down
            state = f"unknown ({type(exc).__name__})"
    data: dict[str, Any] = clean_value(
        {
            **_summary(application),
            "flow_run_state": state,
            "fields": application.fields,
            "warnings": list(application.warnings),
            "errors": list(application.errors),
            "history": history,
            "client_answers": [
                {
                    "received_at": a.received_at.isoformat(),
                    "from": a.from_addr,
                    "subject": a.subject,
                    "text": a.text,
                }
                for a in client_answers(application.id, uow=uow_factory(settings))
            ],
        }
    )
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    console = Console()
    console.print(
        f"[bold]{application.reference}[/bold] {application.form_type} — {application.status}",
        highlight=False,
    )
    unverified = "" if application.sender_verified else " (sender not verified: two approvers)"
    console.print(f"Sender: {escape(data['sender'] or '—')}{unverified}  Flow run: {state or '—'}")
    if application.approvals_needed > 1:
        given = ", ".join(application.approvals) or "none yet"
        console.print(f"Needs two approvals: {len(application.approvals)} of 2 given ({given})")
    fields = Table("Field", "Value")
    for key, value in data["fields"].items():
        fields.add_row(escape(key), escape(json.dumps(value, ensure_ascii=False)))
    console.print(fields)
    for kind in ("errors", "warnings"):
        for issue in data[kind]:
            text = f"{issue.get('message_lv')} / {issue.get('message_en')}"
            console.print(f"{kind[:-1]}: {escape(text)}")
    for entry in application.history:
        console.print(f"{entry.decided_at:%Y-%m-%d %H:%M} {entry.decision} by {entry.staff}")
    for answer in data["client_answers"]:
        console.print(
            f"Klienta atbilde / Client's answer {answer['received_at'][:16]}"
            f" from {escape(answer['from'])} — {escape(answer['subject'] or '')}"
        )
        console.print(escape(answer["text"]), highlight=False)


# Exit codes of approve/reject: 0 the decision stood; 1 refused (by the run, or before sending:
# staff not enrolled, run not waiting), or applying it failed; 2 it could not be sent (no
# server, unknown application, not waiting for staff); 3 no outcome in time.
EXIT_REFUSED, EXIT_NOT_SENT, EXIT_NO_OUTCOME = 1, 2, 3


def _code_or_prompt(code: str | None) -> str:
    if code is not None:
        return code
    if not sys.stdin.isatty():
        raise typer.BadParameter("give --code: there is no terminal to ask on", param_hint="--code")
    return str(typer.prompt("Vienreizējais kods / one-time code"))


def _decide_or_exit(
    reference: str, decision: str, staff: str, code: str | None, comment: str, *, wait: bool
) -> None:
    from flows.staff import DecisionError, ResumeRefusedError, decide, precheck

    try:
        # Said before the code is asked for: a typed code must not go to waste.
        precheck(reference, staff)
        secret = _code_or_prompt(code)
        outcome = decide(
            reference,
            decision=decision,
            staff=staff,
            code=secret,
            comment=comment,
            wait_seconds=None if wait else 0,
        )
    except ResumeRefusedError as exc:
        typer.echo(f"{reference}: refused: {exc}", err=True)
        raise typer.Exit(EXIT_REFUSED) from None
    except DecisionError as exc:
        typer.echo(f"{reference}: not sent: {exc}", err=True)
        raise typer.Exit(EXIT_NOT_SENT) from None
    line = f"{outcome.reference}: {outcome.kind}: {outcome.message}"
    if outcome.accepted:
        typer.echo(line)
        return
    typer.echo(line, err=True)
    raise typer.Exit(EXIT_NO_OUTCOME if outcome.kind == "timeout" else EXIT_REFUSED)


StaffOption = Annotated[
    str, typer.Option("--staff", help="Your username (`docintake staff list`).")
]
CodeOption = Annotated[
    str | None,
    typer.Option("--code", help="One-time code from your app; asked for when not given."),
]
NoWaitOption = Annotated[
    bool, typer.Option("--no-wait", help="Return once sent; do not wait for the outcome.")
]


@app.command("approve")
def approve(
    reference: Annotated[str, typer.Argument(help="LUR-YYYY-NNNNNN")],
    staff: StaffOption,
    code: CodeOption = None,
    comment: Annotated[str, typer.Option("--comment", help="Kept with the decision.")] = "",
    no_wait: NoWaitOption = False,
) -> None:
    """Approve a waiting application; prints applied, waiting for a second approver, or why not.

    Exit 0: the approval stood; 1: refused (the reason is printed) or applying failed; 2: not
    sent (no server, not waiting); 3: no outcome within DOCINTAKE_DECISION_WAIT_SECONDS.
    """
    _decide_or_exit(reference, "approve", staff, code, comment, wait=not no_wait)


@app.command("reject")
def reject(
    reference: Annotated[str, typer.Argument(help="LUR-YYYY-NNNNNN")],
    staff: StaffOption,
    comment: Annotated[str, typer.Option("--comment", help="Why; sent to the client.")],
    code: CodeOption = None,
    no_wait: NoWaitOption = False,
) -> None:
    """Reject a waiting application; the comment goes to the client. Exit codes as approve."""
    _decide_or_exit(reference, "reject", staff, code, comment, wait=not no_wait)
