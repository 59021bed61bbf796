"""What the flows tests do again and again: wait for a run, decide as staff, read the result."""

from __future__ import annotations

from typing import Any

from sqlmodel import select
from typer.testing import CliRunner

from flows.cli import app
from handlers.models import ApplicationStatus, Approval
from tests.support.prefect_env import PrefectEnv, SeededContract, add_application, seed_contract
from tests.support.staff import SECRETS, fresh_code

cli = CliRunner()


def in_state(env: PrefectEnv, run_id: str, name: str) -> bool:
    """True when the flow run is in the named state."""
    state = env.flow_run(run_id).state
    return state is not None and state.name == name


def staff_cli(*args: str) -> tuple[int, str]:
    """Run `docintake requests …` as staff would; (exit code, output).

    An approve or reject by an enrolled staff member without `--code` gets their fresh code,
    as they would type it from their app.
    """
    argv = list(args)
    if argv[0] in {"approve", "reject"} and "--code" not in argv and "--staff" in argv:
        username = argv[argv.index("--staff") + 1]
        if username in SECRETS:
            argv += ["--code", fresh_code(username)]
    result = cli.invoke(app, ["requests", *argv])
    return result.exit_code, result.output


def waiting_application(
    env: PrefectEnv, books: SeededContract, form_type: str, fields: dict[str, Any]
) -> tuple[int, str, str]:
    """A new application of this type, waiting for staff: (id, reference, flow run id)."""
    application_id = add_application(env, books, form_type, fields)
    run_id = env.wait_for_suspended(application_id)
    return application_id, env.application(application_id).reference, run_id


def new_user_fields(email: str) -> dict[str, Any]:
    """The fields of a user_add form adding one user with this e-mail."""
    return {
        "users": [
            {
                "first_name": "Līga",
                "last_name": "Ozola",
                "personal_code": None,
                "position": None,
                "email": email,
                "phone": None,
            }
        ]
    }


def applied_by(env: PrefectEnv, application_id: int) -> list[str]:
    """Wait until the application is applied; the staff who decided on it, in order."""
    done = env.wait_for_status(application_id, ApplicationStatus.applied, ApplicationStatus.failed)
    assert done.status == ApplicationStatus.applied
    with env.uow() as uow:
        return [
            a.staff
            for a in uow.session.exec(
                select(Approval).where(Approval.application_id == application_id)
            )
        ]


def first_of_two_approvals(env: PrefectEnv, new_fee: str) -> tuple[SeededContract, int, str, str]:
    """A fee increase approved once by ilze, waiting for its second approval."""
    books = seed_contract(env)
    fields = {"current_fee": "100.00", "new_fee": new_fee, "effective_from": "2026-12-01"}
    application_id, reference, run_id = waiting_application(env, books, "fee_increase", fields)
    code, output = staff_cli("approve", reference, "--staff", "ilze")
    assert code == 0, output
    assert "waiting" in output, output
    env.wait_for_resuspended(application_id, "decision-2")
    return books, application_id, reference, run_id
