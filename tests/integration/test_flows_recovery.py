"""Runs that lose their process: a killed serving process, a crash, a host that went away."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from functools import partial
from uuid import UUID

import pytest
from prefect.client.orchestration import PrefectClient
from prefect.states import AwaitingRetry, Crashed, Pending, Running

from flows import recovery
from flows.engine import process_identity, process_start_ticks
from flows.settings import Settings
from handlers import decisions
from handlers.models import ApplicationStatus
from tests.support.flows_helpers import (
    applied_by,
    first_of_two_approvals,
    in_state,
    new_user_fields,
    staff_cli,
    waiting_application,
)
from tests.support.prefect_env import PrefectEnv, seed_contract

pytestmark = pytest.mark.slow


def test_runs_survive_a_killed_serving_process(prefect_env: PrefectEnv) -> None:
    """Suspended runs outlive a crash of the serving process; after a restart approvals finish."""
    books = seed_contract(prefect_env)
    waiting = [
        waiting_application(
            prefect_env, books, "user_add", new_user_fields(f"k{n}.{books.contract_no}@ozols.test")
        )
        for n in range(2)
    ]
    prefect_env.kill_serving()
    prefect_env.start_serving()
    for _application_id, reference, _run in waiting:
        code, output = staff_cli("approve", reference, "--staff", "ilze")
        assert code == 0, output
    for application_id, _reference, run_id in waiting:
        prefect_env.wait_for_status(application_id, ApplicationStatus.applied)
        prefect_env.wait_for(
            partial(in_state, prefect_env, run_id, "Completed"),
            what="the resumed run to complete",
        )


def test_a_crashed_run_restarts_and_asks_only_for_the_missing_approval(
    prefect_env: PrefectEnv,
) -> None:
    """A run that crashes between two approvals restarts by itself; only the second is asked."""
    _books, application_id, reference, run_id = first_of_two_approvals(prefect_env, "120.00")
    # What the runner writes when a run's process dies under it (a SIGTERM, a lost host).
    prefect_env.force_state(run_id, Crashed(message="Process exited with status code: -15."))
    code, output = staff_cli("approve", reference, "--staff", "maris")
    assert code == 1, output
    assert "interrupted" in output or "not waiting" in output, output

    assert prefect_env.wait_for_resuspended(application_id, "decision-2") == run_id
    code, output = staff_cli("approve", reference, "--staff", "maris")
    assert code == 0, output
    assert applied_by(prefect_env, application_id) == ["ilze", "maris"]


def test_a_run_whose_process_vanished_is_marked_crashed_and_restarted(
    prefect_env: PrefectEnv,
) -> None:
    """A run left Running whose heartbeats stopped is crashed by the automation, then restarted.

    A run that stopped beating because it suspended is left alone.
    """
    books = seed_contract(prefect_env)
    application_id, reference, run_id = waiting_application(
        prefect_env, books, "user_add", new_user_fields(f"z.{books.contract_no}@ozols.test")
    )
    _, quiet_reference, quiet_run_id = waiting_application(
        prefect_env, books, "user_add", new_user_fields(f"q.{books.contract_no}@ozols.test")
    )
    # As if the run had been picked up on a host that then lost power: Running, one heartbeat.
    prefect_env.force_state(run_id, Running())
    prefect_env.send_heartbeat(run_id)

    assert prefect_env.wait_for_resuspended(application_id, "decision-1") == run_id
    history = prefect_env.state_history(run_id)
    assert any(name == "Crashed" and "No heartbeat" in m for name, m in history), history
    quiet = prefect_env.state_history(quiet_run_id)
    assert [name for name, _m in quiet if name == "Crashed"] == [], quiet
    assert quiet[-1][0] == "Suspended", quiet
    for ref in (reference, quiet_reference):
        code, output = staff_cli("approve", ref, "--staff", "ilze")
        assert code == 0, output
    prefect_env.wait_for_status(application_id, ApplicationStatus.applied)


def _dead_process_identity() -> str:
    """The holder identity of a process that has exited, as the engine writes it."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    identity = f"{socket.gethostname()}:{child.pid}:{process_start_ticks(child.pid)}"
    child.kill()
    child.wait()
    return identity


def test_a_decision_given_as_its_engine_dies_is_applied_once(prefect_env: PrefectEnv) -> None:
    """A resumed run whose engine died after claiming it: the decision is kept and applied once."""
    books = seed_contract(prefect_env)
    application_id, reference, run_id = waiting_application(
        prefect_env, books, "user_add", new_user_fields(f"w.{books.contract_no}@ozols.test")
    )
    prefect_env.kill_serving()
    code, output = staff_cli("approve", reference, "--staff", "ilze", "--no-wait")
    assert code == 0, output
    # As an engine leaves a run it claimed just before a SIGKILL: Pending, held by a dead pid.
    prefect_env.force_state(run_id, Pending())
    prefect_env.set_holder(run_id, _dead_process_identity())
    assert decisions.approvals_for(application_id, uow=prefect_env.uow()) == []

    prefect_env.start_serving()
    assert applied_by(prefect_env, application_id) == ["ilze"]
    prefect_env.wait_for(
        partial(in_state, prefect_env, run_id, "Completed"), what="the restarted run to complete"
    )
    history = prefect_env.state_history(run_id)
    assert any(name == "Crashed" and "is gone" in m for name, m in history), history


def test_recovery_leaves_alone_a_run_a_live_engine_took_meanwhile(
    prefect_env: PrefectEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run handed to a live engine while recovery was busy with it is not restarted under it."""
    books = seed_contract(prefect_env)
    application_id, _reference, run_id = waiting_application(
        prefect_env, books, "user_add", new_user_fields(f"h.{books.contract_no}@ozols.test")
    )
    prefect_env.kill_serving()
    live = process_identity()  # this test process: alive throughout
    try:
        # As recovery reads it: Pending, held by a process that is gone.
        prefect_env.force_state(run_id, Pending())
        prefect_env.set_holder(run_id, _dead_process_identity())

        async def taken_over(client: PrefectClient, flow_run_id: UUID, _application: int) -> None:
            # Meanwhile a drain hands it over and a fresh engine claims it.
            await client.set_flow_run_state(flow_run_id, AwaitingRetry(), force=True)
            await client.set_flow_run_state(flow_run_id, Pending())
            await client.update_flow_run(flow_run_id, infrastructure_pid=live)

        monkeypatch.setattr(recovery, "capture_decisions", taken_over)

        async def one_pass() -> list[str]:
            async with PrefectClient(prefect_env.api_url) as client:
                return await recovery.restart_interrupted_runs(Settings(), client)

        assert asyncio.run(one_pass()) == []
        run = prefect_env.flow_run(run_id)
        assert run.state is not None
        assert run.state.name == "Pending"
        assert run.infrastructure_pid == live
    finally:
        prefect_env.force_state(run_id, AwaitingRetry())
        prefect_env.start_serving()
    assert prefect_env.wait_for_resuspended(application_id, "decision-1") == run_id


def test_a_decision_lost_before_it_was_copied_is_asked_for_again(prefect_env: PrefectEnv) -> None:
    """A resumed run whose decision input is gone waits again, says so, and applies once."""
    books = seed_contract(prefect_env)
    application_id, reference, run_id = waiting_application(
        prefect_env, books, "user_add", new_user_fields(f"l.{books.contract_no}@ozols.test")
    )
    prefect_env.kill_serving()
    try:
        code, output = staff_cli("approve", reference, "--staff", "ilze", "--no-wait")
        assert code == 0, output

        async def lose_it() -> None:
            # What a restart does to the run's inputs when nobody copied the decision first.
            async with PrefectClient(prefect_env.api_url) as client:
                await client.delete_flow_run_input(UUID(run_id), "suspended-decision-1-1-response")

        asyncio.run(lose_it())
    finally:
        prefect_env.start_serving()
    assert prefect_env.wait_for_resuspended(application_id, "decision-1-2") == run_id
    assert decisions.approvals_for(application_id, uow=prefect_env.uow()) == []

    def said_lost() -> bool:
        warnings = [text for level, text in prefect_env.logs(run_id) if level >= 30]
        return any("decision for stage 1 was lost" in text for text in warnings)

    prefect_env.wait_for(said_lost, timeout=30, what="the run's warning that it asks again")
    code, output = staff_cli("approve", reference, "--staff", "ilze")
    assert code == 0, output
    assert applied_by(prefect_env, application_id) == ["ilze"]


def test_a_run_suspended_without_its_form_is_restarted_and_decided(prefect_env: PrefectEnv) -> None:
    """A run killed between its suspend and writing its form is restarted; staff then decide."""
    books = seed_contract(prefect_env)
    application_id, reference, run_id = waiting_application(
        prefect_env, books, "user_add", new_user_fields(f"f.{books.contract_no}@ozols.test")
    )
    first = prefect_env.flow_run(run_id).state
    assert first is not None

    async def lose_form() -> None:
        # Prefect writes the form (the input schema) just after the Suspended state.
        async with PrefectClient(prefect_env.api_url) as client:
            await client.delete_flow_run_input(UUID(run_id), "suspended-decision-1-1-schema")

    asyncio.run(lose_form())

    def suspended_again() -> bool:
        state = prefect_env.flow_run(run_id).state
        return state is not None and state.name == "Suspended" and state.id != first.id

    prefect_env.wait_for(suspended_again, timeout=120, what="the run to wait again, with a form")
    history = prefect_env.state_history(run_id)
    assert any(name == "Crashed" and "form" in message for name, message in history), history
    code, output = staff_cli("approve", reference, "--staff", "ilze")
    assert code == 0, output
    assert applied_by(prefect_env, application_id) == ["ilze"]
