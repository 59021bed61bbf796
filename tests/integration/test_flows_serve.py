"""`docintake serve` and `docintake worker` as ops run them: real processes, real servers."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import PrefectClient

from flows.prefect_server import PrefectServer, free_port, is_healthy, stop_process_group
from handlers.db import create_all, make_engine

pytestmark = pytest.mark.slow
DOCINTAKE = [sys.executable, "-c", "from flows.cli import app; app()"]
# Run from the project root, as the Makefile does; home lives in the test's folder.
ROOT = Path(__file__).resolve().parents[2]


def _children(pid: int) -> set[int]:
    """Every live descendant of pid, read from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # The command name may hold spaces; the fields after its ")" are fixed.
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _environment(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "DOCINTAKE_"))}
    database_url = f"sqlite:///{home / 'docintake.db'}"
    create_all(make_engine(database_url))
    env.update(
        DOCINTAKE_HOME=str(home),
        DOCINTAKE_DATABASE_URL=database_url,
        DOCINTAKE_RUNNER_POLL_SECONDS="1",
        PREFECT_HOME=str(home / "prefect"),
        **extra,
    )
    return env


async def _deployment_count(api_url: str) -> int:
    async with PrefectClient(api_url) as client:
        return len(await client.read_deployments())


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (loopback http)
            return bool(response.status == 200)
    except OSError:
        return False


def _wait(condition: Any, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.5)


def test_serve_starts_a_server_and_sigterm_leaves_no_process(tmp_path: Path) -> None:
    """`docintake serve` brings up the UI, deployments and portal; SIGTERM stops all it made."""
    port = free_port()
    portal_port = free_port()
    portal_login = f"http://127.0.0.1:{portal_port}/login"
    env = _environment(
        tmp_path, DOCINTAKE_PREFECT_PORT=str(port), DOCINTAKE_PORTAL_PORT=str(portal_port)
    )
    api_url = f"http://127.0.0.1:{port}/api"
    serve = subprocess.Popen(
        [*DOCINTAKE, "serve"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "serve.log").open("wb"),
    )
    try:
        _wait(lambda: is_healthy(api_url), timeout=90, what="the local Prefect server")
        _wait(
            lambda: asyncio.run(_deployment_count(api_url)) >= 10,
            timeout=90,
            what="the deployments",
        )
        ui = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/ui-settings").read())
        assert ui["api_url"] == api_url, "the UI talks to this server, not the default port"
        tree = _children(serve.pid)
        assert len(tree) >= 2, "a server and a runner under serve"
        assert (tmp_path / "prefect").is_dir(), "the server keeps its data under home"
        _wait(lambda: _answers(portal_login), timeout=60, what="the portal")
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=60) == 0
        assert not _answers(portal_login), "the portal stops with serve"
        _wait(lambda: not any(_alive(pid) for pid in tree), timeout=30, what="every child to exit")
        assert not is_healthy(api_url)
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()


def test_worker_without_an_api_url_refuses_to_start(tmp_path: Path) -> None:
    """A worker needs the shared server's PREFECT_API_URL and says so."""
    result = subprocess.run(
        [*DOCINTAKE, "worker"],
        env=_environment(tmp_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "PREFECT_API_URL" in result.stderr


def test_worker_against_a_postgresql_backed_prefect_server(tmp_path: Path, pg_url: str) -> None:
    """The production shape: a Prefect server on PostgreSQL and a worker running its flows."""
    database = pg_url.rsplit("/", 1)[1]
    server = PrefectServer(
        tmp_path / "prefect-server",
        free_port(),
        database_url=f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}",
    )
    server.start()
    worker: subprocess.Popen[bytes] | None = None
    try:
        env = _environment(tmp_path, PREFECT_API_URL=server.api_url)
        worker = subprocess.Popen(
            [*DOCINTAKE, "worker"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / "worker.log").open("wb"),
            start_new_session=True,
        )
        _wait(
            lambda: asyncio.run(_deployment_count(server.api_url)) >= 10,
            timeout=90,
            what="the worker's deployments",
        )
        state = asyncio.run(_run_reminders(server.api_url))
        assert state == "Completed"
    finally:
        if worker is not None:
            stop_process_group(worker)
        server.stop()


async def _run_reminders(api_url: str) -> str:
    """Run the reminders deployment on the server and wait for its final state name."""
    async with PrefectClient(api_url) as client:
        deployment = await client.read_deployment_by_name("reminders/docintake")
        run = await client.create_flow_run_from_deployment(deployment.id)
        for _ in range(240):
            current = await client.read_flow_run(run.id)
            if current.state is not None and current.state.is_final():
                return str(current.state.name)
            await asyncio.sleep(0.5)
    return "timed out"
