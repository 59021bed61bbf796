"""The user_block request, as FORMS.md describes it.

Iesniegums par lietotāja bloķēšanu
/ Application for blocking a user.
"""

from __future__ import annotations

from prefect import flow

from flows.request_flow import carry_request


@flow(name="user_block", persist_result=True, log_prints=False)
async def user_block(application_id: int) -> str:
    """Block users of a contract, on approval or from block_from.

    Every username must belong to the contract, and blocking every active user is refused (that
    is a suspension or a change of user). On approval the users are blocked from block_from, the
    monthly amount falls by the per-user fee each (never below the base fee) and the submitter
    gets a confirmation; a future block_from takes effect through the daily schedule.
    """
    return await carry_request(application_id)
