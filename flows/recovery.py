"""Housekeeping the serving process does between runs: restart interrupted runs, send due mail.

A request run can stop without finishing its application: when a run's process dies (a SIGTERM
on shutdown that lands just after the run suspended) the runner marks the run Crashed, and a
runner that shuts down cancels the runs it has in flight. Prefect leaves such runs where they
are, and the application would wait forever. Rescheduling the *same* flow run replays it as a
resume does: persisted task results are reused, decisions already recorded in our database are
not asked again (`wait_for_decision`), and every step is idempotent by the application's id. A
run cancelled by a person, or one that failed in our own code, is left alone: staff decide about
those (the Retry button in the Prefect UI).

A run whose process was killed outright (SIGKILL, the OOM killer) stays Pending or Running with
nobody to mark it. The engine writes which process holds each run (`infrastructure_pid`); a
housekeeping pass asks Prefect for every non-final run of an open application and restarts the
ones whose process on this host is gone, without waiting for any event. Decisions a run holds
in Prefect are copied into our database first (flows/decisions_given.py), since the restart
deletes them.

When a whole host goes away nobody on it is left to check: its runs stay Running. For that, run
processes send heartbeats, and an automation on the server marks a run that stops sending them,
without having suspended or finished, Crashed — Prefect's recipe for "zombie" runs, with the
suspension added as a legitimate end (the recipe as documented would crash every waiting run).

Mail is delivered here too, so a reply whose run stopped before its delivery step, or whose
SMTP server was away, goes out without waiting for the next request.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any
from uuid import UUID

from prefect.client.orchestration import PrefectClient, get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterId,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import FlowRun, State, StateType
from prefect.client.schemas.responses import OrchestrationResult, SetStateStatus
from prefect.events.actions import ChangeFlowRunState
from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture
from prefect.events.schemas.events import ResourceSpecification
from prefect.exceptions import PrefectHTTPStatusError
from prefect.states import AwaitingRetry, Crashed

from flows.common import deliver_due_mail, uow_factory
from flows.decisions_given import application_of, capture_decisions
from flows.engine import holder_is_gone
from flows.settings import Settings
from handlers import decisions

log = logging.getLogger(__name__)

# The message Prefect's Runner gives the runs it cancels while it shuts down (prefect 3.x).
RUNNER_SHUTDOWN = "Runner is shutting down"
# Flow-run ids per API call: keeps the filter well inside any request size limit.
BATCH = 200


def interrupted(state: State | None) -> bool:
    """True for a run stopped by its infrastructure rather than by a person or by our code."""
    if state is None:
        return False
    if state.type == StateType.CRASHED:
        return True
    return state.type == StateType.CANCELLED and (state.message or "").startswith(RUNNER_SHUTDOWN)


# A claimed run gets its holder written right after the claim; one still without a holder
# after this long was claimed by a process that died in between.
UNCLAIMED_GRACE = timedelta(seconds=60)


def process_gone(run: FlowRun, *, now: datetime) -> bool:
    """True for a Pending or Running run whose process is known to be gone.

    The engine writes `host:pid:start` into `infrastructure_pid` when it claims a run; a process
    on this host is checked directly. A run held on another host is left to that host and to
    the heartbeat automation (None from `holder_is_gone`).
    """
    state = run.state
    if state is None or state.type not in (StateType.PENDING, StateType.RUNNING):
        return False
    gone = holder_is_gone(run.infrastructure_pid)
    if gone is not None:
        return gone
    if run.infrastructure_pid:
        return False
    return state.type == StateType.PENDING and now - state.timestamp > UNCLAIMED_GRACE


# Prefect writes a suspended run's form (its input schema) just after the Suspended state; a
# run Suspended this long without one lost its process in between.
FORMLESS_GRACE = timedelta(seconds=20)
# Suspended states whose form was seen: each is checked once, not on every pass.
_FORMS_SEEN: set[UUID] = set()


async def lost_its_form(client: PrefectClient, run: FlowRun, *, now: datetime) -> bool:
    """True for a run Suspended for a decision whose form was never written.

    Nobody can resume such a run: Prefect refuses every decision ("Run input schema not
    found"), in the UI and in the CLI, and the application would wait for ever.
    """
    state = run.state
    if state is None or state.type != StateType.PAUSED or state.id in _FORMS_SEEN:
        return False
    keyset = state.state_details.run_input_keyset
    if not keyset or "schema" not in keyset or now - state.timestamp < FORMLESS_GRACE:
        return False
    try:
        await client.read_flow_run_input(run.id, keyset["schema"])
    except PrefectHTTPStatusError as exc:
        if exc.response.status_code == HTTPStatus.NOT_FOUND:
            return True
        raise
    _FORMS_SEEN.add(state.id)
    return False


async def restart_interrupted_runs(settings: Settings, client: PrefectClient) -> list[str]:
    """Restart every run of an open application that stopped, or whose process is gone.

    Asks our database which runs carry open applications and Prefect where each one is: a
    Crashed run, one cancelled by a shutdown, and a Pending or Running run whose process is gone
    are restarted — after the decisions they hold were copied into our database, since the
    restart deletes a run's inputs. So is a run Suspended without its form (`lost_its_form`).
    Their references.
    """
    open_runs = decisions.open_runs(uow=uow_factory(settings))
    run_ids = list(open_runs)
    restarted: list[str] = []
    moment = datetime.now(UTC)
    suspended: set[UUID] = set()
    for start in range(0, len(run_ids), BATCH):
        runs = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                id=FlowRunFilterId(any_=[UUID(i) for i in run_ids[start : start + BATCH]]),
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=_MAYBE_STOPPED)),
            )
        )
        for run in runs:
            if run.state is not None and run.state.type == StateType.PAUSED:
                suspended.add(run.state.id)
            gone = process_gone(run, now=moment)
            formless = not gone and await lost_its_form(client, run, now=moment)
            if not (gone or formless or interrupted(run.state)):
                continue
            reference = open_runs[str(run.id)]
            application_id = application_of(run.parameters)
            if application_id is not None:
                # Before the restart deletes them; a failure here leaves the run for next time.
                await capture_decisions(client, run.id, application_id)
            if not await _still_as_read(client, run):
                continue  # moved on since the batch was read (a fresh engine took it): its own
            if gone or formless:
                why = (
                    "It suspended, but its process was killed before it wrote its decision form."
                    if formless
                    else f"Its process ({run.infrastructure_pid or '?'}) is gone."
                )
                # Leaving a final state also forgets the run's pause keys: it waits afresh.
                await client.set_flow_run_state(run.id, Crashed(message=why), force=True)
            result: OrchestrationResult[Any] = await client.set_flow_run_state(
                run.id,
                AwaitingRetry(message=f"Restarted by docintake ({reference})"),
                force=gone or formless,
            )
            if result.status == SetStateStatus.ACCEPT:
                # Reference and state only: the run's message may quote a traceback.
                label = "vanished" if gone else "formless" if formless else None
                log.warning(
                    "restarted the %s run of %s",
                    label or (run.state.name if run.state else "?"),
                    reference,
                )
                restarted.append(reference)
    _FORMS_SEEN.intersection_update(suspended)  # forget states that are over
    return restarted


async def _still_as_read(client: PrefectClient, run: FlowRun) -> bool:
    """True when the run is still in the state, and with the holder, it was read with.

    A batch is read once and a restart is forced: between the two a drain may have handed
    the run over and a fresh engine claimed it; restarting it then would fail a live run.
    """
    now = await client.read_flow_run(run.id)
    same_state = (now.state.id if now.state else None) == (run.state.id if run.state else None)
    return same_state and now.infrastructure_pid == run.infrastructure_pid


_MAYBE_STOPPED = [
    StateType.CRASHED,
    StateType.CANCELLED,
    StateType.PENDING,
    StateType.RUNNING,
    StateType.PAUSED,
]


UNRESPONSIVE_AUTOMATION = "docintake: crash runs whose process is gone"
# A run's heartbeat stops legitimately when it suspends, ends, or is rescheduled.
_STOPS_BEATING = frozenset(
    f"prefect.flow-run.{name}"
    for name in (
        "heartbeat",
        "Completed",
        "Failed",
        "Cancelled",
        "Cancelling",
        "Crashed",
        "Suspended",
        "Paused",
        "Scheduled",
        "AwaitingRetry",
    )
)


def unresponsive_run_automation(settings: Settings) -> AutomationCore:
    """The automation that marks a run Crashed once its heartbeats stop while it runs."""
    seconds = settings.unresponsive_seconds
    return AutomationCore(
        name=UNRESPONSIVE_AUTOMATION,
        description="A flow run that sent a heartbeat and then nothing, neither a next beat nor"
        " a state change, has lost its process: mark it Crashed so docintake restarts it.",
        enabled=True,
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat"},
            expect=set(_STOPS_BEATING),
            match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=timedelta(seconds=seconds),
        ),
        actions=[
            ChangeFlowRunState(
                state=StateType.CRASHED,
                message=f"No heartbeat for {seconds:g} s: the run's process is gone.",
            )
        ],
    )


async def ensure_unresponsive_run_automation(settings: Settings, client: PrefectClient) -> None:
    """Create the automation on the server, or bring it in line with the settings."""
    wanted = unresponsive_run_automation(settings)
    existing = await client.read_automations_by_name(UNRESPONSIVE_AUTOMATION)
    if not existing:
        await client.create_automation(wanted)
        return
    current = existing[0]
    if (current.trigger, current.actions, current.enabled) != (
        wanted.trigger,
        wanted.actions,
        wanted.enabled,
    ):
        await client.update_automation(current.id, wanted)


async def end_cancelled_runs(settings: Settings, client: PrefectClient) -> list[str]:
    """End the open applications whose run a person cancelled (the UI's Cancel); references.

    A suspended run cancelled in the UI never runs again, so its application would wait for
    ever: it ends as cancelled by staff, and the client is told once.
    """
    from flows.review import form_titles

    open_runs = decisions.open_runs(uow=uow_factory(settings))
    run_ids = list(open_runs)
    ended: list[str] = []
    for start in range(0, len(run_ids), BATCH):
        runs = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                id=FlowRunFilterId(any_=[UUID(i) for i in run_ids[start : start + BATCH]]),
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.CANCELLED])),
            )
        )
        for run in runs:
            if interrupted(run.state):
                continue
            application = decisions.application_of_run(str(run.id), uow=uow_factory(settings))
            titles = form_titles(application.form_type if application else None)
            reference = decisions.cancel_application(
                str(run.id), uow=uow_factory(settings), titles=titles
            )
            if reference is not None:
                log.warning("%s: run cancelled by a person; application cancelled", reference)
                ended.append(reference)
    return ended


async def housekeeping(settings: Settings) -> list[str]:
    """One pass: restart interrupted runs, end cancelled ones, send due mail; those restarted."""
    async with get_client() as client:
        restarted = await restart_interrupted_runs(settings, client)
        await end_cancelled_runs(settings, client)
    await deliver_due_mail(settings)
    return restarted
