"""`docintake serve` / `docintake worker`: a local Prefect server (serve only) and the runner.

The tree is: this process → (the `prefect server start` child) + (the runner child,
`python -m flows.serve`), each in its own process group; serve also runs the clients' portal
(uvicorn) in a thread of this process. The runner child imports Prefect with
the API URL already in its environment, serves every deployment, and polls the drop folder.
SIGINT or SIGTERM here stops both children and whatever they started.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from flows.common import load_settings
from flows.prefect_server import PrefectServer, stop_process_group
from flows.processes import (
    AlreadyServingError,
    HomeLock,
    PortTakenError,
    claim_port,
    die_with_parent,
)
from flows.settings import Settings

if TYPE_CHECKING:
    from portal.server import PortalThread

log = logging.getLogger(__name__)


class ServeError(RuntimeError):
    """serve or worker cannot start (no API URL for a worker, a server that never came up)."""


def runner_environment(settings: Settings, api_url: str) -> dict[str, str]:
    """The runner child's environment: the API, the poll interval, result storage under home."""
    env = dict(os.environ)
    env["PREFECT_API_URL"] = api_url
    # The runner takes whole seconds; never round a sub-second setting down to zero.
    env["PREFECT_RUNNER_POLL_FREQUENCY"] = str(max(1, math.ceil(settings.runner_poll_seconds)))
    env["PREFECT_RUNNER_PROCESS_LIMIT"] = str(settings.runner_process_limit)
    # Heartbeats let the server's automation tell a live run from one whose host went away.
    env["PREFECT_FLOWS_HEARTBEAT_FREQUENCY"] = str(settings.heartbeat_seconds)
    # Persisted results hold ids only, but still belong under our home, not ~/.prefect.
    env.setdefault("PREFECT_HOME", str(settings.prefect_home.resolve()))
    env.setdefault(
        "PREFECT_RESULTS_LOCAL_STORAGE_PATH", str((settings.prefect_home / "storage").resolve())
    )
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    env["DOCINTAKE_HOME"] = str(settings.home.resolve())
    return env


def run(settings: Settings, *, start_server: bool, runner_log: Path | None = None) -> int:
    """Run serve (start_server) or worker until a signal or the runner ends; its exit code."""
    api_url = os.environ.get("PREFECT_API_URL")
    if api_url is None and not start_server:
        raise ServeError("a worker needs PREFECT_API_URL (the shared Prefect server)")
    lock = HomeLock(settings.home) if start_server else None
    try:
        if lock is not None:
            lock.acquire()
        return _run(settings, api_url, runner_log, start_server=start_server)
    except (AlreadyServingError, PortTakenError) as exc:
        raise ServeError(str(exc)) from exc
    finally:
        if lock is not None:
            lock.release()


def _run(
    settings: Settings, api_url: str | None, runner_log: Path | None, *, start_server: bool
) -> int:
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # Before anything starts: a stop while the server or the portal comes up still cleans up.
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    server: PrefectServer | None = None
    portal: PortalThread | None = None
    runner: subprocess.Popen[bytes] | None = None
    try:
        if api_url is None:
            stopped = claim_port(settings.prefect_port, settings.prefect_home)
            if stopped is not None:
                log.warning("stopped the previous serve's orphaned Prefect server: %s", stopped)
            server = PrefectServer(settings.prefect_home, settings.prefect_port)
            server.start()
            api_url = server.api_url
            print(f"Prefect UI: {server.ui_url}", flush=True)
        portal = start_portal(settings) if start_server and not stop.is_set() else None
        while not stop.is_set():
            runner = _start_engine(settings, api_url, runner_log)
            started = time.monotonic()
            while not stop.is_set() and runner.poll() is None:
                stop.wait(0.5)
            if stop.is_set() or not _should_restart(runner.returncode, time.monotonic() - started):
                break
            log.warning("engine process exited (%s); starting a fresh one", runner.returncode)
    finally:
        if runner is not None:
            stop_process_group(runner)
        if portal is not None:
            portal.stop()
        if server is not None:
            server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if stop.is_set() or runner is None:
        return 0
    return runner.returncode or 0


# An engine that dies this soon after its start would only die again: give up and say so.
STEADY_SECONDS = 30.0


def _should_restart(exit_code: int | None, ran_seconds: float) -> bool:
    """Start a fresh engine when it asked for one, or when it died after running a while."""
    from flows.engine import restart_reason

    return restart_reason(exit_code) or ran_seconds >= STEADY_SECONDS


def _start_engine(
    settings: Settings, api_url: str, runner_log: Path | None
) -> subprocess.Popen[bytes]:
    """The engine child (`python -m flows.serve`) in its own process group."""
    output = runner_log.open("ab") if runner_log is not None else None
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "flows.serve"],
            env=runner_environment(settings, api_url),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT if output is not None else None,
            start_new_session=True,
            # SIGKILLed serve: the engine drains and exits instead of running on unwatched.
            preexec_fn=die_with_parent(),
        )
    finally:
        if output is not None:
            output.close()


def start_portal(settings: Settings) -> PortalThread | None:
    """The clients' portal in a thread of this process (it stops with serve); None if it failed.

    The schema is brought to head first, here, so the runner child finds it ready.
    """
    from flows.portal_config import portal_config
    from handlers.migrations import upgrade
    from portal.server import PortalThread

    upgrade(settings.resolved_database_url)
    config = portal_config(settings)
    try:
        thread = PortalThread(config).start()
    except (RuntimeError, TimeoutError) as exc:  # the flows matter more than the portal
        log.error("the portal could not start on %s (%s)", config.address, exc)
        return None
    print(f"Portal: {config.address}/login", flush=True)
    return thread


async def _poll_intake(settings: Settings) -> None:
    """Run the intake flow in this process whenever mail or unstarted applications wait.

    Every `housekeeping_seconds` (and once at start) it also restarts interrupted runs and
    sends due mail (flows/recovery.py).
    """
    from flows.intake_flow import applications_to_start, intake
    from flows.recovery import housekeeping

    inbox = settings.inbox_dir
    next_housekeeping = 0.0
    while True:
        if time.monotonic() >= next_housekeeping:
            next_housekeeping = time.monotonic() + settings.housekeeping_seconds
            try:
                await housekeeping(settings)
            except Exception as exc:  # the server or the database away: the next pass retries
                log.error("housekeeping pass failed (%s); retrying", type(exc).__name__)
        try:
            waiting_files = any(inbox.glob("*.eml")) or any(inbox.glob("processing/*.eml"))
            unstarted = await asyncio.to_thread(applications_to_start)
            if waiting_files or unstarted:
                await intake(take_mail=waiting_files)
        except Exception as exc:  # one failed pass must not end the polling; the next one retries
            # The type only: database errors can quote personal data in their message.
            log.error("intake pass failed (%s); retrying", type(exc).__name__)
        await asyncio.sleep(settings.poll_seconds)


def _intake_thread(settings: Settings) -> threading.Thread:
    """The intake poll on a thread and event loop of its own.

    Parsing documents and the intake's database work are blocking: on the engine's loop they
    would hold up every claim and cancellation behind one slow attachment.
    """
    thread = threading.Thread(
        target=asyncio.run, args=(_poll_intake(settings),), name="intake-poll", daemon=True
    )
    thread.start()
    return thread


async def _prepare(settings: Settings) -> list[Any]:
    """Schema, deployments and the automation: what both engines need before serving."""
    from prefect.client.orchestration import get_client

    from flows.deployments import build_deployments
    from flows.intake_wiring import ensure_schema
    from flows.recovery import ensure_unresponsive_run_automation

    ensure_schema(settings)
    deployments = await build_deployments()
    try:
        async with get_client() as client:
            await ensure_unresponsive_run_automation(settings, client)
    except Exception as exc:  # serving matters more; without it only vanished hosts go unnoticed
        log.error("could not set up the unresponsive-run automation (%s)", type(exc).__name__)
    return deployments


async def _capture_decisions(flow_run: Any) -> int:
    """Copy a request run's decisions into our database before it runs (decisions_given.py)."""
    from prefect.client.orchestration import get_client

    from flows.decisions_given import application_of, capture_decisions

    application_id = application_of(flow_run.parameters)
    if application_id is None:
        return 0
    async with get_client() as client:
        return await capture_decisions(client, flow_run.id, application_id)


async def serve_in_process(settings: Settings) -> int:
    """Serve every deployment with the in-process engine until a signal; the exit code.

    `RESTART_EXIT_CODE` asks the parent for a fresh process (memory ceiling or age).
    """
    from flows.deployments import SERVED_FLOWS
    from flows.engine import RESTART_EXIT_CODE, Engine

    flows_by_id = {}
    for deployment in await _prepare(settings):
        flows_by_id[await deployment.aapply()] = SERVED_FLOWS[deployment.flow_name]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    engine = Engine(
        flows_by_id,
        concurrency=settings.engine_concurrency,
        poll_seconds=settings.runner_poll_seconds,
        max_rss_mb=settings.engine_max_rss_mb,
        max_age_seconds=settings.engine_max_age_seconds,
        grace_seconds=settings.engine_grace_seconds,
        before_run=_capture_decisions,
    )
    _intake_thread(settings)
    reason = await engine.run(stop)
    return RESTART_EXIT_CODE if reason is not None else 0


async def serve_deployments(settings: Settings) -> None:
    """Serve every deployment with Prefect's Runner (a process per run) and poll the intake."""
    from prefect.runner import Runner

    runner = Runner(
        name=f"docintake-{socket.gethostname()}-{os.getpid()}".replace("/", "-"),
        query_seconds=max(1, math.ceil(settings.runner_poll_seconds)),
        limit=settings.runner_process_limit,
        # Schedules belong to the deployment, not to one runner: another may still serve it.
        pause_on_shutdown=False,
    )
    for deployment in await _prepare(settings):
        await runner.aadd_deployment(deployment)
    poller = asyncio.create_task(_poll_intake(settings))
    try:
        await runner.start()
    finally:
        poller.cancel()


def main() -> None:
    """The runner child's entry point (`python -m flows.serve`)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # Alembic announces each of its plugins at INFO on every start: noise for ops.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # One line per API call would drown what matters in the serve log.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    settings = load_settings()
    if settings.engine == "subprocess":
        asyncio.run(serve_deployments(settings))
        return
    sys.exit(asyncio.run(serve_in_process(settings)))


if __name__ == "__main__":
    main()
