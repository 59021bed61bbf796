"""The deployments docintake serves: one per request type, intake, and the schedules."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from prefect.client.schemas.schedules import CronSchedule, IntervalSchedule
from prefect.deployments.runner import RunnerDeployment
from prefect.flows import Flow

from flows.contract_suspend import contract_suspend
from flows.einvoice_access import einvoice_access
from flows.fee_increase import fee_increase
from flows.intake_flow import DEPLOYMENT_NAME, intake
from flows.requisites_change import requisites_change
from flows.schedules import daily, reminders
from flows.user_add import user_add
from flows.user_block import user_block
from flows.user_change import user_change

REQUEST_FLOWS: dict[str, Flow[Any, Any]] = {
    "user_change": user_change,
    "user_add": user_add,
    "user_block": user_block,
    "fee_increase": fee_increase,
    "requisites_change": requisites_change,
    "contract_suspend": contract_suspend,
    "einvoice_access": einvoice_access,
}
FOUR_EYES = frozenset({"fee_increase", "requisites_change"})
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
