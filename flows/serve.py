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
from typing import TYPE_CHECKING

from flows.common import load_settings
from flows.prefect_server import PrefectServer, stop_process_group
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
    server: PrefectServer | None = None
    if api_url is None:
        if not start_server:
            raise ServeError("a worker needs PREFECT_API_URL (the shared Prefect server)")
        server = PrefectServer(settings.prefect_home, settings.prefect_port)
        server.start()
        api_url = server.api_url
        print(f"Prefect UI: {server.ui_url}", flush=True)
    portal = start_portal(settings) if start_server else None
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    runner: subprocess.Popen[bytes] | None = None
    try:
        output = runner_log.open("ab") if runner_log is not None else None
        runner = subprocess.Popen(
            [sys.executable, "-m", "flows.serve"],
            env=runner_environment(settings, api_url),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT if output is not None else None,
            start_new_session=True,
        )
        if output is not None:
            output.close()
        while not stop.is_set() and runner.poll() is None:
            stop.wait(0.5)
    finally:
        if runner is not None:
            stop_process_group(runner)
        if portal is not None:
            portal.stop()
        if server is not None:
            server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0 if stop.is_set() else (runner.returncode or 0)


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


async def serve_deployments(settings: Settings) -> None:
    """Serve every deployment with a short poll interval, and poll the intake, until stopped."""
    from prefect.client.orchestration import get_client
    from prefect.runner import Runner

    from flows.deployments import build_deployments
    from flows.intake_wiring import ensure_schema
    from flows.recovery import ensure_unresponsive_run_automation

    ensure_schema(settings)

    runner = Runner(
        name=f"docintake-{socket.gethostname()}-{os.getpid()}".replace("/", "-"),
        query_seconds=max(1, math.ceil(settings.runner_poll_seconds)),
        limit=settings.runner_process_limit,
        # Schedules belong to the deployment, not to one runner: another may still serve it.
        pause_on_shutdown=False,
    )
    for deployment in await build_deployments():
        await runner.aadd_deployment(deployment)
    try:
        async with get_client() as client:
            await ensure_unresponsive_run_automation(settings, client)
    except Exception as exc:  # serving matters more; without it only vanished hosts go unnoticed
        log.error("could not set up the unresponsive-run automation (%s)", type(exc).__name__)
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
    asyncio.run(serve_deployments(load_settings()))


if __name__ == "__main__":
    main()
