"""The fee_increase request, as FORMS.md describes it.

Iesniegums par abonentmaksas palielināšanu
/ Application for increasing the subscription fee.
"""

from __future__ import annotations

from prefect import flow

from flows.request_flow import carry_request


@flow(name="fee_increase", persist_result=True, log_prints=False)
async def fee_increase(application_id: int) -> str:
    """Raise a contract's monthly fee from a month on; two different staff must approve.

    The new fee must be higher than the contract's current one (a decrease is a contract
    amendment). Money is risky, so a second, different approver confirms before the new fee
    applies from effective_from (default: the next billing month).
    """
    return await carry_request(application_id)
