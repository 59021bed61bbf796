"""The requisites_change request, as FORMS.md describes it.

Iesniegums par uzņēmuma rekvizītu maiņu
/ Application for change of company details.
"""

from __future__ import annotations

from prefect import flow

from flows.request_flow import carry_request


@flow(name="requisites_change", persist_result=True, log_prints=False)
async def requisites_change(application_id: int) -> str:
    """Record a new version of the company's details; two different staff must approve.

    Bank details are where fraud hides, so a second, different approver confirms. On approval a
    new details version is valid from effective_from (default today); invoices made after that
    use it and earlier invoices keep the details they were made with.
    """
    return await carry_request(application_id)
