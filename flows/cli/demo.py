"""`docintake demo`: Seed a demo database and send sample e-mails."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

if TYPE_CHECKING:
    from flows.demo import SampleMail
    from flows.settings import Settings
    from handlers.books import ImportReport
    from handlers.staff import Enrolment
    from handlers.views import ApplicationSummary

app = typer.Typer(help="Seed a demo database and send sample e-mails.", no_args_is_help=True)
console = Console()

# How long `demo run` watches for the sample runs to reach staff before it stops watching.
ANNOUNCE_TIMEOUT_SECONDS = 300.0


def upgrade_database(settings: Settings) -> None:
    """Bring the accounts database to the newest schema (`docintake db upgrade`)."""
    from handlers.migrations import upgrade

    with console.status("Upgrading the accounts database…"):
        upgrade(settings.resolved_database_url)


def seed_books(settings: Settings) -> ImportReport:
    """Import the demo books with a progress bar; the import's report."""
    from flows import demo
    from flows.cli.books import StepBars, progress_bars
    from flows.common import uow_factory

    with progress_bars(console) as progress:
        bars = StepBars(progress, prefix="Demo books: ")
        return demo.seed(uow=uow_factory(settings), today=date.today(), progress=bars)


def _report_seed(report: ImportReport) -> None:
    if report.problems:
        for problem in report.problems:
            console.print(f"[red]{problem.message_en}[/red]")
        raise typer.Exit(1)
    if not report.changes:
        console.print("Demo books already in place; nothing changed.")
        return
    created = ", ".join(f"{n} {kind}" for kind, n in sorted(report.created.items()))
    console.print(f"Demo books imported: {created}.")


def send_samples(settings: Settings, *, batch: str) -> list[SampleMail]:
    """Drop the sample e-mails into the inbox; the mails dropped."""
    from flows import demo

    mails = demo.sample_mails(today=date.today(), batch=batch)
    demo.drop_mails(settings.inbox_dir, mails)
    for mail in mails:
        mark = "[green]✓[/green]" if mail.valid else "[yellow]✗ (bad on purpose)[/yellow]"
        console.print(f"  {mark} {mail.name}")
    console.print(f"{len(mails)} e-mails dropped into {settings.inbox_dir.resolve()}/")
    return mails


# The two demo staff: four-eyes requests need both.
DEMO_STAFF = (
    ("ilze", "Ilze Kalniņa", "ilze.kalnina@example.lv"),
    ("maris", "Māris Ozols", "maris.ozols@example.lv"),
)


def enrol_demo_staff(settings: Settings) -> list[Enrolment | None]:
    """Enrol the demo staff (once); per staff member the new enrolment, None if enrolled before."""
    from flows.common import staff_key, uow_factory
    from handlers.staff import EnrolStaff, StaffError, enrol_staff

    enrolled: list[Enrolment | None] = []
    for username, name, email in DEMO_STAFF:
        cmd = EnrolStaff(username=username, full_name=name, email=email)
        try:
            enrolled.append(enrol_staff(cmd, uow=uow_factory(settings), key=staff_key(settings)))
        except StaffError:
            enrolled.append(None)
    return enrolled


def show_demo_staff(enrolled: list[Enrolment | None]) -> None:
    """Print how to get the demo staff's one-time codes (or that they were enrolled before)."""
    for (username, name, _email), enrolment in zip(DEMO_STAFF, enrolled, strict=True):
        if enrolment is None:
            console.print(
                f"Staff [bold]{username}[/bold] already enrolled "
                f"(`docintake staff reset {username}` shows a new secret)."
            )
            continue
        secret = enrolment.secret
        console.print(
            f"Staff [bold]{username}[/bold] ({name}) enrolled. Add to an authenticator app:\n"
            f"  {enrolment.otpauth_uri}\n"
            "  or print the current code (demo only):\n"
            f"  {sys.executable} -c \"import pyotp; print(pyotp.TOTP('{secret}').now())\"",
            highlight=False,
            soft_wrap=True,
        )


@app.command("seed")
def seed(
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help='Print only {"portal_users": [...], "staff": [...]}: demo logins to try the'
            " portal, and the otpauth URIs of the staff enrolled now.",
        ),
    ] = False,
) -> None:
    """Import the demo books (three customers, contracts, users) and enrol two staff."""
    from flows import demo
    from flows.common import load_settings, uow_factory

    settings = load_settings()
    if as_json:
        from handlers.migrations import upgrade

        upgrade(settings.resolved_database_url)
        report = demo.seed(uow=uow_factory(settings), today=date.today())
        if report.problems:
            for problem in report.problems:
                typer.echo(problem.message_en, err=True)
            raise typer.Exit(1)
        users = demo.portal_users(uow=uow_factory(settings))
        staff = [
            {"username": e.username, "otpauth_uri": e.otpauth_uri}
            for e in enrol_demo_staff(settings)
            if e is not None
        ]
        typer.echo(json.dumps({"portal_users": users, "staff": staff}, ensure_ascii=False))
        return
    upgrade_database(settings)
    _report_seed(seed_books(settings))
    show_demo_staff(enrol_demo_staff(settings))
    console.print(portal_guide(settings, demo.portal_users(uow=uow_factory(settings))))


def portal_guide(settings: Settings, users: list[dict[str, str]]) -> str:
    """Where the portal is and the demo logins to try it with."""
    from flows.portal_config import portal_config

    lines = [f"[bold]Clients' portal:[/bold] {portal_config(settings).address}/login  (try:)"]
    lines += [f"  {u['role']}: {u['username']}  /  {u['password']}" for u in users]
    return "\n".join(lines)


@app.command("send")
def send(
    batch: Annotated[
        str, typer.Option(help="Another value sends the samples again as new e-mails.")
    ] = "1",
) -> None:
    """Drop one filled sample e-mail per request type, and one bad one, into the inbox."""
    from flows.common import load_settings

    send_samples(load_settings(), batch=batch)


def _ui_url(settings: Settings) -> str:
    from flows.staff import api_url

    return api_url(settings).removesuffix("/").removesuffix("/api")


def guide(settings: Settings) -> str:
    """Where to look once the demo runs: the UI, the CLI commands and the replies."""
    from flows.deployments import FOUR_EYES

    ui = _ui_url(settings)
    outbox = settings.outbox_dir.resolve()
    four_eyes = " and ".join(sorted(FOUR_EYES))
    return "\n".join(
        [
            f"[bold]Prefect UI:[/bold] {ui}  (Runs → the runs in state [i]Suspended[/i])",
            "",
            "[bold]Approve in the UI:[/bold] open a suspended run → Resume → decision, you",
            "(ilze or maris), your one-time code, a comment (required to reject) → Submit.",
            f"{four_eyes} need a second approval by the other staff member.",
            "",
            "[bold]Or from another terminal:[/bold]",
            "  docintake requests list --pending",
            "  docintake requests show REF",
            "  docintake requests approve REF --staff USERNAME   (asks for the code)",
            '  docintake requests reject REF --staff USERNAME --comment "why"',
            "",
            f"[bold]Replies to clients land in:[/bold] {outbox}/ (.eml files)",
            f"[bold]Sender verification:[/bold] {settings.verification_level} (the demo's"
            " mail has no mail server to vouch for it; production uses require)",
            "[bold]Stop:[/bold] Ctrl+C",
        ]
    )


def _application_rows(settings: Settings) -> list[ApplicationSummary]:
    from flows.common import uow_factory
    from handlers.views import list_applications

    return list_applications(uow=uow_factory(settings))


def announce_pending(settings: Settings, *, expected: int, stop: threading.Event) -> None:
    """Print the runs waiting for approval once the samples reached staff (or time ran out)."""
    from sqlalchemy.exc import SQLAlchemyError

    deadline = time.monotonic() + ANNOUNCE_TIMEOUT_SECONDS
    rows: list[ApplicationSummary] = []
    waiting: list[ApplicationSummary] = []
    while not stop.wait(2.0):
        # A busy database only delays the announcement to the next look.
        with contextlib.suppress(SQLAlchemyError):
            rows = _application_rows(settings)
        waiting = [a for a in rows if a.status == "awaiting_approval"]
        if len(waiting) >= expected or time.monotonic() > deadline:
            break
    if stop.is_set():
        return
    table = Table("Reference", "Form", "Customer", "Status", title="Applications")
    for application in rows:
        table.add_row(
            application.reference,
            application.form_type or "?",
            application.customer_name or "",
            application.status,
        )
    console.print(table)
    if waiting:
        console.print(
            f"{len(waiting)} waiting for approval, e.g. "
            f"[bold]docintake requests approve {waiting[0].reference} --staff ilze[/bold]"
        )


@app.command("run")
def run() -> None:
    """Upgrade the database, seed it if empty, send the samples, then serve with the UI."""
    from flows import demo
    from flows.common import load_settings, uow_factory
    from flows.serve import ServeError
    from flows.serve import run as serve

    # The sample mail comes from our own hands, with no mail server to vouch for its sender:
    # the demo believes the From address unless told otherwise (the children inherit this).
    os.environ.setdefault("DOCINTAKE_SENDER_VERIFICATION", "off")
    settings = load_settings()
    upgrade_database(settings)
    mails: list[demo.SampleMail] = []
    if demo.books_empty(uow=uow_factory(settings)):
        _report_seed(seed_books(settings))
        show_demo_staff(enrol_demo_staff(settings))
        # Only a fresh demo gets the samples: a message is a duplicate only when its bytes
        # match, and rendered forms differ by their time stamps, so a second send would file
        # every request again (`docintake demo send --batch 2` does that on purpose).
        mails = send_samples(settings, batch="1")
    else:
        console.print("The accounts database already has customers; not seeding or sending.")
    # A plain-http demo on loopback: a browser that keeps Secure cookies to HTTPS still signs in.
    settings = settings.model_copy(update={"portal_secure_cookies": False})
    portal = portal_guide(settings, demo.portal_users(uow=uow_factory(settings)))
    console.print(Panel(guide(settings) + "\n\n" + portal, title="docintake demo", expand=False))
    console.print("Starting the Prefect server and the runner (about 10 s)…")
    stop = threading.Event()
    watcher = threading.Thread(
        target=announce_pending,
        args=(settings,),
        kwargs={"expected": sum(m.valid for m in mails), "stop": stop},
        daemon=True,
    )
    watcher.start()
    try:
        code = serve(settings, start_server=True)
    except ServeError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    finally:
        stop.set()
    raise typer.Exit(code)
