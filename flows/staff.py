"""Staff decisions from outside the Prefect UI: send one to the run that waits for it.

The CLI and the tests share this: a decision resumes the waiting flow run through the Prefect
API with the same `Decision` input the UI's Resume dialog sends; the server checks it against the
input's schema, and a refused resume is an error with the server's reason. Prefect is imported
inside the functions: the CLI imports this module for commands that never reach the API.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any
from uuid import UUID

from flows.common import load_settings, uow_factory
from flows.settings import Settings
from handlers import decisions
from handlers.models import Application


class ResumeRefusedError(RuntimeError):
    """The Prefect server did not resume the run; the message is its reason."""


def api_url(settings: Settings) -> str:
    """The Prefect API: PREFECT_API_URL, else the local server `serve` starts."""
    return os.environ.get("PREFECT_API_URL") or f"http://127.0.0.1:{settings.prefect_port}/api"


async def flow_run_state(url: str, flow_run_id: str) -> str | None:
    """The run's state name (`Suspended`, `Running`, …), or None when the server lacks it."""
    from prefect.client.orchestration import PrefectClient
    from prefect.exceptions import ObjectNotFound

    async with PrefectClient(url) as client:
        try:
            run = await client.read_flow_run(UUID(flow_run_id))
        except ObjectNotFound:
            return None
    return run.state.name if run.state is not None else None


# A run that has just suspended writes the form (the input schema) a moment after its state.
SCHEMA_NOT_YET = "Run input schema not found"
SCHEMA_WAIT_SECONDS = 10.0


async def resume_with_decision(url: str, flow_run_id: str, run_input: dict[str, Any]) -> None:
    """Resume a waiting run with a decision; raise ResumeRefusedError with the server's reason."""
    from prefect.client.orchestration import PrefectClient
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.responses import SetStateStatus

    from flows.recovery import interrupted

    deadline = time.monotonic() + SCHEMA_WAIT_SECONDS
    async with PrefectClient(url) as client:
        while True:
            run = await client.read_flow_run(UUID(flow_run_id))
            if interrupted(run.state):
                raise ResumeRefusedError(
                    f"the run was interrupted ({run.state.name if run.state else '?'}); "
                    "docintake restarts it shortly — decide again once it waits"
                )
            if run.state is None or run.state.type != StateType.PAUSED:
                state = run.state.name if run.state is not None else "unknown"
                raise ResumeRefusedError(f"the run is not waiting for a decision (state: {state})")
            result = await client.resume_flow_run(UUID(flow_run_id), run_input=run_input)
            if result.status == SetStateStatus.ACCEPT:
                return
            reason = getattr(result.details, "reason", None) or str(result.status)
            if not reason.startswith(SCHEMA_NOT_YET) or time.monotonic() > deadline:
                raise ResumeRefusedError(reason)
            await asyncio.sleep(0.3)


def decide(
    reference: str,
    *,
    decision: str,
    staff: str,
    comment: str | None,
    settings: Settings | None = None,
) -> Application:
    """Send a staff decision to the run that waits for it; the application decided on."""
    settings = settings or load_settings()
    application = decisions.find_application(reference, uow=uow_factory(settings))
    if application is None:
        raise ResumeRefusedError(f"no application {reference}")
    if application.flow_run_id is None:
        raise ResumeRefusedError(f"{application.reference} has no flow run yet")
    run_input: dict[str, Any] = {"decision": decision, "staff": staff}
    if comment is not None:
        run_input["comment"] = comment
    asyncio.run(resume_with_decision(api_url(settings), application.flow_run_id, run_input))
    return application
