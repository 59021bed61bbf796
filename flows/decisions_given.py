"""Decisions given in Prefect, copied into our database before anything can lose them.

A resume stores the staff decision as the run's input in Prefect (`flow_run_input`) and
schedules the run; the flow itself records the decision only once it runs again. Between the
two, a crash used to lose the decision: restarting a crashed run (AwaitingRetry) deletes its
inputs. So the decision is copied to an approval row first — by the engine right after it claims
a run, and by recovery before it restarts one. The flow's own `record_decision` finds the row
and does nothing more; `wait_for_decision` takes it instead of asking again.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any
from uuid import UUID

from prefect.client.orchestration import PrefectClient
from pydantic import ValidationError

from flows.common import load_settings, uow_factory
from flows.review import Decision, decision_problem
from handlers import decisions
from handlers.db import UnitOfWork

log = logging.getLogger(__name__)

# `asuspend_flow_run(key="decision-{stage}-{attempt}")` saves the answer under this key
# (Prefect: "<state name>-<pause key>-response").
_RESPONSE_KEY = re.compile(r"^suspended-decision-(\d+)-(\d+)-response$")
# Far more than two stages with a few refused attempts each.
_INPUT_LIMIT = 100


def given_decisions(inputs: dict[str, Any]) -> dict[int, list[Decision]]:
    """The decisions in a run's inputs by stage, attempts in order; unreadable ones dropped."""
    found: dict[int, list[tuple[int, Decision]]] = {}
    for key, value in inputs.items():
        match = _RESPONSE_KEY.match(key)
        if match is None:
            continue
        try:
            decision = Decision.model_validate(value)
        except ValidationError:
            continue
        found.setdefault(int(match[1]), []).append((int(match[2]), decision))
    return {stage: [d for _a, d in sorted(given)] for stage, given in found.items()}


def record_given(
    application_id: int, given: dict[int, list[Decision]], *, uow: UnitOfWork | None = None
) -> int:
    """Record the decisions not yet in our database, stage by stage; how many were new."""
    from handlers.request_types import needs_two_approvals

    uow = uow or uow_factory(load_settings())
    application = decisions.get_application(application_id, uow=uow)
    if application is None:
        return 0
    # The same rule as the flow's `approvals_needed`: a risky type or an unverified sender.
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
        # The last attempt that stands; refused ones the flow asks again.
        standing = [d for d in given[stage] if decision_problem(d, first_staff=first_staff) is None]
        if not standing:
            break
        decision = standing[-1]
        final = decision.decision == "reject" or not four_eyes or stage >= 2
        approvals.append(
            decisions.record_decision(
                application_id,
                uow=uow,
                decision=decision.decision,
                staff=decision.staff,
                comment=decision.comment,
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
    recorded = await asyncio.to_thread(record_given, application_id, given_decisions(values))
    if recorded:
        log.info("recorded %d decision(s) given on flow run %s", recorded, flow_run_id)
    return recorded


def application_of(parameters: dict[str, Any]) -> int | None:
    """The application a request run carries, from its parameters (None for other flows)."""
    value = parameters.get("application_id")
    return value if isinstance(value, int) else None
