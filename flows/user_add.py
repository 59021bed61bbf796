"""The user_add request, as FORMS.md describes it.

Iesniegums par jauna lietotāja reģistrēšanu
/ Application for registration of a new user.
"""

from __future__ import annotations

from prefect import flow

from flows.request_flow import carry_request


@flow(name="user_add", persist_result=True, log_prints=False)
async def user_add(application_id: int) -> str:
    """Register 1 to 20 new users of a contract after staff approve.

    No e-mail may already belong to an active user of the contract. On approval each user is
    registered and gets credentials at its e-mail, and the contract's monthly amount rises by the
    per-user fee for each; no contract amendment is needed.
    """
    return await carry_request(application_id)
