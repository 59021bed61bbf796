"""The user_change request, as FORMS.md describes it.

Iesniegums par lietotāja maiņu
/ Application for change of user.
"""

from __future__ import annotations

from prefect import flow

from flows.request_flow import carry_request


@flow(name="user_change", persist_result=True, log_prints=False)
async def user_change(application_id: int) -> str:
    """Replace a contract's user: check, wait for staff, then apply.

    The books must know the contract of this reg_no, the submitter as its authorized person and
    the old username as an active user of it. On approval a new user is registered, the old
    user's balance moves to the new user's account in one transaction, the old user is blocked,
    the credentials go to the new user's e-mail and the submitter gets a confirmation.
    """
    return await carry_request(application_id)
