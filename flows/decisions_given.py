"""Decisions given in Prefect, copied into our database before anything can lose them.

A resume stores the staff decision as the run's input in Prefect (`flow_run_input`) and
schedules the run; the flow itself records the decision only once it runs again. Between the
two, a crash used to lose the decision: restarting a crashed run (AwaitingRetry) deletes its
inputs. So the decision is copied to an approval row first — by the engine right after it claims
a run, and by recovery before it restarts one. The flow's own `record_decision` finds the row
and does nothing more; `wait_for_decision` takes it instead of asking again.

A copied decision passes exactly the flow's check first (`handlers.staff.verify_decision`: the
form's rules, then the staff member's one-time code), attempt by attempt under the same keys, so
a decision made through the API without a valid code is never recorded, and the flow later
reads the same stored verdicts instead of seeing the codes as reused.

A code is judged at the moment the decision was given — when the Prefect server stored the
input, a time the sender cannot choose — not when a run gets to it: a run that waits a minute
behind a backlog, a restart or a crash must not turn a valid code into a wrong one.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from prefect.client.orchestration import PrefectClient
from pydantic import ValidationError

from flows.common import load_settings, staff_key, uow_factory
from flows.review import Decision
from handlers import decisions
from handlers.db import UnitOfWork
from handlers.staff import DecisionAttempt, verify_decision

log = logging.getLogger(__name__)

# `asuspend_flow_run(key="decision-{stage}-{attempt}")` saves the answer under this key
# (Prefect: "<state name>-<pause key>-response").
_RESPONSE_KEY = re.compile(r"^suspended-decision-(\d+)-(\d+)-response$")
# Far more than two stages with a few refused attempts each.
_INPUT_LIMIT = 100


@dataclass(frozen=True)
class Given:
    """One decision as the run's input holds it: its attempt number and what staff sent."""

    attempt: int
    decision: Decision
    given_at: datetime | None = None


def given_decisions(
    inputs: dict[str, Any], given_at: Mapping[str, datetime] | None = None
) -> dict[int, list[Given]]:
    """The decisions in a run's inputs by stage, attempts in order; unreadable ones dropped.

    `given_at`: when the server stored each input, by key.
    """
    found: dict[int, list[Given]] = {}
    for key, value in inputs.items():
        match = _RESPONSE_KEY.match(key)
        if match is None:
            continue
        try:
            decision = Decision.model_validate(value)
        except ValidationError:
            continue
        when = (given_at or {}).get(key)
        found.setdefault(int(match[1]), []).append(Given(int(match[2]), decision, when))
    return {stage: sorted(given, key=lambda g: g.attempt) for stage, given in found.items()}


def record_given(
    application_id: int,
    given: dict[int, list[Given]],
    *,
    flow_run_id: str,
    uow: UnitOfWork | None = None,
    key: str | None = None,
) -> int:
    """Record the decisions that stand and are not yet in our database; how many were new."""
    from handlers.request_types import needs_two_approvals

    if uow is None or key is None:
        settings = load_settings()
        uow = uow or uow_factory(settings)
        key = key or staff_key(settings)
    application = decisions.get_application(application_id, uow=uow)
    if application is None:
        return 0
    # The same rule as the flow's `check_and_wait`: a risky type or an unverified sender.
    four_eyes = needs_two_approvals(
        application.form_type, sender_verified=application.sender_verified
    )
    approvals = decisions.approvals_for(application_id, uow=uow)
    recorded = 0
    for stage in sorted(given):
        if len(approvals) >= stage:
            continue  # this stage's decision is recorded already
        if len(approvals) < stage - 1:
            break  # an earlier stage is missing: the flow will ask for it
        first_staff = approvals[0].staff if stage == 2 and approvals else None
        standing: tuple[Decision, str] | None = None
        # In the flow's order: the first attempt whose check passes is the one that stands.
        for item in given[stage]:
            verdict = verify_decision(
                DecisionAttempt(
                    application_id=application_id,
                    flow_run_id=flow_run_id,
                    pause_key=f"decision-{stage}-{item.attempt}",
                    decision=item.decision.decision,
                    staff=item.decision.staff,
                    code=item.decision.code,
                    comment=item.decision.comment,
                    first_staff=first_staff,
                ),
                uow=uow,
                key=key,
                now=item.given_at or datetime.now(UTC),
            )
            if verdict.ok:
                standing = (item.decision, verdict.username)
                break
        if standing is None:
            break
        decision, username = standing
        final = decision.decision == "reject" or not four_eyes or stage >= 2
        approvals.append(
            decisions.record_decision(
                application_id,
                uow=uow,
                decision=decision.decision,
                staff=username,
                comment=decision.comment or None,
                final=final,
            )
        )
        recorded += 1
        if final:
            break
    return recorded


async def capture_decisions(client: PrefectClient, flow_run_id: UUID, application_id: int) -> int:
    """Copy the decisions a run holds in Prefect into our database; how many were new."""
    inputs = await client.filter_flow_run_input(
        flow_run_id, key_prefix="suspended-decision-", limit=_INPUT_LIMIT, exclude_keys=set()
    )
    if not inputs:
        return 0
    values = {item.key: item.decoded_value for item in inputs}
    stored = {item.key: item.created for item in inputs if item.created is not None}
    recorded = await asyncio.to_thread(
        record_given,
        application_id,
        given_decisions(values, stored),
        flow_run_id=str(flow_run_id),
    )
    if recorded:
        log.info("recorded %d decision(s) given on flow run %s", recorded, flow_run_id)
    return recorded


async def decision_given_at(
    client: PrefectClient, flow_run_id: UUID, pause_key: str
) -> datetime | None:
    """When the server stored the decision answering this wait (None if it holds none)."""
    inputs = await client.filter_flow_run_input(
        flow_run_id, key_prefix=f"suspended-{pause_key}-response", limit=1, exclude_keys=set()
    )
    return inputs[0].created if inputs else None


def application_of(parameters: dict[str, Any]) -> int | None:
    """The application a request run carries, from its parameters (None for other flows)."""
    value = parameters.get("application_id")
    return value if isinstance(value, int) else None
