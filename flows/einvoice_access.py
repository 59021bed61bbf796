"""The einvoice_access request, as FORMS.md describes it.

Iesniegums par piekļuvi elektroniskajiem rēķiniem
/ Application for access to electronic invoices.
"""

from __future__ import annotations

from prefect import flow

from flows.request_flow import carry_request


@flow(name="einvoice_access", persist_result=True, log_prints=False)
async def einvoice_access(application_id: int) -> str:
    """Give the customer's accountant access to e-invoices after staff approve.

    On approval an accountant user is made (sees invoices only, uses no databases), its
    credentials are e-mailed to accountant_email, and from then on invoice notices go to the
    accountant as well.
    """
    return await carry_request(application_id)
