"""The deployments docintake serves: one per request type, intake, and the schedules."""

from __future__ import annotations

import importlib
from datetime import timedelta
from typing import Any

from prefect.client.schemas.schedules import CronSchedule, IntervalSchedule
from prefect.deployments.runner import RunnerDeployment
from prefect.flows import Flow

from flows.intake_flow import DEPLOYMENT_NAME, intake
from flows.schedules import daily, reminders
from handlers.request_types import REQUEST_TYPES


def _request_flow(code: str) -> Flow[Any, Any]:
    # One flow module per request type, named by its code: flows/<code>.py defines flow <code>.
    request_flow: Flow[Any, Any] = getattr(importlib.import_module(f"flows.{code}"), code)
    return request_flow


# The request types' flows, in the registry's order; the registry is the only list of them.
REQUEST_FLOWS: dict[str, Flow[Any, Any]] = {code: _request_flow(code) for code in REQUEST_TYPES}
FOUR_EYES = frozenset(code for code, declared in REQUEST_TYPES.items() if declared.four_eyes)
TIMEZONE = "Europe/Riga"


async def build_deployments(*, schedules: bool = True) -> list[RunnerDeployment]:
    """Every deployment; `schedules=False` leaves the timed ones unscheduled (tests run them)."""
    deployments = [
        await request_flow.ato_deployment(name=DEPLOYMENT_NAME, tags=["docintake", form_type])
        for form_type, request_flow in REQUEST_FLOWS.items()
    ]
    deployments.append(await intake.ato_deployment(name=DEPLOYMENT_NAME, tags=["docintake"]))
    daily_schedules = [CronSchedule(cron="0 6 * * *", timezone=TIMEZONE)] if schedules else []
    reminder_schedules = [IntervalSchedule(interval=timedelta(hours=1))] if schedules else []
    deployments.append(
        await daily.ato_deployment(
            name=DEPLOYMENT_NAME, tags=["docintake"], schedules=daily_schedules
        )
    )
    deployments.append(
        await reminders.ato_deployment(
            name=DEPLOYMENT_NAME, tags=["docintake"], schedules=reminder_schedules
        )
    )
    return deployments
