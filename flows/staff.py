"""Staff decisions from outside the Prefect UI: send one to the waiting run, then tell its outcome.

The CLI and the tests share this. A decision resumes the waiting flow run through the Prefect
API with the same `Decision` input the UI's Resume dialog sends. The server only checks the
input's shape; the run itself checks the rules and the staff member's one-time code after the
resume and keeps its verdict in our database under the attempt's key, which is how `decide`
learns whether its decision stood. Prefect is imported inside the functions: the CLI imports
this module for commands that never reach the API.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from flows.common import load_settings, uow_factory
from flows.settings import Settings
from handlers import decisions
from handlers.models import ApplicationStatus
from handlers.staff import DecisionAttempt, decision_verdict, list_staff
from handlers.views import ApplicationDetail, application_detail


class DecisionError(RuntimeError):
    """The decision could not be sent; the message is one line that says what to do."""


class ResumeRefusedError(DecisionError):
    """The Prefect server did not resume the run; the message is its reason."""


class Outcome(BaseModel):
    """What became of a decision, and whether it stood (`accepted`)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["applied", "rejected", "waiting", "sent", "refused", "failed", "timeout"]
    reference: str
    message: str

    @property
    def accepted(self) -> bool:
        """True when the decision stood (or was sent, with no wait asked for)."""
        return self.kind in {"applied", "rejected", "waiting", "sent"}


def api_url(settings: Settings) -> str:
    """The Prefect API: PREFECT_API_URL, else the local server `serve` starts."""
    return os.environ.get("PREFECT_API_URL") or f"http://127.0.0.1:{settings.prefect_port}/api"


def unreachable(url: str) -> DecisionError:
    """The one-line error for an API that does not answer, with where to look."""
    return DecisionError(
        f"cannot reach the Prefect API at {url}; is `docintake serve` running? "
        "(DOCINTAKE_PREFECT_PORT, or PREFECT_API_URL for a shared server, says where)"
    )


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


async def resume_with_decision(url: str, flow_run_id: str, run_input: dict[str, Any]) -> str:
    """Resume a waiting run with a decision; the wait's key (raise ResumeRefusedError if not)."""
    from prefect.client.orchestration import PrefectClient
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.responses import SetStateStatus
    from prefect.exceptions import ObjectNotFound

    from flows.recovery import interrupted

    deadline = time.monotonic() + SCHEMA_WAIT_SECONDS
    async with PrefectClient(url) as client:
        while True:
            try:
                run = await client.read_flow_run(UUID(flow_run_id))
            except ObjectNotFound:
                raise DecisionError(
                    f"the Prefect API at {url} does not know this application's run; is it "
                    "docintake's server (DOCINTAKE_PREFECT_PORT, PREFECT_API_URL)?"
                ) from None
            if interrupted(run.state):
                raise ResumeRefusedError(
                    f"the run was interrupted ({run.state.name if run.state else '?'}); "
                    "docintake restarts it shortly — decide again once it waits"
                )
            if run.state is None or run.state.type != StateType.PAUSED:
                state = run.state.name if run.state is not None else "unknown"
                raise ResumeRefusedError(f"the run is not waiting for a decision (state: {state})")
            pause_key = run.state.state_details.pause_key or ""
            result = await client.resume_flow_run(UUID(flow_run_id), run_input=run_input)
            if result.status == SetStateStatus.ACCEPT:
                return pause_key
            reason = getattr(result.details, "reason", None) or str(result.status)
            if not reason.startswith(SCHEMA_NOT_YET):
                raise ResumeRefusedError(reason)
            if time.monotonic() > deadline:
                raise ResumeRefusedError(
                    "the run waits without its decision form (its process was killed as it "
                    "suspended); docintake restarts it shortly — decide again once it waits"
                )
            await asyncio.sleep(0.3)


def _open_application(reference: str, settings: Settings) -> ApplicationDetail:
    application = application_detail(reference, uow=uow_factory(settings))
    if application is None:
        raise DecisionError(f"no application {reference} (`docintake requests list` shows them)")
    if application.status == ApplicationStatus.cancelled:
        raise DecisionError(f"{application.reference} was cancelled by staff; nothing to decide")
    if application.status != ApplicationStatus.awaiting_approval:
        raise DecisionError(
            f"{application.reference} is not waiting for a decision (status: {application.status})"
        )
    if application.flow_run_id is None:
        raise DecisionError(f"{application.reference} has no flow run yet")
    return application


def _check_staff(username: str, settings: Settings) -> None:
    active = {s.username for s in list_staff(uow=uow_factory(settings), active_only=True)}
    if username not in active:
        raise ResumeRefusedError(
            f"{username} is not an active enrolled staff member "
            "(`docintake staff list`; a locked one is unlocked by `docintake staff reset`)"
        )


def precheck(reference: str, staff: str, *, settings: Settings | None = None) -> None:
    """Raise what `decide` would for this application and staff, before a code is asked for."""
    settings = settings or load_settings()
    _open_application(reference, settings)
    _check_staff(staff.strip().lower(), settings)


def _outcome(
    application_id: int, attempt: DecisionAttempt, reference: str, settings: Settings
) -> Outcome | None:
    verdict = decision_verdict(attempt.key, uow=uow_factory(settings))
    if verdict is None:
        return None
    if not verdict.ok:
        reason = f"{verdict.message_en} / {verdict.message_lv}"
        return Outcome(kind="refused", reference=reference, message=reason)
    application = decisions.get_application(application_id, uow=uow_factory(settings))
    if application is None:  # pragma: no cover - applications are never deleted
        return None
    status = application.status
    if status == ApplicationStatus.applied:
        return Outcome(kind="applied", reference=reference, message="approved and applied")
    if status == ApplicationStatus.rejected:
        return Outcome(kind="rejected", reference=reference, message="rejected; the client is told")
    if status == ApplicationStatus.failed:
        return Outcome(
            kind="failed",
            reference=reference,
            message="approved, but applying it failed (`docintake requests show` says why)",
        )
    approvals = decisions.approvals_for(application_id, uow=uow_factory(settings))
    given = [a.staff for a in approvals if a.decision == "approve"]
    if (
        attempt.decision == "approve"
        and status == ApplicationStatus.awaiting_approval
        and attempt.staff in given
    ):
        return Outcome(
            kind="waiting",
            reference=reference,
            message=f"approval {len(given)} of 2 recorded ({', '.join(given)}); "
            "waiting for a second approver",
        )
    return None


def decide(
    reference: str,
    *,
    decision: str,
    staff: str,
    code: str,
    comment: str = "",
    wait_seconds: float | None = None,
    settings: Settings | None = None,
) -> Outcome:
    """Send a staff decision to the run that waits for it; what became of it.

    `wait_seconds=0` returns once the server took the decision (kind `sent`); otherwise it
    waits up to that long (default: the setting) for the run's verdict and what followed.
    """
    from flows.prefect_server import is_healthy

    settings = settings or load_settings()
    username = staff.strip().lower()
    application = _open_application(reference, settings)
    _check_staff(username, settings)
    url = api_url(settings)
    if not is_healthy(url):
        raise unreachable(url)
    run_input = {"decision": decision, "staff": username, "code": code, "comment": comment}
    flow_run_id = application.flow_run_id or ""
    try:
        pause_key = asyncio.run(resume_with_decision(url, flow_run_id, run_input))
    except DecisionError:
        raise
    except Exception as exc:  # httpx, or an HTTP error status: one line, no traceback
        if "401" in str(exc) or "Unauthorized" in str(exc):
            raise DecisionError(
                f"the Prefect API at {url} refused the login; set PREFECT_API_AUTH_STRING"
            ) from None
        raise unreachable(url) from None
    if wait_seconds is None:
        wait_seconds = settings.decision_wait_seconds
    if wait_seconds <= 0:
        return Outcome(
            kind="sent",
            reference=application.reference,
            message=f"{decision} sent; `docintake requests show {application.reference}` "
            "tells the outcome",
        )
    attempt = DecisionAttempt(
        application_id=application.id,
        flow_run_id=flow_run_id,
        pause_key=pause_key,
        decision=decision,
        staff=username,
        code=code,
        comment=comment,
    )
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        outcome = _outcome(application.id, attempt, application.reference, settings)
        if outcome is not None:
            return outcome
        time.sleep(0.5)
    return Outcome(
        kind="timeout",
        reference=application.reference,
        message=f"sent, but no outcome within {wait_seconds:g} s; "
        f"`docintake requests show {application.reference}` tells it later",
    )
