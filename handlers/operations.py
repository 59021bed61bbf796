"""The registry of operations, and `apply_application`: an approved form applied in one go.

`apply_application` reads the application row, turns its parsed fields into a command (with the
defaults applied now: today, the next billing month, "on approval"), runs the operation, sets
the status `applied` or `failed`, and enqueues the replies — one transaction, idempotent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from pydantic import ValidationError
from sqlmodel import select

from handlers import accounts, selfservice
from handlers.commands import Command
from handlers.db import UnitOfWork
from handlers.models import Application, ApplicationStatus, Contract, utcnow
from handlers.replies import fail_application
from handlers.request_types import ACTIONS, Action, apply_checked, request_type
from handlers.results import OperationResult, RuleViolation, apply_once, failure, run_once
from handlers.senders import reply_addresses


def _operation(name: str) -> Callable[..., OperationResult]:
    action = ACTIONS[name]

    def operation(cmd: Command, *, uow: UnitOfWork, today: date) -> OperationResult:
        return run_once(
            uow, name, cmd.key, lambda: apply_checked(action, cmd, uow=uow, today=today)
        )

    operation.__name__ = operation.__qualname__ = name
    operation.__doc__ = (action.apply.__doc__ or "").strip().splitlines()[0]
    return operation


# Every operation that changes the books, by name (the CLI and the benchmark look them up here):
# the request types' operations, derived from the registry, run the same rules as a form's.
OPERATIONS: dict[str, Callable[..., OperationResult]] = {
    **{name: _operation(name) for name in ACTIONS},
    "top_up": accounts.top_up,
    "change_password": selfservice.change_password,
    "request_password_reset": selfservice.request_password_reset,
    "reset_password": selfservice.reset_password,
    "update_contact": selfservice.update_contact,
}

# The same functions by name, for a command given directly (the CLI, tests, benches).
change_user = OPERATIONS["change_user"]
add_users = OPERATIONS["add_users"]
block_users = OPERATIONS["block_users"]
increase_fee = OPERATIONS["increase_fee"]
change_details = OPERATIONS["change_details"]
suspend_contract = OPERATIONS["suspend_contract"]
resume_contract = OPERATIONS["resume_contract"]
grant_einvoice_access = OPERATIONS["grant_einvoice_access"]

# Statuses from which an application may still be applied (staff approval is the flow's job).
_APPLICABLE = {
    ApplicationStatus.received,
    ApplicationStatus.awaiting_approval,
    ApplicationStatus.approved,
}


def build_command(
    form_type: str, fields: Mapping[str, Any], base: dict[str, Any]
) -> tuple[Action, Command]:
    """The action a parsed form asks for and its command (defaults are the action's to fill)."""
    found = request_type(form_type)
    if found is None:
        raise RuleViolation("unknown_form_type", form_type=form_type)
    action = found.action_for(fields)
    return action, action.build(fields, base)


def apply_application(
    application_id: int, *, uow: UnitOfWork, today: date, actor: str
) -> OperationResult:
    """Apply an approved application to the books in one transaction; a second call replays."""
    key = f"application:{application_id}"
    with uow:
        application = uow.session.get(Application, application_id)
        if application is None:
            return failure(
                "apply_application",
                key,
                RuleViolation("application_not_found", application_id=application_id),
            )
        if application.contract_id is None:
            # Linked at intake; an older row is linked here, so replies follow the books.
            contract_no = str(application.fields.get("contract_no") or "").strip()
            contract = uow.session.exec(
                select(Contract).where(Contract.number == contract_no)
            ).first()
            application.contract_id = contract.id if contract else None
        # Confirmations go to the sender and the contract's addresses the books hold, never to
        # an address only the form names (credentials go to the approved new user's address).
        reply_to = reply_addresses(application, uow)
        base = {
            "application_id": application_id,
            "actor": actor,
            "reference": application.reference,
            "reply_to": reply_to,
        }
        try:
            action, command = build_command(application.form_type or "", application.fields, base)
        except RuleViolation as violation:
            result = failure("apply_application", key, violation)
        except (KeyError, TypeError, ValueError, ValidationError) as exc:
            result = failure(
                "apply_application",
                key,
                RuleViolation("application_fields_invalid", detail=type(exc).__name__),
            )
        else:
            if application.status not in _APPLICABLE and application.status not in (
                ApplicationStatus.applied,
                ApplicationStatus.failed,
            ):
                return failure(
                    "apply_application",
                    key,
                    RuleViolation(
                        "application_not_applicable",
                        reference=application.reference,
                        status=str(application.status),
                    ),
                )
            # The rules run again here, on the books as they are now: a request that passed the
            # check before approval fails only if the books changed since.
            result = apply_once(
                uow,
                action.operation,
                command.key,
                lambda: apply_checked(
                    action,
                    command,
                    uow=uow,
                    today=today,
                    fields=application.fields,
                    sender=application.sender,
                ),
            )
            if result.replayed:
                return result
        if result.ok:
            if application.contract_id is None:
                # The request log lists a contract's applications by this link.
                contract_no = str(application.fields.get("contract_no") or "").strip()
                contract = uow.session.exec(
                    select(Contract).where(Contract.number == contract_no)
                ).first()
                application.contract_id = contract.id if contract else None
            application.status = ApplicationStatus.applied
            application.updated_at = utcnow()
            uow.session.add(application)
        else:
            fail_application(uow, application, reply_to, result)
        uow.commit()
        return result
