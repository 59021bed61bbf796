"""Which stopped runs docintake restarts by itself, and which it leaves to staff."""

from __future__ import annotations

import pytest
from prefect.client.schemas.objects import State
from prefect.states import Cancelled, Completed, Crashed, Failed, Paused

from flows.recovery import interrupted


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
