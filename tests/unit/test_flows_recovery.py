"""Which stopped runs docintake restarts by itself, and which it leaves to staff."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from prefect.client.schemas.objects import FlowRun, State
from prefect.states import (
    Cancelled,
    Completed,
    Crashed,
    Failed,
    Paused,
    Pending,
    Running,
    Suspended,
)

from flows.decisions_given import given_decisions
from flows.engine import process_identity, process_start_ticks
from flows.recovery import interrupted, process_gone


@pytest.mark.parametrize(
    ("state", "restart"),
    [
        (Crashed(message="Process exited with status code: -15."), True),
        (Cancelled(message="Runner is shutting down."), True),
        (Cancelled(message="Cancelled from the UI by Ilze"), False),
        (Cancelled(message="LUR-2026-000001 expired without a decision"), False),
        (Failed(message="Flow run encountered an exception"), False),
        (Completed(), False),
        (Paused(), False),
        (None, False),
    ],
)
def test_only_runs_stopped_by_their_infrastructure_are_restarted(
    state: State | None, restart: bool
) -> None:
    """A crash or a runner shutdown restarts a run; a person's cancel or our own failure not."""
    assert interrupted(state) is restart


def _run(state: State, holder: str | None) -> FlowRun:
    return FlowRun(flow_id=uuid4(), state=state, infrastructure_pid=holder)


def _dead_identity() -> str:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    identity = f"{socket.gethostname()}:{child.pid}:{process_start_ticks(child.pid)}"
    child.kill()
    child.wait()
    return identity


def test_a_run_whose_process_died_is_gone_and_a_live_or_remote_one_is_not() -> None:
    """Pending or Running on a dead process is gone; alive, elsewhere, or waiting is not."""
    now = datetime.now(UTC)
    dead = _dead_identity()
    assert process_gone(_run(Running(), dead), now=now)
    assert process_gone(_run(Pending(), dead), now=now)
    assert not process_gone(_run(Running(), process_identity()), now=now)
    assert not process_gone(_run(Running(), "another-host:1:1"), now=now)
    assert not process_gone(_run(Suspended(), dead), now=now)


def test_a_claim_without_a_holder_is_gone_only_after_the_grace() -> None:
    """A Pending run nobody wrote a holder into is given a minute before it counts as gone."""
    claimed = _run(Pending(), None)
    assert claimed.state is not None
    assert not process_gone(claimed, now=claimed.state.timestamp + timedelta(seconds=5))
    assert process_gone(claimed, now=claimed.state.timestamp + timedelta(seconds=61))


def test_given_decisions_keep_their_stage_and_attempt_order() -> None:
    """Inputs become decisions per stage in attempt order; other keys and bad values are dropped."""
    inputs = {
        "suspended-decision-1-2-response": {"decision": "approve", "staff": "ilze", "code": "1"},
        "suspended-decision-1-1-response": {"decision": "reject", "staff": "ilze", "code": "2"},
        "suspended-decision-2-1-response": {"decision": "maybe", "staff": "maris", "code": "3"},
        "suspended-decision-1-1-schema": {"type": "object"},
    }
    given = given_decisions(inputs)
    assert [(g.attempt, g.decision.decision) for g in given[1]] == [(1, "reject"), (2, "approve")]
    assert 2 not in given
