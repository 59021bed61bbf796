"""Request flows against a real Prefect server and a real serving process (tests/support)."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any
from uuid import UUID

import pytest
from prefect.client.orchestration import PrefectClient
from sqlmodel import select

from flows.deployments import FOUR_EYES, REQUEST_FLOWS
from forms import render_form
from handlers.commands import SuspendContract
from handlers.models import (
    Application,
    ApplicationStatus,
    Approval,
    Contract,
    ContractFee,
    ContractStatus,
    CustomerDetails,
    OutboxMessage,
    User,
    UserRole,
    UserStatus,
)
from handlers.operations import suspend_contract
from intake.sources.dropdir import deliver
from tests.support.books import make_message
from tests.support.flows_helpers import (
    applied_by,
    first_of_two_approvals,
    in_state,
    new_user_fields,
    staff_cli,
    waiting_application,
)
from tests.support.prefect_env import (
    STAFF_EMAIL,
    PrefectEnv,
    SeededContract,
    add_application,
    common_fields,
    seed_contract,
)

pytestmark = pytest.mark.slow
FORM_TYPES = tuple(REQUEST_FLOWS)


def _all_sent(env: PrefectEnv, application_id: int) -> bool:
    """True when the application has e-mails and every one of them was sent."""
    mail = _outbox(env, application_id)
    return bool(mail) and all(status == "sent" for _, _, status in mail)


def _outbox(env: PrefectEnv, application_id: int) -> list[tuple[str, str, str]]:
    """(template, recipient, status) of every e-mail written for the application."""
    with env.uow() as uow:
        return [
            (m.template, m.recipient, str(m.status))
            for m in uow.session.exec(
                select(OutboxMessage).where(OutboxMessage.application_id == application_id)
            )
        ]


def test_user_add_approved_from_cli_reaches_books(prefect_env: PrefectEnv) -> None:
    """Approving a waiting user_add registers the users and e-mails their credentials."""
    books = seed_contract(prefect_env)
    new_user = {
        "first_name": "Pēteris",
        "last_name": "Liepa",
        "personal_code": None,
        "position": "Jurists",
        "email": "peteris.liepa@ozols.test",
        "phone": "+37129000001",
    }
    application_id = add_application(prefect_env, books, "user_add", {"users": [new_user]})
    run_id = prefect_env.wait_for_suspended(application_id)
    application = prefect_env.application(application_id)
    assert application.status == ApplicationStatus.awaiting_approval
    assert prefect_env.flow_run(run_id).name.startswith(f"user_add · {books.customer_name}")

    code, output = staff_cli("approve", application.reference, "--staff", "ilze")
    assert code == 0, output

    done = prefect_env.wait_for_status(
        application_id, ApplicationStatus.applied, ApplicationStatus.failed
    )
    assert done.status == ApplicationStatus.applied
    with prefect_env.uow() as uow:
        user = uow.session.exec(select(User).where(User.email == new_user["email"])).one()
        assert user.contract_id == books.contract_id
        approvals = [
            (a.decision, a.staff)
            for a in uow.session.exec(
                select(Approval).where(Approval.application_id == application_id)
            )
        ]
    assert approvals == [("approve", "ilze")]
    prefect_env.wait_for(
        lambda: prefect_env.flow_run(run_id).state.name == "Completed", what="run completed"
    )
    prefect_env.wait_for(
        lambda: any(
            recipient == new_user["email"] and status == "sent"
            for _, recipient, status in _outbox(prefect_env, application_id)
        ),
        what="the credentials e-mail to be sent",
    )
    stored = b"".join(
        path.read_bytes() for path in prefect_env.result_storage.rglob("*") if path.is_file()
    )
    assert stored, "task results are persisted, so a resumed run redoes nothing"
    for personal in (new_user["email"], new_user["last_name"], books.customer_name):
        assert str(personal).encode() not in stored


def test_reject_sends_the_comment_to_the_client(prefect_env: PrefectEnv) -> None:
    """A rejection with a comment sets `rejected` and mails the comment to the sender."""
    books = seed_contract(prefect_env)
    application_id, reference, _run = waiting_application(
        prefect_env, books, "user_add", new_user_fields(f"liga.{books.contract_no}@ozols.test")
    )
    code, output = staff_cli(
        "reject", reference, "--staff", "ilze", "--comment", "Nav paraksta / Not signed"
    )
    assert code == 0, output
    done = prefect_env.wait_for_status(application_id, ApplicationStatus.rejected)
    assert done.status == ApplicationStatus.rejected
    prefect_env.wait_for(
        lambda: (
            ("request_rejected", books.person_email, "sent") in _outbox(prefect_env, application_id)
        ),
        what="the rejection e-mail to be sent",
    )
    with prefect_env.uow() as uow:
        row = uow.session.exec(
            select(OutboxMessage).where(
                OutboxMessage.application_id == application_id,
                OutboxMessage.template == "request_rejected",
            )
        ).one()
        assert row.context["comment"] == "Nav paraksta / Not signed"
        assert uow.session.exec(select(User).where(User.contract_id == books.contract_id)).all()


def test_books_check_failure_rejects_without_waiting(prefect_env: PrefectEnv) -> None:
    """A user_block naming a stranger's username is rejected with the field error, no wait."""
    books = seed_contract(prefect_env)
    fields = {"users": [{"name": "Kāds Cits", "username": "nobody-here"}], "block_from": None}
    application_id = add_application(prefect_env, books, "user_block", fields)
    done = prefect_env.wait_for_status(application_id, ApplicationStatus.rejected)
    assert done.errors, "the books' errors are stored with the application"
    prefect_env.wait_for(
        lambda: (
            ("request_rejected", books.person_email, "sent") in _outbox(prefect_env, application_id)
        ),
        what="the rejection e-mail",
    )
    assert done.flow_run_id is not None
    # The reply leaves just before the run ends: wait for its end rather than race it.
    prefect_env.wait_for(
        partial(in_state, prefect_env, done.flow_run_id, "Completed"), what="the run to complete"
    )
    with prefect_env.uow() as uow:
        assert not uow.session.exec(
            select(Approval).where(Approval.application_id == application_id)
        ).all()


def test_bad_resume_is_refused_and_the_run_keeps_waiting(prefect_env: PrefectEnv) -> None:
    """A reject without a comment, or a blank staff name, is refused; the run stays suspended."""
    books = seed_contract(prefect_env)
    application_id, reference, run_id = waiting_application(
        prefect_env, books, "user_add", new_user_fields(f"x.{books.contract_no}@ozols.test")
    )
    no_code = asyncio.run(_resume_raw(prefect_env, run_id, {"decision": "reject", "staff": "ilze"}))
    assert no_code == "REJECT"
    code, output = staff_cli("approve", reference, "--staff", "   ")
    assert code == 1
    assert "refused" in output
    assert "staff" in output
    code, output = staff_cli("reject", reference, "--staff", "ilze", "--comment", "  ")
    assert code == 1, output
    assert "A comment is required to reject" in output
    assert "Noraidot jāraksta komentārs" in output
    prefect_env.wait_for_resuspended(application_id, "decision-1-2")
    assert prefect_env.flow_run(run_id).state.name == "Suspended"
    assert prefect_env.application(application_id).status == ApplicationStatus.awaiting_approval
    code, output = staff_cli("list", "--pending", "--json")
    assert code == 0, output
    assert reference in [row["reference"] for row in json.loads(output)]
    code, output = staff_cli("show", reference, "--json")
    assert code == 0, output
    shown = json.loads(output)
    assert shown["flow_run_state"] == "Suspended"
    assert shown["fields"]["contract_no"] == books.contract_no
    assert shown["history"] == []

    def suspensions() -> list[int] | None:
        levels = [level for level, text in prefect_env.logs(run_id) if "in state Suspended" in text]
        return levels if len(levels) >= 2 else None

    finished = prefect_env.wait_for(
        suspensions,
        what="the run's log of its two suspensions",
    )
    # Two waits so far (the refused reject made the run wait again): both logged at INFO.
    assert finished == [logging.INFO, logging.INFO], "waiting for staff is no error for ops"

    code, output = staff_cli("approve", reference, "--staff", "ilze")
    assert code == 0, output
    prefect_env.wait_for_status(application_id, ApplicationStatus.applied)


async def _resume_raw(env: PrefectEnv, run_id: str, run_input: dict[str, Any]) -> str:
    """The status the server answers to a resume with this input."""
    async with PrefectClient(env.api_url) as client:
        result = await client.resume_flow_run(UUID(run_id), run_input=run_input)
    return str(result.status.value)


def test_fee_increase_needs_two_different_approvers(prefect_env: PrefectEnv) -> None:
    """The first approver cannot give the second approval; a colleague's approval applies it."""
    books, application_id, reference, run_id = first_of_two_approvals(prefect_env, "150.00")
    assert prefect_env.application(application_id).status == ApplicationStatus.awaiting_approval

    code, output = staff_cli("approve", reference, "--staff", "ilze")
    assert code == 1, output
    # Refused after the resume, in words; the run waits again for someone else.
    assert prefect_env.wait_for_resuspended(application_id, "decision-2-2") == run_id

    code, output = staff_cli("approve", reference, "--staff", "maris")
    assert code == 0, output
    assert applied_by(prefect_env, application_id) == ["ilze", "maris"]
    with prefect_env.uow() as uow:
        fees = [
            str(f.base_fee)
            for f in uow.session.exec(
                select(ContractFee).where(ContractFee.contract_id == books.contract_id)
            )
        ]
    assert "150.00" in fees


def test_reminder_then_expiry_of_a_waiting_run(prefect_env: PrefectEnv) -> None:
    """After 2 working days staff are reminded; after 30 the client is told, the run cancelled."""
    books = seed_contract(prefect_env)
    application_id, _reference, run_id = waiting_application(
        prefect_env,
        books,
        "einvoice_access",
        {
            "accountant_first_name": "Inga",
            "accountant_last_name": "Grāmata",
            "accountant_email": f"inga.{books.contract_no}@ozols.test",
            "accountant_phone": None,
        },
    )
    later = datetime.now(UTC) + timedelta(days=5)
    run = prefect_env.run_deployment("reminders/docintake", {"now": later.isoformat()})
    assert run.state.name == "Completed"
    assert ("approval_reminder", STAFF_EMAIL, "sent") in _outbox(prefect_env, application_id)
    reference = prefect_env.application(application_id).reference
    prefect_env.wait_for(
        partial(
            prefect_env.events,
            "docintake.approval.reminder",
            f"docintake.application.{reference}",
        ),
        what="the reminder event in Prefect",
    )
    assert prefect_env.flow_run(run_id).state.name == "Suspended"

    much_later = datetime.now(UTC) + timedelta(days=31)
    run = prefect_env.run_deployment("reminders/docintake", {"now": much_later.isoformat()})
    assert run.state.name == "Completed"
    assert prefect_env.application(application_id).status == ApplicationStatus.expired
    assert ("request_expired", books.person_email, "sent") in _outbox(prefect_env, application_id)
    assert prefect_env.flow_run(run_id).state.name == "Cancelled"


def _form_values(books: SeededContract, form_type: str) -> dict[str, Any]:
    """Parse-result values of a valid filled form of each type for this contract."""
    tag = books.contract_no.lower().replace("-", "")
    specific: dict[str, dict[str, Any]] = {
        "user_change": {
            "old_username": books.usernames[0],
            "old_user_name": "Anna Kalniņa1",
            "new_first_name": "Roberts",
            "new_last_name": "Zariņš",
            "new_email": f"roberts.{tag}@ozols.lv",
        },
        "user_add": {
            "users": [
                {
                    "first_name": "Pēteris",
                    "last_name": "Liepa",
                    "personal_code": None,
                    "position": None,
                    "email": f"peteris.{tag}@ozols.lv",
                    "phone": None,
                }
            ]
        },
        "user_block": {"users": [{"name": "Anna Kalniņa2", "username": books.usernames[1]}]},
        "fee_increase": {"current_fee": "100.00", "new_fee": "150.00"},
        "requisites_change": {"new_name": f'SIA "Ozols {tag} jauns"'},
        "contract_suspend": {"action": "suspend", "date_from": "2026-11-25"},
        "einvoice_access": {
            "accountant_first_name": "Inga",
            "accountant_last_name": "Grāmata",
            "accountant_email": f"inga.{tag}@ozols.lv",
        },
    }
    return {**common_fields(books), **specific[form_type]}


def _mail(books: SeededContract, form_type: str, values: dict[str, Any]) -> bytes:
    """An e-mail from the contract's authorized person carrying the filled form."""
    return make_message(
        from_addr=books.person_email,
        attachments=((f"{form_type}.docx", render_form(form_type, "docx", values)),),
    )


def _applications_of(env: PrefectEnv, contract_no: str) -> list[tuple[int, str, str]]:
    """(id, form_type, status) of every application naming the contract."""
    with env.uow() as uow:
        return [
            (a.id or 0, a.form_type or "", str(a.status))
            for a in uow.session.exec(
                select(Application).where(Application.contract_no == contract_no)
            )
        ]


def _effect_visible(env: PrefectEnv, form_type: str, books: SeededContract) -> bool:
    """True when the books show what the approved request of this type does."""
    tag = books.contract_no.lower().replace("-", "")
    with env.uow() as uow:
        session = uow.session
        users = {
            u.username: u
            for u in session.exec(select(User).where(User.contract_id == books.contract_id))
        }
        by_email = {u.email: u for u in users.values()}
        contract = session.get(Contract, books.contract_id)
        assert contract is not None
        if form_type == "user_change":
            return (
                f"roberts.{tag}@ozols.lv" in by_email
                and users[books.usernames[0]].status == UserStatus.blocked
            )
        if form_type == "user_add":
            return f"peteris.{tag}@ozols.lv" in by_email
        if form_type == "user_block":
            return users[books.usernames[1]].status == UserStatus.blocked
        if form_type == "fee_increase":
            fees = session.exec(
                select(ContractFee).where(ContractFee.contract_id == books.contract_id)
            )
            return any(f.base_fee == Decimal("150.00") for f in fees)
        if form_type == "requisites_change":
            details = session.exec(
                select(CustomerDetails).where(CustomerDetails.customer_id == contract.customer_id)
            )
            return any(d.name == f'SIA "Ozols {tag} jauns"' for d in details)
        if form_type == "contract_suspend":
            return contract.status == ContractStatus.suspended
        accountant = by_email.get(f"inga.{tag}@ozols.lv")
        return accountant is not None and accountant.role == UserRole.accountant


# Nine approvals by two people: one-time codes allow two per person per 30-second step.
@pytest.mark.timeout(600)
def test_every_request_type_from_an_emailed_form_to_the_books(prefect_env: PrefectEnv) -> None:
    """Each of the seven forms, e-mailed and approved, changes the books and is answered."""
    contracts = {form_type: seed_contract(prefect_env, users=3) for form_type in FORM_TYPES}
    for form_type, books in contracts.items():
        deliver(
            prefect_env.home / "inbox",
            _mail(books, form_type, _form_values(books, form_type)),
        )
    waiting: dict[str, tuple[int, str]] = {}
    for form_type, books in contracts.items():
        found = prefect_env.wait_for(
            partial(_applications_of, prefect_env, books.contract_no),
            what=f"the {form_type} application",
        )
        ((application_id, parsed_type, _status),) = found
        assert parsed_type == form_type
        prefect_env.wait_for_suspended(application_id)
        waiting[form_type] = (application_id, prefect_env.application(application_id).reference)
    for _application_id, reference in waiting.values():
        code, output = staff_cli("approve", reference, "--staff", "ilze")
        assert code == 0, output
    for form_type in FOUR_EYES:
        application_id, reference = waiting[form_type]
        prefect_env.wait_for_resuspended(application_id, "decision-2")
        code, output = staff_cli("approve", reference, "--staff", "maris")
        assert code == 0, output
    for form_type, (application_id, _reference) in waiting.items():
        done = prefect_env.wait_for_status(
            application_id, ApplicationStatus.applied, ApplicationStatus.failed
        )
        assert done.status == ApplicationStatus.applied, (form_type, done.errors)
        assert _effect_visible(prefect_env, form_type, contracts[form_type]), form_type
        prefect_env.wait_for(
            partial(_all_sent, prefect_env, application_id),
            what=f"the {form_type} e-mails to be sent",
        )


def test_an_invalid_form_is_answered_and_starts_no_run(prefect_env: PrefectEnv) -> None:
    """A form with a bad registration number is `invalid`, answered, and never reaches staff."""
    books = seed_contract(prefect_env)
    values = {**_form_values(books, "user_add"), "reg_no": "40003056134"}
    deliver(prefect_env.home / "inbox", _mail(books, "user_add", values))
    ((application_id, _type, _status),) = prefect_env.wait_for(
        lambda: _applications_of(prefect_env, books.contract_no), what="the application"
    )
    done = prefect_env.wait_for_status(application_id, ApplicationStatus.invalid)
    assert done.flow_run_id is None
    prefect_env.wait_for(
        lambda: any(
            recipient == books.person_email and status == "sent"
            for _, recipient, status in _outbox(prefect_env, application_id)
        ),
        what="the reply with the field errors",
    )


def test_the_same_email_twice_makes_one_run(prefect_env: PrefectEnv) -> None:
    """Dropping the same e-mail twice yields one application and one flow run."""
    books = seed_contract(prefect_env)
    raw = _mail(books, "einvoice_access", _form_values(books, "einvoice_access"))
    deliver(prefect_env.home / "inbox", raw)
    ((application_id, _type, _status),) = prefect_env.wait_for(
        lambda: _applications_of(prefect_env, books.contract_no), what="the application"
    )
    run_id = prefect_env.wait_for_suspended(application_id)
    deliver(prefect_env.home / "inbox", raw)
    prefect_env.wait_for(
        lambda: not any((prefect_env.home / "inbox").glob("*.eml")), what="the drop folder pass"
    )
    assert len(_applications_of(prefect_env, books.contract_no)) == 1
    reference = prefect_env.application(application_id).reference
    assert prefect_env.count_flow_runs(name_like=reference) == 1
    assert prefect_env.application(application_id).flow_run_id == run_id


def test_the_daily_schedule_resumes_a_suspension_that_ended(prefect_env: PrefectEnv) -> None:
    """A contract suspended until a date is active again, its users unblocked, after that day."""
    books = seed_contract(prefect_env)
    suspend_contract(
        SuspendContract(
            request_key=f"test-suspend-{books.contract_no}",
            contract_no=books.contract_no,
            date_from=date(2026, 11, 25),
            date_to=date(2026, 12, 10),
        ),
        uow=prefect_env.uow(),
        today=date(2026, 11, 25),
    )
    assert _contract_and_users(prefect_env, books) == (
        ContractStatus.suspended,
        {UserStatus.blocked},
    )

    early = prefect_env.run_deployment("daily/docintake", {"today": "2026-12-09"})
    assert early.state.name == "Completed"
    assert _contract_and_users(prefect_env, books)[0] == ContractStatus.suspended

    due = prefect_env.run_deployment("daily/docintake", {"today": "2026-12-10"})
    assert due.state.name == "Completed"
    assert _contract_and_users(prefect_env, books) == (ContractStatus.active, {UserStatus.active})


def _contract_and_users(
    env: PrefectEnv, books: SeededContract
) -> tuple[ContractStatus, set[UserStatus]]:
    """The contract's status and the statuses its users have."""
    with env.uow() as uow:
        contract = uow.session.get(Contract, books.contract_id)
        assert contract is not None
        users = uow.session.exec(select(User).where(User.contract_id == books.contract_id))
        return contract.status, {u.status for u in users}
