"""The contract_suspend request, as FORMS.md describes it.

Iesniegums par līguma darbības pārtraukšanu / atjaunošanu
/ Application for suspending or resuming the contract.
"""

from __future__ import annotations

from prefect import flow

from flows.request_flow import carry_request


@flow(name="contract_suspend", persist_result=True, log_prints=False)
async def contract_suspend(application_id: int) -> str:
    """Suspend or resume a contract after staff approve.

    Suspend: the contract is suspended and every active user is blocked because of the
    suspension; with date_to the daily schedule resumes it by itself on that date. Resume (the
    contract must be suspended): it is active again and exactly the users blocked by the
    suspension are unblocked.
    """
    return await carry_request(application_id)
