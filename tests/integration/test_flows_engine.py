"""The in-process engine against a real Prefect server: claims, cancellation, hand-over."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any
from uuid import UUID

import pytest
from prefect import flow
from prefect.client.orchestration import PrefectClient
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.states import AwaitingRetry, Cancelling, Completed, Pending, Running

from flows.engine import Engine
from tests.support.prefect_env import PrefectEnv

pytestmark = pytest.mark.slow


@flow(name="engine-test-sleeper", persist_result=False)
async def sleeper(seconds: float) -> float:
    """Sleep, then return how long: a run that stays Running long enough to be interrupted."""
    await asyncio.sleep(seconds)
    return seconds


@flow(name="engine-test-blocker", persist_result=False)
async def blocker(seconds: float) -> float:
    """Block its thread without awaiting, as a CPU-heavy parse of a large document would."""
    time.sleep(seconds)
    return seconds


@dataclass
class RunningEngine:
    """An Engine on a thread of the test process, serving the sleeper deployment."""

    engine: Engine
    deployment_id: UUID
    stop: threading.Event
    thread: threading.Thread


def _deploy(served: Any) -> UUID:
    async def deploy() -> UUID:
        deployment = await served.ato_deployment(name="engine-test")
        deployment_id: UUID = await deployment.aapply()
        return deployment_id

    return asyncio.run(deploy())


def _serve(api_url: str, *, concurrency: int, grace: float) -> RunningEngine:
    deployment_id = _deploy(sleeper)
    engine = Engine(
        {deployment_id: sleeper, _deploy(blocker): blocker},
        concurrency=concurrency,
        poll_seconds=0.5,
        grace_seconds=grace,
    )
    stop = threading.Event()

    async def main() -> None:
        stopped = asyncio.Event()

        async def watch() -> None:
            await asyncio.to_thread(stop.wait)
            stopped.set()

        watcher = asyncio.create_task(watch())
        await engine.run(stopped)
        watcher.cancel()

    def in_thread() -> None:
        # Settings contexts do not cross threads: give this one the test server's API.
        with temporary_settings(updates={PREFECT_API_URL: api_url}):
            asyncio.run(main())

    thread = threading.Thread(target=in_thread, daemon=True)
    thread.start()
    return RunningEngine(engine, deployment_id, stop, thread)


@pytest.fixture
def in_process(prefect_env: PrefectEnv) -> Iterator[RunningEngine]:
    """An engine of 4 slots in this process; stopped after the test."""
    running = _serve(prefect_env.api_url, concurrency=4, grace=1.0)
    yield running
    running.stop.set()
    running.thread.join(timeout=30)


def _start(api_url: str, deployment_id: UUID, seconds: float) -> str:
    async def create() -> str:
        async with PrefectClient(api_url) as client:
            run = await client.create_flow_run_from_deployment(
                deployment_id, parameters={"seconds": seconds}
            )
        return str(run.id)

    return asyncio.run(create())


def _completed(prefect_env: PrefectEnv, run_id: str) -> bool:
    return _state_name(prefect_env, run_id) == "Completed"


def _state_name(prefect_env: PrefectEnv, run_id: str) -> str | None:
    state: Any = prefect_env.flow_run(run_id).state
    return None if state is None else str(state.name)


def test_a_cancelled_run_ends_cancelled_and_its_neighbour_completes(
    prefect_env: PrefectEnv, in_process: RunningEngine
) -> None:
    """Cancelling one in-process run ends it Cancelled, not Crashed; the other run completes."""
    doomed = _start(prefect_env.api_url, in_process.deployment_id, 60)
    neighbour = _start(prefect_env.api_url, in_process.deployment_id, 4)
    prefect_env.wait_for(
        lambda: _state_name(prefect_env, doomed) == "Running", timeout=60, what="a Running run"
    )
    assert prefect_env.flow_run(doomed).infrastructure_pid == in_process.engine.identity
    prefect_env.force_state(doomed, Cancelling(message="staff cancelled"))
    prefect_env.wait_for(
        lambda: _state_name(prefect_env, doomed) == "Cancelled", timeout=30, what="Cancelled"
    )
    prefect_env.wait_for(
        lambda: _state_name(prefect_env, neighbour) == "Completed", timeout=60, what="Completed"
    )
    names = [name for name, _message in prefect_env.state_history(doomed)]
    assert "Crashed" not in names, names


def test_two_engines_run_each_run_exactly_once(
    prefect_env: PrefectEnv, in_process: RunningEngine
) -> None:
    """A second engine on the same deployment: every run executes once, never twice."""
    other = _serve(prefect_env.api_url, concurrency=4, grace=1.0)
    try:
        runs = [_start(prefect_env.api_url, in_process.deployment_id, 0.2) for _ in range(16)]
        for run_id in runs:
            prefect_env.wait_for(
                partial(_completed, prefect_env, run_id),
                timeout=90,
                what="every run to complete",
            )
        for run_id in runs:
            names = [name for name, _m in prefect_env.state_history(run_id)]
            assert names.count("Running") == 1, names
    finally:
        other.stop.set()
        other.thread.join(timeout=30)


def _claim_stale(prefect_env: PrefectEnv, then: list[Any]) -> tuple[bool, str]:
    """Read a Scheduled run, let `then` happen to it, then claim it from that stale read."""
    deployment_id = _deploy(sleeper)  # no engine serves it during these tests
    engine = Engine({deployment_id: sleeper}, concurrency=1, poll_seconds=0.5)
    run_id = _start(prefect_env.api_url, deployment_id, 0.1)

    async def claim() -> bool:
        async with PrefectClient(prefect_env.api_url) as client:
            stale = await client.read_flow_run(UUID(run_id))
            for state in then:
                result = await client.set_flow_run_state(UUID(run_id), state, force=True)
                assert result.status.value == "ACCEPT", result
            return await engine.claim(client, stale)

    return asyncio.run(claim()), run_id


def test_a_stale_claim_gives_a_finished_run_back(prefect_env: PrefectEnv) -> None:
    """A run another engine finished after this one read it is not run again; it stays Completed."""
    claimed, run_id = _claim_stale(
        prefect_env,
        [Pending(), Running(), Completed(message="done elsewhere")],
    )
    assert claimed is False
    run = prefect_env.flow_run(run_id)
    assert (run.state.name, run.state.message) == ("Completed", "done elsewhere")
    names = [name for name, _m in prefect_env.state_history(run_id)]
    assert names.count("Running") == 1, names


def test_a_stale_read_of_a_run_due_again_still_claims_it(prefect_env: PrefectEnv) -> None:
    """A run that ran and is due again (a resume, a retry) since it was read is claimed as usual."""
    claimed, run_id = _claim_stale(
        prefect_env,
        [Pending(), Running(), AwaitingRetry(message="resumed")],
    )
    assert claimed is True
    assert _state_name(prefect_env, run_id) == "Pending"


def test_a_stopping_engine_leaves_its_unfinished_run_to_the_next(prefect_env: PrefectEnv) -> None:
    """A run still executing when the engine stops is rescheduled, not crashed or cancelled."""
    first = _serve(prefect_env.api_url, concurrency=2, grace=0.5)
    run_id = _start(prefect_env.api_url, first.deployment_id, 8)
    prefect_env.wait_for(
        lambda: _state_name(prefect_env, run_id) == "Running", timeout=60, what="a Running run"
    )
    first.stop.set()
    first.thread.join(timeout=30)
    names = [name for name, _m in prefect_env.state_history(run_id)]
    assert names[-1] == "AwaitingRetry", names
    assert "Crashed" not in names, names
    assert "Cancelled" not in names, names
    second = _serve(prefect_env.api_url, concurrency=2, grace=0.5)
    try:
        prefect_env.wait_for(
            lambda: _state_name(prefect_env, run_id) == "Completed",
            timeout=60,
            what="the next engine to finish the same run",
        )
    finally:
        second.stop.set()
        second.thread.join(timeout=30)


def test_a_run_blocking_its_thread_does_not_hold_up_another(
    prefect_env: PrefectEnv, in_process: RunningEngine
) -> None:
    """While one run blocks for 20 s (a slow parse), another run is claimed and completes."""
    blocking_id = next(i for i, f in in_process.engine.flows.items() if f is blocker)
    slow = _start(prefect_env.api_url, blocking_id, 20)
    prefect_env.wait_for(
        lambda: _state_name(prefect_env, slow) == "Running", timeout=60, what="the blocking run"
    )
    quick = _start(prefect_env.api_url, in_process.deployment_id, 0.1)
    prefect_env.wait_for(
        partial(_completed, prefect_env, quick), timeout=15, what="the quick run to complete"
    )
    assert _state_name(prefect_env, slow) == "Running", "the quick one finished first"
