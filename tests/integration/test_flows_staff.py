"""Decisions by enrolled staff with one-time codes, against a real Prefect server and runner."""

from __future__ import annotations

import asyncio
import re
from uuid import UUID

import httpx
import pytest
from prefect.client.orchestration import PrefectClient
from prefect.states import Cancelling
from sqlmodel import select

from handlers.models import ApplicationStatus, Approval, OutboxMessage, User
from tests.support.flows_helpers import (
    first_of_two_approvals,
    new_user_fields,
    staff_cli,
    waiting_application,
)
from tests.support.prefect_env import PrefectEnv, seed_contract
from tests.support.staff import fresh_code, wrong_code

pytestmark = pytest.mark.slow


def _approvals(env: PrefectEnv, application_id: int) -> list[tuple[str, str]]:
    """(decision, staff) of every decision recorded on the application."""
    with env.uow() as uow:
        return [
            (a.decision, a.staff)
            for a in uow.session.exec(
                select(Approval).where(Approval.application_id == application_id)
            )
        ]


def test_cli_says_what_became_of_each_decision(prefect_env: PrefectEnv) -> None:
    """A wrong code is refused (exit 1) and asked again; a good one is applied (exit 0)."""
    books = seed_contract(prefect_env)
    application_id, reference, _run = waiting_application(
        prefect_env, books, "user_add", new_user_fields(f"w.{books.contract_no}@ozols.test")
    )
    code, output = staff_cli("approve", reference, "--staff", "ilze", "--code", wrong_code("ilze"))
    assert code == 1, output
    refused = rf"{reference}: refused: Wrong one-time code for ilze; [1-4] tries left"
    assert re.search(refused, output)
    assert "Nepareizs vienreizējais kods" in output
    prefect_env.wait_for_resuspended(application_id, "decision-1-2")
    assert prefect_env.application(application_id).status == ApplicationStatus.awaiting_approval
    assert _approvals(prefect_env, application_id) == []

    code, output = staff_cli("approve", reference, "--staff", "ilze")
    assert code == 0, output
    assert f"{reference}: applied" in output
    assert _approvals(prefect_env, application_id) == [("approve", "ilze")]


def test_a_code_works_once(prefect_env: PrefectEnv) -> None:
    """The code that approved one application is refused on the next, as already used."""
    books = seed_contract(prefect_env)
    first_id, first_ref, _ = waiting_application(
        prefect_env, books, "user_add", new_user_fields(f"o1.{books.contract_no}@ozols.test")
    )
    second_id, second_ref, _ = waiting_application(
        prefect_env, books, "user_add", new_user_fields(f"o2.{books.contract_no}@ozols.test")
    )
    used = fresh_code("maris")
    code, output = staff_cli("approve", first_ref, "--staff", "maris", "--code", used)
    assert code == 0, output
    code, output = staff_cli("approve", second_ref, "--staff", "maris", "--code", used)
    assert code == 1, output
    assert "This code was already used" in output
    assert _approvals(prefect_env, second_id) == []
    assert _approvals(prefect_env, first_id) == [("approve", "maris")]


def test_four_eyes_needs_two_different_staff_each_with_a_code(prefect_env: PrefectEnv) -> None:
    """The first approver cannot give the second approval; `requests list` shows 1/2."""
    _books, application_id, reference, _run = first_of_two_approvals(prefect_env, "130.00")
    code, output = staff_cli("list", "--pending")
    assert code == 0, output
    row = next(line for line in output.splitlines() if reference in line)
    assert "1/2" in row

    code, output = staff_cli("approve", reference, "--staff", "ilze")
    assert code == 1, output
    assert "The second approval must come from another staff member, not ilze" in output
    prefect_env.wait_for_resuspended(application_id, "decision-2-2")

    code, output = staff_cli("approve", reference, "--staff", "maris")
    assert code == 0, output
    assert "applied" in output
    assert _approvals(prefect_env, application_id) == [("approve", "ilze"), ("approve", "maris")]


def test_a_forged_resume_through_the_raw_api_changes_nothing(prefect_env: PrefectEnv) -> None:
    """A REST resume naming enrolled staff with a made-up code is refused after the resume."""
    books = seed_contract(prefect_env)
    email = f"forged.{books.contract_no}@ozols.test"
    application_id, _reference, run_id = waiting_application(
        prefect_env, books, "user_add", new_user_fields(email)
    )
    url = f"{prefect_env.api_url}/flow_runs/{run_id}/resume"
    stranger = {"decision": "approve", "staff": "mallory", "code": "123456"}
    response = httpx.post(url, json={"run_input": stranger}, timeout=30)
    assert response.json()["status"] == "REJECT", "only enrolled staff are in the form"

    forged = {"decision": "approve", "staff": "ilze", "code": wrong_code("ilze")}
    response = httpx.post(url, json={"run_input": forged}, timeout=30)
    assert response.json()["status"] == "ACCEPT", response.text
    prefect_env.wait_for_resuspended(application_id, "decision-1-2")
    assert prefect_env.application(application_id).status == ApplicationStatus.awaiting_approval
    assert _approvals(prefect_env, application_id) == []
    with prefect_env.uow() as uow:
        assert uow.session.exec(select(User).where(User.email == email)).first() is None


def test_cancel_in_the_ui_ends_the_application_and_tells_the_client_once(
    prefect_env: PrefectEnv,
) -> None:
    """A person's Cancel on a waiting run: `cancelled`, one e-mail, and the CLI says so."""
    books = seed_contract(prefect_env)
    application_id, reference, run_id = waiting_application(
        prefect_env, books, "user_add", new_user_fields(f"c.{books.contract_no}@ozols.test")
    )

    async def cancel() -> str:
        # What the UI's Cancel sends; the server makes a suspended run Cancelled at once.
        async with PrefectClient(prefect_env.api_url) as client:
            await client.set_flow_run_state(UUID(run_id), Cancelling())
            run = await client.read_flow_run(UUID(run_id))
        return (run.state.name or "?") if run.state is not None else "?"

    assert asyncio.run(cancel()) == "Cancelled"
    done = prefect_env.wait_for_status(application_id, ApplicationStatus.cancelled)
    assert done.status == ApplicationStatus.cancelled
    with prefect_env.uow() as uow:
        mail = uow.session.exec(
            select(OutboxMessage).where(OutboxMessage.application_id == application_id)
        ).all()
        cancelled = [m.context["comment"] for m in mail if m.template == "request_rejected"]
    assert len(cancelled) == 1
    assert "Cancelled by staff" in cancelled[0]
    code, output = staff_cli("approve", reference, "--staff", "ilze")
    assert code == 2, output
    assert "cancelled by staff" in output
    code, output = staff_cli("list")
    assert "cancelled" in next(line for line in output.splitlines() if reference in line)
