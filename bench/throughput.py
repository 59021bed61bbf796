"""Throughput of the whole path through Prefect: e-mails → waiting runs → approvals → e-mails.

A real local Prefect server and a real serving process (`python -m flows.serve`, as `docintake
serve` runs it), SQLite under a temporary home, mail written to home/outbox. Measures:

1. N e-mails (one filled user_add form each) dropped into the inbox → seconds until every run
   waits for approval (suspended, no process held);
2. memory (RSS) and process count of the server + serving tree with those N runs waiting;
3. all N approved through the API → seconds until every credentials/confirmation e-mail left,
   and the median approval → e-mail latency;
4. the floor: the same N e-mails through the same intake, checks, handlers and delivery in
   one process with no Prefect, phase by phase, and the ratios (whole path and each phase);
5. what the staff code check adds to an approval: `verify_decision` (stored-verdict lookup,
   staff row, decrypting the secret, TOTP comparison, verdict row, commit) per call, beside
   the approval's own `record_decision` write as the floor, on the same SQLite database.

Every approval is made by its own enrolled bench staff member with their current code (a code
works once per person, so one person could not approve hundreds within 30 seconds).

    .venv/bin/python bench/throughput.py            # 200 e-mails
    .venv/bin/python bench/throughput.py --n 1000   # the 1,000-waiting memory figure (slow)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from email.message import EmailMessage
from email.utils import make_msgid
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID

_ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [str(_ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != _ROOT / "bench"]

import pyotp  # noqa: E402
from prefect.client.orchestration import PrefectClient  # noqa: E402
from sqlmodel import select  # noqa: E402
from stdnum.lv import pvn  # noqa: E402

from flows.delivery import deliver_pending, transport_for  # noqa: E402
from flows.prefect_server import PrefectServer, free_port, stop_process_group  # noqa: E402
from flows.processes import die_with_parent  # noqa: E402
from flows.serve import runner_environment  # noqa: E402
from flows.settings import Settings  # noqa: E402
from forms import render_form  # noqa: E402
from handlers import decisions  # noqa: E402
from handlers.checks import check_application  # noqa: E402
from handlers.db import UnitOfWork, create_all, make_engine  # noqa: E402
from handlers.models import (  # noqa: E402
    Application,
    ApplicationStatus,
    AuthorizedPerson,
    Contract,
    Customer,
    CustomerDetails,
    InboundMessage,
    MessageStatus,
    OutboxMessage,
    OutboxStatus,
)
from handlers.operations import apply_application  # noqa: E402
from handlers.staff import (  # noqa: E402
    DecisionAttempt,
    EnrolStaff,
    enrol_staff,
    new_key,
    verify_decision,
)
from intake.pipeline import process_message  # noqa: E402
from intake.senders import Trust, Verification  # noqa: E402
from intake.sources.dropdir import deliver  # noqa: E402

TODAY = date.today()
# The receiving MTA's authserv-id: the bench's mail arrives verified by it, as production mail
# does (sender_verification "require" with this id trusted), so the sender check is measured too.
MX_AUTHSERV_ID = "mx.bench.lv"
TRUST = Trust(level=Verification.require, trusted_authserv_ids=(MX_AUTHSERV_ID,))


def reg_no(seed: int) -> str:
    """A valid legal-entity registration number."""
    for n in range(seed, seed + 1000):
        prefix = f"4{n:09d}"
        for last in range(10):
            if pvn.is_valid(prefix + str(last)):
                return prefix + str(last)
    raise RuntimeError("no reg_no")


def seed(engine: Any, n: int) -> list[tuple[str, str, str]]:
    """N customers with a contract each; (reg_no, contract_no, authorized e-mail) per contract."""
    create_all(engine)
    out = []
    with UnitOfWork(engine) as uow:
        for i in range(n):
            number = reg_no(3_000_000 + i * 20)
            customer = Customer(reg_no=number)
            uow.session.add(customer)
            uow.session.flush()
            assert customer.id is not None
            uow.session.add(
                CustomerDetails(
                    customer_id=customer.id, valid_from=date(2020, 1, 1), name=f"SIA B{i}"
                )
            )
            contract = Contract(
                number=f"B-{i}",
                customer_id=customer.id,
                base_fee=Decimal("100.00"),
                per_user_fee=Decimal("10.00"),
            )
            uow.session.add(contract)
            uow.session.flush()
            assert contract.id is not None
            email = f"valde{i}@bench.lv"
            uow.session.add(
                AuthorizedPerson(contract_id=contract.id, name="Jānis Bērziņš", email=email)
            )
            out.append((number, contract.number, email))
        uow.commit()
    return out


def message(i: int, books: tuple[str, str, str]) -> bytes:
    """An e-mail carrying a filled user_add form for contract i."""
    number, contract_no, email = books
    values = {
        "customer_name": f"SIA B{i}",
        "reg_no": number,
        "contract_no": contract_no,
        "submitter_name": "Jānis Bērziņš",
        "submitter_email": email,
        "signed_date": TODAY.isoformat(),
        "users": [
            {
                "first_name": "Pēteris",
                "last_name": "Liepa",
                "personal_code": None,
                "position": None,
                "email": f"user{i}@bench.lv",
                "phone": None,
            }
        ],
    }
    mail = EmailMessage()
    mail["From"] = email
    mail["To"] = "pieteikumi@example.lv"
    mail["Subject"] = "Iesniegums"
    mail["Message-ID"] = make_msgid(domain="bench.lv")
    mail.set_content("Pielikumā iesniegums.")
    mail.add_attachment(
        render_form("user_add", "docx", values),
        maintype="application",
        subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
        filename="iesniegums.docx",
    )
    stamp = f"{MX_AUTHSERV_ID}; dkim=pass header.d=bench.lv; dmarc=pass header.from=bench.lv"
    return f"Authentication-Results: {stamp}\n".encode() + mail.as_bytes()


def tree_usage(pids: list[int]) -> tuple[int, float]:
    """(process count, total RSS in MB) of the given processes and all their descendants."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(
                    (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
                )
            except (OSError, IndexError, ValueError):
                continue
    members = set(pids)
    frontier = set(pids)
    while frontier:
        frontier = {c for c, p in parents.items() if p in frontier} - members
        members |= frontier
    rss_kb = 0
    for pid in members:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss_kb += int(line.split()[1])
        except OSError:
            continue
    return len(members), rss_kb / 1024


def wait(condition: Any, what: str, timeout: float) -> None:
    """Poll until condition() holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.5)


def count_status(engine: Any, status: ApplicationStatus) -> int:
    """Applications in a status."""
    with UnitOfWork(engine) as uow:
        return len(
            uow.session.exec(select(Application.id).where(Application.status == status)).all()
        )


def nothing_refused(engine: Any) -> bool:
    """True while no bench mail was quarantined or rejected; raises otherwise (a broken bench)."""
    with UnitOfWork(engine) as uow:
        refused = uow.session.exec(
            select(InboundMessage.status, InboundMessage.reason).where(
                InboundMessage.status.in_(  # type: ignore[attr-defined]
                    [MessageStatus.quarantined, MessageStatus.rejected]
                )
            )
        ).first()
    if refused is not None:
        raise RuntimeError(f"a bench mail was refused: {refused}")
    return True


async def suspended_count(api_url: str) -> int:
    """Flow runs the server holds as Suspended."""
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateName,
    )

    async with PrefectClient(api_url) as client:
        return await client.count_flow_runs(
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(name=FlowRunFilterStateName(any_=["Suspended"]))
            )
        )


def enrol_bench_staff(engine: Any, n: int, key: str) -> list[tuple[str, str]]:
    """N enrolled staff; (username, secret) each."""
    staff = []
    for i in range(n):
        enrolment = enrol_staff(
            EnrolStaff(username=f"bench{i:04d}", full_name=f"Bench {i}", email="b@example.lv"),
            uow=UnitOfWork(engine),
            key=key,
        )
        staff.append((enrolment.username, enrolment.secret))
    return staff


async def approve_all(
    api_url: str, run_ids: list[str], staff: dict[str, tuple[str, str]]
) -> dict[str, datetime]:
    """Resume every waiting run with an approval by its staff member; when each was sent."""
    sent: dict[str, datetime] = {}
    async with PrefectClient(api_url) as client:
        for run_id in run_ids:
            username, secret = staff[run_id]
            run_input = {
                "decision": "approve",
                "staff": username,
                "code": pyotp.TOTP(secret).now(),
            }
            result = await client.resume_flow_run(UUID(run_id), run_input=run_input)
            if result.status.value != "ACCEPT":
                raise RuntimeError(f"resume refused: {result.details}")
            sent[run_id] = datetime.now(UTC)
    return sent


def latencies(engine: Any, approved_at: dict[str, datetime]) -> list[float]:
    """Seconds from each approval to the last e-mail its run sent."""
    out = []
    with UnitOfWork(engine) as uow:
        for application in uow.session.exec(select(Application)):
            approved = approved_at.get(application.flow_run_id or "")
            sent = [
                m.sent_at if m.sent_at.tzinfo else m.sent_at.replace(tzinfo=UTC)
                for m in uow.session.exec(
                    select(OutboxMessage).where(OutboxMessage.application_id == application.id)
                )
                if m.sent_at is not None
            ]
            if approved is not None and sent:
                out.append((max(sent) - approved).total_seconds())
    return out


def with_prefect(
    n: int,
    root: Path,
    single: int,
    *,
    waiting_only: bool = False,
    poll: float = 0.5,
    prefect_database_url: str | None = None,
    server_workers: int = 0,
) -> dict[str, float]:
    """The measured path through a real server and serving process."""
    home = root / "prefect-run"
    home.mkdir()
    database_url = f"sqlite:///{home / 'docintake.db'}"
    engine = make_engine(database_url)
    contracts = seed(engine, n)
    key = new_key()
    bench_staff = enrol_bench_staff(engine, n, key)
    server, services = start_prefect(home / "prefect", prefect_database_url, server_workers)
    settings = Settings(
        home=home, database_url=database_url, poll_seconds=poll, runner_poll_seconds=poll
    )
    env = runner_environment(settings, server.api_url)
    env.update(
        DOCINTAKE_HOME=str(home),
        DOCINTAKE_DATABASE_URL=database_url,
        DOCINTAKE_POLL_SECONDS=str(poll),
        DOCINTAKE_RUNNER_POLL_SECONDS=str(poll),
        PREFECT_LOGGING_LEVEL="WARNING",
    )
    env.update(DOCINTAKE_STAFF_TOTP_KEY=key, DOCINTAKE_TRUSTED_AUTHSERV_IDS=MX_AUTHSERV_ID)
    env.pop("DOCINTAKE_SMTP_HOST", None)
    log = (home / "serve.log").open("wb")
    serving = subprocess.Popen(
        [sys.executable, "-m", "flows.serve"],
        env=env,
        cwd=_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=die_with_parent(),  # an interrupted bench leaves no engine behind
    )
    figures: dict[str, float] = {}
    try:
        time.sleep(10)  # deployments registered; not part of the figures
        raws = [message(i, books) for i, books in enumerate(contracts)]
        started = time.monotonic()
        for raw in raws:
            deliver(settings.inbox_dir, raw)
        wait(
            lambda: (
                nothing_refused(engine)
                and count_status(engine, ApplicationStatus.awaiting_approval) == n
                and asyncio.run(suspended_count(server.api_url)) == n
            ),
            "all runs waiting",
            timeout=60 * 60,
        )
        figures["to_all_waiting_s"] = time.monotonic() - started
        server_pids = [p.pid for p in (server.process, services) if p is not None]
        processes, rss = tree_usage([*server_pids, serving.pid])
        figures["waiting_runs"] = n
        figures["tree_processes"] = processes
        figures["tree_rss_mb"] = rss
        figures["engine_rss_waiting_mb"] = tree_usage([serving.pid])[1]
        if waiting_only:
            return figures
        with UnitOfWork(engine) as uow:
            run_ids = [
                a.flow_run_id or ""
                for a in uow.session.exec(select(Application).order_by(Application.id))  # type: ignore[arg-type]
            ]
        staff_of = dict(zip(run_ids, bench_staff, strict=True))
        # A few runs are held back and approved one at a time afterwards: the latency a
        # member of staff sees, apart from the queue a bulk approval of everything builds.
        held = run_ids[len(run_ids) - single :] if single else []
        bulk = run_ids[: len(run_ids) - len(held)]
        started = time.monotonic()
        approved_at = asyncio.run(approve_all(server.api_url, bulk, staff_of))

        def all_sent(expected: int) -> bool:
            if count_status(engine, ApplicationStatus.applied) < expected:
                return False
            with UnitOfWork(engine) as uow:
                statuses = uow.session.exec(select(OutboxMessage.status)).all()
            return all(status == OutboxStatus.sent for status in statuses)

        wait(lambda: all_sent(len(bulk)), "all e-mails sent", timeout=60 * 60)
        figures["approve_to_all_sent_s"] = time.monotonic() - started
        # Memory after every run's second phase: flat means no growth per run executed.
        figures["engine_rss_done_mb"] = tree_usage([serving.pid])[1]
        figures["median_approval_to_mail_s"] = statistics.median(latencies(engine, approved_at))
        single_at: dict[str, datetime] = {}
        for number, run_id in enumerate(held, start=1):
            single_at.update(asyncio.run(approve_all(server.api_url, [run_id], staff_of)))
            wait(partial(all_sent, len(bulk) + number), "one e-mail sent", timeout=600)
        if held:
            figures["median_single_approval_to_mail_s"] = statistics.median(
                latencies(engine, single_at)
            )
    finally:
        stop_process_group(serving)
        if services is not None:
            stop_process_group(services)
        server.stop()
        log.close()
        engine.dispose()
    return figures


# Prefect's multi-process API keeps its messaging, event ordering and leases in Redis.
REDIS_SETTINGS = {
    "PREFECT_MESSAGING_BROKER": "prefect_redis.messaging",
    "PREFECT_MESSAGING_CACHE": "prefect_redis.messaging",
    "PREFECT_SERVER_EVENTS_CAUSAL_ORDERING": "prefect_redis.ordering",
    "PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE": "prefect_redis.lease_storage",
    "PREFECT_REDIS_MESSAGING_HOST": "127.0.0.1",
    "PREFECT_REDIS_MESSAGING_PORT": "6379",
    "PREFECT_REDIS_MESSAGING_DB": "7",
}


def start_prefect(
    prefect_home: Path, database_url: str | None, workers: int
) -> tuple[PrefectServer, subprocess.Popen[bytes] | None]:
    """The Prefect server as one process, or (workers > 0) ops' split shape.

    Split: `prefect server start --no-services --workers N` for the API and UI beside one
    `prefect server services start`, sharing PostgreSQL and the machine's Redis (its db 7,
    emptied first).
    """
    if not workers:
        server = PrefectServer(prefect_home, free_port(), database_url=database_url)
        server.start()
        return server, None
    import redis

    redis.Redis(
        host="127.0.0.1", port=6379, db=int(REDIS_SETTINGS["PREFECT_REDIS_MESSAGING_DB"])
    ).flushdb()
    server = PrefectServer(
        prefect_home,
        free_port(),
        database_url=database_url,
        options=("--no-services", "--workers", str(workers)),
        extra_env=REDIS_SETTINGS,
    )
    # The schema first, once: N API processes starting on an empty database race to create it.
    prefect_home.mkdir(parents=True, exist_ok=True)
    subprocess.run(  # noqa: S603 - our own environment's prefect
        [str(Path(sys.executable).parent / "prefect"), "server", "database", "upgrade", "-y"],
        env=server.environment(),
        check=True,
        capture_output=True,
    )
    # Block types are registered when an API process starts, and N of them starting on a fresh
    # database race on it (Prefect 3.9.1: `uq_block_type__slug`, one of them dies): one API
    # process starts and stops first, so the N find them registered.
    first = PrefectServer(
        prefect_home,
        free_port(),
        database_url=database_url,
        options=("--no-services",),
        extra_env=REDIS_SETTINGS,
    )
    first.start()
    first.stop()
    server.start()
    with (prefect_home / "services.log").open("ab") as log:
        services = subprocess.Popen(  # noqa: S603 - our own environment's prefect
            [str(Path(sys.executable).parent / "prefect"), "server", "services", "start"],
            env=server.environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent(),
        )
    return server, services


def floor(n: int, root: Path) -> tuple[float, float]:
    """The same N e-mails with no Prefect, in one process: seconds for each phase.

    First intake and checks up to "awaiting approval" with the acknowledgements sent (what
    `to_waiting_s` covers), then the decisions, the changes to the books and the replies with
    their credentials (what `approvals_to_mail_s` covers).
    """
    home = root / "floor"
    home.mkdir()
    engine = make_engine(f"sqlite:///{home / 'docintake.db'}")
    contracts = seed(engine, n)
    key = new_key()
    bench_staff = iter(enrol_bench_staff(engine, n, key))
    raws = [message(i, books) for i, books in enumerate(contracts)]
    settings = Settings(home=home)

    def uow() -> UnitOfWork:
        return UnitOfWork(engine)

    def send_due() -> None:
        asyncio.run(deliver_pending(uow_factory=uow, transport=transport_for(settings), home=home))

    started = time.monotonic()
    waiting: list[int] = []
    for raw in raws:
        outcome = process_message(
            raw,
            source="dropdir",
            uow_factory=uow,
            home=home,
            today=TODAY,
            staff_email="s@x.lv",
            trust=TRUST,
        )
        if not outcome.valid_application_ids:  # a refused mail would make the floor too cheap
            raise RuntimeError(f"the floor's mail was not accepted: {outcome}")
        for application_id in outcome.valid_application_ids:
            application = decisions.get_application(application_id, uow=uow())
            assert application is not None
            check_application(
                application.form_type or "",
                application.fields,
                uow=uow(),
                sender=application.sender,
                today=TODAY,
            )
            decisions.mark_awaiting_approval(application_id, uow=uow(), flow_run_id="floor")
            waiting.append(application_id)
    send_due()
    to_waiting = time.monotonic() - started
    started = time.monotonic()
    for application_id in waiting:
        username, secret = next(bench_staff)
        verdict = verify_decision(
            DecisionAttempt(
                application_id=application_id,
                flow_run_id="floor",
                pause_key="decision-1-1",
                decision="approve",
                staff=username,
                code=pyotp.TOTP(secret).now(),
            ),
            uow=uow(),
            key=key,
            now=datetime.now(UTC),
        )
        assert verdict.ok, verdict
        decisions.record_decision(
            application_id,
            uow=uow(),
            decision="approve",
            staff=username,
            comment=None,
            final=True,
        )
        apply_application(application_id, uow=uow(), today=TODAY, actor=username)
    send_due()
    approvals = time.monotonic() - started
    engine.dispose()
    return to_waiting, approvals


def _postgres_url() -> Any:
    """A throw-away PostgreSQL database for the Prefect server (asyncpg driver)."""
    from tests.support.databases import fresh_postgres

    return fresh_postgres("docintake_bench_prefect")


def code_check_cost(n: int, root: Path) -> dict[str, float]:
    """Per approval: the code check's seconds, and the approval's own decision write (floor)."""
    home = root / "code-check"
    home.mkdir()
    engine = make_engine(f"sqlite:///{home / 'docintake.db'}")
    contracts = seed(engine, 1)
    key = new_key()
    staff = enrol_bench_staff(engine, n, key)
    with UnitOfWork(engine) as uow:
        application = Application(
            reference="LUR-BENCH-1",
            document_sha256="0" * 64,
            form_type="user_add",
            contract_no=contracts[0][1],
            status=ApplicationStatus.awaiting_approval,
        )
        uow.session.add(application)
        uow.commit()
        assert application.id is not None
        application_id = application.id
    checks: list[float] = []
    writes: list[float] = []
    for username, secret in staff:
        attempt = DecisionAttempt(
            application_id=application_id,
            flow_run_id="bench",
            pause_key="decision-1-1",
            decision="approve",
            staff=username,
            code=pyotp.TOTP(secret).now(),
        )
        started = time.perf_counter()
        verdict = verify_decision(attempt, uow=UnitOfWork(engine), key=key, now=datetime.now(UTC))
        checks.append(time.perf_counter() - started)
        assert verdict.ok, verdict
        started = time.perf_counter()
        decisions.record_decision(
            application_id,
            uow=UnitOfWork(engine),
            decision="approve",
            staff=username,
            comment=None,
            final=False,
        )
        writes.append(time.perf_counter() - started)
    engine.dispose()
    checks.sort()
    return {
        "check_median_ms": statistics.median(checks) * 1000,
        "check_p95_ms": checks[int(len(checks) * 0.95) - 1] * 1000,
        "write_median_ms": statistics.median(writes) * 1000,
    }


def main() -> None:
    """Run both measurements and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="e-mails (and waiting runs)")
    parser.add_argument(
        "--single", type=int, default=10, help="runs approved one at a time at the end"
    )
    parser.add_argument("--poll", type=float, default=0.5, help="engine and intake poll, s")
    parser.add_argument(
        "--prefect-db",
        choices=["sqlite", "postgres"],
        default="sqlite",
        help="the Prefect server's database (postgres: a throw-away one on the machine's server)",
    )
    parser.add_argument(
        "--server-workers",
        type=int,
        default=0,
        help="ops' split shape: the API in N processes (--no-services) beside one services"
        " process, with Redis messaging (needs --prefect-db postgres); 0: one server process",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--keep", action="store_true", help="keep the temporary home")
    parser.add_argument(
        "--code-check-only",
        action="store_true",
        help="only measure what the staff code check adds to an approval (no Prefect)",
    )
    parser.add_argument(
        "--waiting-only",
        action="store_true",
        help="stop once all runs wait: the memory and process count of many waiting runs",
    )
    args = parser.parse_args()
    if args.server_workers and args.prefect_db != "postgres":
        parser.error("--server-workers needs --prefect-db postgres (Prefect refuses SQLite)")
    root = Path(tempfile.mkdtemp(prefix="docintake-throughput-"))
    os.environ.pop("PREFECT_API_URL", None)
    if args.code_check_only:
        try:
            print_code_check(code_check_cost(args.n, root))
        finally:
            shutil.rmtree(root, ignore_errors=True)
        return
    load = os.getloadavg()[0]
    try:
        with contextlib.ExitStack() as stack:
            cost = code_check_cost(args.n, root)
            prefect_url = None
            if args.prefect_db == "postgres":
                url = stack.enter_context(_postgres_url())
                prefect_url = "postgresql+asyncpg://" + url.split("://", 1)[1]
            figures = with_prefect(
                args.n,
                root,
                min(args.single, args.n),
                waiting_only=args.waiting_only,
                poll=args.poll,
                prefect_database_url=prefect_url,
                server_workers=args.server_workers,
            )
        phases = None if args.waiting_only else floor(args.n, root)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    floor_s = sum(phases) if phases else None
    total = figures["to_all_waiting_s"] + figures["approve_to_all_sent_s"] if floor_s else None
    result = {
        "n": args.n,
        "prefect_db": args.prefect_db,
        "server_workers": args.server_workers,
        "poll_s": args.poll,
        "to_waiting_s": round(figures["to_all_waiting_s"], 1),
        "applications_per_s": round(args.n / figures["to_all_waiting_s"], 2),
        "approvals_to_mail_s": round(figures.get("approve_to_all_sent_s", 0.0), 1) or None,
        "floor_s": round(floor_s, 1) if floor_s else None,
        "ratio": round(total / floor_s, 1) if total and floor_s else None,
        # Each phase against its own part of the floor.
        "floor_to_waiting_s": round(phases[0], 1) if phases else None,
        "ratio_to_waiting": round(figures["to_all_waiting_s"] / phases[0], 1) if phases else None,
        "floor_approvals_s": round(phases[1], 1) if phases else None,
        "ratio_approvals": round(figures["approve_to_all_sent_s"] / phases[1], 1)
        if phases
        else None,
        "approval_to_mail_median_s": round(figures["median_single_approval_to_mail_s"], 2)
        if "median_single_approval_to_mail_s" in figures
        else None,
        "bulk_approval_to_mail_median_s": round(figures["median_approval_to_mail_s"], 2)
        if "median_approval_to_mail_s" in figures
        else None,
        "processes": int(figures["tree_processes"]),
        "rss_mb": round(figures["tree_rss_mb"]),
        "engine_rss_waiting_mb": round(figures["engine_rss_waiting_mb"]),
        "engine_rss_done_mb": round(figures["engine_rss_done_mb"])
        if "engine_rss_done_mb" in figures
        else None,
        "load_average_at_start": round(load, 1),
        "code_check_median_ms": round(cost["check_median_ms"], 1),
        "decision_write_median_ms": round(cost["write_median_ms"], 1),
    }
    if args.json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        print(f"{key:32} {value}")
    print_code_check(cost)


def print_code_check(cost: dict[str, float]) -> None:
    """The code check's cost per approval beside the approval's own decision write."""
    print(
        f"staff code check per approval:        {cost['check_median_ms']:.1f} ms median, "
        f"{cost['check_p95_ms']:.1f} ms p95 (budget 50 ms)"
    )
    print(f"floor: recording the decision:        {cost['write_median_ms']:.1f} ms median")
    print(
        f"code check / decision write:          "
        f"{cost['check_median_ms'] / cost['write_median_ms']:.1f}×"
    )


if __name__ == "__main__":
    main()
