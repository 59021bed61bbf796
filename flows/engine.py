"""The engine: our deployments' runs executed inside this long-lived process, N at a time.

Prefect's Runner starts a new Python process per flow run (~3 s of imports and set-up on two
cores, paid before a suspend and again after the resume). Here one process claims runs and
executes each with Prefect's own flow engine on a thread of its own, so a run costs its HTTP
calls and its work, nothing more. What Prefect gives stays: states, logs and artifacts in the
UI, the suspend with its RunInput form, resumes from the UI or the API, persisted results
replayed, task retries, cancellation and crash states. docs/internals.md explains the choice.

In order, per poll:
1. Ask the server for at most `free slots + a few` Scheduled runs of our deployments, oldest
   first (`get_scheduled_flow_runs_for_deployments` with a limit: never the whole backlog).
2. Claim each by proposing Pending. The server accepts Scheduled → Pending once, so two
   engines on one server never run the same run twice; a refused claim is someone else's run.
3. Write `host:pid:start-time` into the run's `infrastructure_pid`: recovery reads it to tell a
   run whose process is gone from one still executing (flows/recovery.py).
4. On a daemon thread with its own event loop: copy the decisions a resumed run holds in
   Prefect into our database (`before_run`, flows/decisions_given.py), then execute the run
   with `prefect.flow_engine.run_flow`; the engine opens its own client and context per run.
5. Runs the server shows as Cancelling are cancelled: their intent is set to "cancel" for that
   run only (Prefect keeps the intent process-wide; `install_hooks` makes it per run), then
   their asyncio task is cancelled, and Prefect's engine ends them Cancelled.

The process drains and exits with `RESTART_EXIT_CODE` when it outgrows `engine_max_rss_mb` or
`engine_max_age_seconds`; its parent starts a fresh one (flows/serve.py). Runs still executing
when a drain's grace ends are left to the next process: their intent is "reschedule", the engine
leaves their state alone, and they are set AwaitingRetry — the same run, replayed.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import gc
import inspect
import logging
import os
import socket
import ssl
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import prefect.client.orchestration as prefect_client_module
from prefect import flow_engine
from prefect._internal import control_listener
from prefect.client.orchestration import PrefectClient, get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterId,
    FlowRunFilterState,
    FlowRunFilterStateName,
)
from prefect.client.schemas.objects import FlowRun, State, StateType
from prefect.client.schemas.responses import OrchestrationResult, SetStateStatus
from prefect.context import AsyncClientContext, SyncClientContext
from prefect.exceptions import Abort, Pause
from prefect.flows import Flow
from prefect.states import AwaitingRetry, Pending

log = logging.getLogger(__name__)

# The exit code that asks the parent for a fresh engine process (memory ceiling, age).
RESTART_EXIT_CODE = 75
# Runs asked for beyond the free slots: some claims lose to another engine.
EXTRA_PER_POLL = 4
# Names in Prefect's modules that `install_hooks` replaces (besides `_termination_intent`).
OBSERVER_HOOK = "observe_flow_run_suspension"  # in prefect.flow_engine
TLS_HOOK = "ssl"  # in prefect.client.orchestration
# The intents `install_hooks` gives a run; Prefect's engine knows both.
CANCEL = "cancel"
RESCHEDULE = "reschedule"


@dataclass
class RunControl:
    """One executing run: its intent, and the loop and task that cancel it."""

    flow_run_id: UUID
    flow_run: FlowRun | None = None
    intent: str | None = None
    loop: asyncio.AbstractEventLoop | None = None
    task: asyncio.Task[Any] | None = None
    finished: threading.Event = field(default_factory=threading.Event)

    def interrupt(self, intent: str) -> None:
        """Stop the run at its next await with this intent (cancel, or reschedule)."""
        self.intent = intent
        loop, task = self.loop, self.task
        if loop is not None and task is not None:
            loop.call_soon_threadsafe(task.cancel)


# The control of the run executing on the current thread (None outside our runs).
_CONTROL: contextvars.ContextVar[RunControl | None] = contextvars.ContextVar(
    "docintake_run_control", default=None
)
# Prefect's own reading of the intent, for anything not executed by this engine.
_process_intent = control_listener.get_intent


def per_run_intent() -> Any:
    """The termination intent of the run on this thread; Prefect's process-wide one otherwise."""
    control = _CONTROL.get()
    if control is not None:
        return control.intent
    return _process_intent()


def install_hooks() -> None:
    """Fit Prefect's engine to many runs in one process (private names, see docs/internals.md).

    - `flow_engine._termination_intent`: Prefect 3.9 reads one process-wide intent when a run
      ends by an exception; cancelling one in-process run would turn every other run's
      exception into "cancelled", and without an intent a cancelled task ends Crashed.
    - `flow_engine.observe_flow_run_suspension`: for every run of a deployment Prefect starts a
      thread, an event loop, an API client and an events subscription that watches for someone
      else suspending the run. Our runs suspend themselves and hold no work worth stopping; the
      watch is skipped for the runs this engine executes.
    - `prefect.client.orchestration.ssl`: every API client builds a TLS context and loads the
      CA bundle (~12 ms of CPU, under the GIL) even for a plain-HTTP API; a run opens several.
      One context per set of arguments serves them all (an SSLContext is shared safely).

    tests/unit/test_flows_engine.py fails when an upgrade moves a hook.
    """
    flow_engine._termination_intent = per_run_intent
    observe = getattr(flow_engine, OBSERVER_HOOK)
    if not isinstance(observe, _ObserverSkippedForOurRuns):
        setattr(flow_engine, OBSERVER_HOOK, _ObserverSkippedForOurRuns(observe))
    tls = getattr(prefect_client_module, TLS_HOOK)
    if not isinstance(tls, SharedTLSContexts):
        setattr(prefect_client_module, TLS_HOOK, SharedTLSContexts(tls))


class _ObserverSkippedForOurRuns:
    """Prefect's suspension observer for runs executed elsewhere; nothing for ours."""

    def __init__(self, observe: Callable[..., contextlib.AbstractContextManager[None]]) -> None:
        self.observe = observe

    def __call__(self, *args: Any, **kwargs: Any) -> contextlib.AbstractContextManager[None]:
        if _CONTROL.get() is not None:
            return contextlib.nullcontext()
        return self.observe(*args, **kwargs)


class SharedTLSContexts:
    """The `ssl` module as Prefect's client sees it: each default context made once.

    `create_default_context` builds one context per set of arguments; every other name is the
    real module's.
    """

    def __init__(self, module: Any) -> None:
        self._module = module
        self._contexts: dict[tuple[Any, ...], ssl.SSLContext] = {}
        self._lock = threading.Lock()

    def create_default_context(self, *args: Any, **kwargs: Any) -> ssl.SSLContext:
        """The one context for these arguments (built on first use)."""
        key = (args, tuple(sorted(kwargs.items())))
        with self._lock:
            context = self._contexts.get(key)
            if context is None:
                context = self._module.create_default_context(*args, **kwargs)
                self._contexts[key] = context
            return context

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)


def process_identity() -> str:
    """`host:pid:start` for this process; the start time tells a reused pid from ours."""
    return f"{socket.gethostname()}:{os.getpid()}:{process_start_ticks(os.getpid())}"


def process_start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux /proc), None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22, counted after the command name (which may hold spaces and parentheses).
    return int(stat.rsplit(")", 1)[1].split()[19])


def holder_is_gone(identity: str | None) -> bool | None:
    """True when the process named by `identity` (on this host) no longer runs; None: can't tell.

    Only this host's processes can be checked; a run held on another host is left to that
    host's own recovery and to the heartbeat automation.
    """
    if not identity:
        return None
    host, _, rest = identity.partition(":")
    pid_text, _, start_text = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return None
    started = process_start_ticks(int(pid_text))
    if started is None:
        return True
    # Prefect's Runner writes `host:pid` only: a live pid is all that can be checked.
    return bool(start_text) and str(started) != start_text


def resident_mb() -> float:
    """Resident memory of this process in MB (Linux /proc)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


class Engine:
    """Claims Scheduled runs of the given deployments and executes them in this process."""

    def __init__(
        self,
        flows: Mapping[UUID, Flow[Any, Any]],
        *,
        concurrency: int,
        poll_seconds: float,
        max_rss_mb: float = 0,
        max_age_seconds: float = 0,
        grace_seconds: float = 10.0,
        before_run: Callable[[FlowRun], Awaitable[object]] | None = None,
    ) -> None:
        self.flows = dict(flows)
        self.concurrency = concurrency
        self.poll_seconds = poll_seconds
        self.max_rss_mb = max_rss_mb
        self.max_age_seconds = max_age_seconds
        self.grace_seconds = grace_seconds
        self.before_run = before_run
        self.identity = process_identity()
        self.executing: dict[UUID, RunControl] = {}
        self.executed = 0
        self._started = time.monotonic()
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def outgrown(self) -> str | None:
        """Why this process should hand over to a fresh one (memory, age), or None."""
        if self.max_rss_mb and resident_mb() > self.max_rss_mb:
            return f"resident memory above {self.max_rss_mb:g} MB"
        if self.max_age_seconds and time.monotonic() - self._started > self.max_age_seconds:
            return f"older than {self.max_age_seconds:g} s"
        return None

    async def run(self, stop: asyncio.Event) -> str | None:
        """Claim and execute runs until `stop` is set or the process outgrows its limits.

        Returns why it handed over (memory, age), or None when it was stopped.
        """
        install_hooks()
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        reason: str | None = None
        async with get_client() as client:
            try:
                while not stop.is_set():
                    reason = self.outgrown()
                    if reason is not None:
                        log.warning("engine hands over to a fresh process: %s", reason)
                        break
                    try:
                        claimed = await self.poll_once(client)
                        await self.watch_cancellations(client)
                    except Exception as exc:  # the server away: the next poll retries
                        log.error("engine poll failed (%s); retrying", type(exc).__name__)
                        claimed = 0
                    if claimed and len(self.executing) < self.concurrency:
                        continue  # a full batch: more may wait right now
                    await self._sleep(stop)
            finally:
                await self.drain(client)
        return reason

    async def _sleep(self, stop: asyncio.Event) -> None:
        if self._wake is None:
            return
        self._wake.clear()
        waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
        try:
            await asyncio.wait(waits, timeout=self.poll_seconds, return_when="FIRST_COMPLETED")
        finally:
            for waiting in waits:
                waiting.cancel()

    async def poll_once(self, client: PrefectClient) -> int:
        """Claim and start as many due runs as there are free slots; how many were started."""
        free = self.concurrency - len(self.executing)
        if free <= 0 or not self.flows:
            return 0
        runs = await client.get_scheduled_flow_runs_for_deployments(
            deployment_ids=list(self.flows),
            scheduled_before=datetime.now(UTC),
            limit=free + EXTRA_PER_POLL,
        )
        started = 0
        for flow_run in runs:
            if started >= free:
                break
            if flow_run.deployment_id not in self.flows or flow_run.id in self.executing:
                continue
            if await self.claim(client, flow_run):
                self.start(flow_run)
                started += 1
        return started

    async def claim(self, client: PrefectClient, flow_run: FlowRun) -> bool:
        """Propose Pending: True when the server gave this run to us."""
        result: OrchestrationResult[Any] = await client.set_flow_run_state(flow_run.id, Pending())
        if result.status != SetStateStatus.ACCEPT:
            return False
        if not await self._claimed_when_due(client, flow_run.id, result.state):
            return False
        flow_run.state = result.state
        # Who holds the run, for recovery; a crash before this line leaves a Pending run
        # without a holder, which recovery treats as gone after a grace period.
        await client.update_flow_run(flow_run.id, infrastructure_pid=self.identity)
        return True

    async def _claimed_when_due(
        self, client: PrefectClient, flow_run_id: UUID, ours: State[Any] | None
    ) -> bool:
        """True when our Pending followed a state that made the run due (Scheduled's kind).

        The server also accepts Pending after a Completed (without a persisted result), Failed
        or Crashed state, to let a person re-run it. A claim from a stale read can land there:
        another engine ran and finished the run between our read and our claim. That run
        must not execute again; its ending state is put back.
        """
        if ours is None:
            return True
        history = await client.read_flow_run_states(flow_run_id)
        before = [state for state in history if state.id != ours.id]
        if not before:
            return True
        previous = max(before, key=lambda state: state.timestamp)
        if previous.type == StateType.SCHEDULED:
            return True
        restored = previous.model_copy(update={"id": uuid4(), "timestamp": datetime.now(UTC)})
        await client.set_flow_run_state(flow_run_id, restored, force=True)
        log.warning("flow run %s was already %s: not run again", flow_run_id, previous.name)
        return False

    def start(self, flow_run: FlowRun) -> None:
        """Execute a claimed run on its own thread and event loop."""
        flow = self.flows[flow_run.deployment_id] if flow_run.deployment_id else None
        if flow is None:
            return
        control = RunControl(flow_run.id, flow_run=flow_run)
        self.executing[flow_run.id] = control
        # The run sees the settings context the engine was started in (tests narrow it).
        context = contextvars.copy_context()
        thread = threading.Thread(
            target=context.run,
            args=(self._execute, flow, flow_run, control),
            name=f"flow-run-{flow_run.id}",
            daemon=True,  # a drain that times out must not wait for blocking code forever
        )
        thread.start()

    def _execute(self, flow: Flow[Any, Any], flow_run: FlowRun, control: RunControl) -> None:
        _CONTROL.set(control)
        try:
            asyncio.run(self._run_flow(flow, flow_run, control))
        except (Pause, Abort):
            pass  # a suspend (Pause) or a run the server took back (Abort): states are recorded
        except BaseException as exc:  # the engine has already recorded the run's state
            if control.intent is None:
                log.error("flow run %s ended by %s", flow_run.id, type(exc).__name__)
        finally:
            control.finished.set()
            if self._loop is not None and not self._loop.is_closed():
                self._loop.call_soon_threadsafe(self._finished, control)

    async def _run_flow(self, flow: Flow[Any, Any], flow_run: FlowRun, control: RunControl) -> None:
        control.loop = asyncio.get_running_loop()
        control.task = asyncio.current_task()
        if control.intent is not None:  # interrupted before the task existed
            raise asyncio.CancelledError
        # One API client of each kind for the whole run: without them every sync task of the
        # run, the result store and `before_run` each open (and TLS-configure) a client.
        async with AsyncClientContext.get_or_create():
            with SyncClientContext.get_or_create():
                await self._copy_decisions(flow_run)
                outcome = flow_engine.run_flow(flow, flow_run=flow_run, return_type="state")
                if inspect.isawaitable(outcome):
                    await outcome

    async def _copy_decisions(self, flow_run: FlowRun) -> None:
        """`before_run` (copy the decisions a run holds into our database); failures logged.

        A failure loses nothing: the flow records a decision itself, and asks again for one
        that is gone.
        """
        if self.before_run is None:
            return
        try:
            await self.before_run(flow_run)
        except Exception as exc:
            log.error("copying the decisions of flow run %s: %s", flow_run.id, type(exc).__name__)

    def _finished(self, control: RunControl) -> None:
        self.executing.pop(control.flow_run_id, None)
        self.executed += 1
        if self._wake is not None:
            self._wake.set()

    async def watch_cancellations(self, client: PrefectClient) -> None:
        """Cancel the executing runs someone asked to cancel (state Cancelling)."""
        if not self.executing:
            return
        runs = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                id=FlowRunFilterId(any_=list(self.executing)),
                state=FlowRunFilterState(name=FlowRunFilterStateName(any_=["Cancelling"])),
            )
        )
        for flow_run in runs:
            control = self.executing.get(flow_run.id)
            if control is not None and control.intent is None:
                log.info("cancelling flow run %s as asked", flow_run.id)
                control.interrupt(CANCEL)

    async def drain(self, client: PrefectClient) -> None:
        """Let executing runs finish within the grace; reschedule the rest for another process."""
        deadline = time.monotonic() + self.grace_seconds
        while self.executing and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        left = list(self.executing.values())
        for control in left:
            control.interrupt(RESCHEDULE)
        for control in left:
            await asyncio.to_thread(control.finished.wait, 5.0)
            # The restart below deletes the run's inputs: a decision given to it is copied
            # into our database first, as recovery does before its restarts.
            if control.flow_run is not None:
                await self._copy_decisions(control.flow_run)
            result: OrchestrationResult[Any] = await client.set_flow_run_state(
                control.flow_run_id,
                AwaitingRetry(message="Restarted: the docintake engine holding it stopped"),
                force=True,
            )
            if result.status == SetStateStatus.ACCEPT:
                log.warning("left flow run %s to the next engine", control.flow_run_id)
        # The heap is garbage at exit anyway: skip the final collection's seconds.
        gc.freeze()


def restart_reason(exit_code: int | None) -> bool:
    """True when an engine child asked for a fresh process (memory ceiling, age)."""
    return exit_code == RESTART_EXIT_CODE
