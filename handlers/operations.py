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

from forms.catalogue import form_by_code
from handlers import accounts, selfservice
from handlers.commands import Command
from handlers.db import UnitOfWork
from handlers.models import Application, ApplicationStatus, Contract, utcnow
from handlers.request_types import ACTIONS, Action, apply_checked, request_type
from handlers.results import OperationResult, RuleViolation, apply_once, failure, run_once
from notifications.outbox import enqueue


def _operation(name: str) -> Callable[..., OperationResult]:
    action = ACTIONS[name]

    def operation(cmd: Command, *, uow: UnitOfWork, today: date) -> OperationResult:
        return run_once(
            uow, name, cmd.key, lambda: apply_checked(action, cmd, uow=uow, today=today)
        )

    operation.__name__ = operation.__qualname__ = name
    operation.__doc__ = (action.apply.__doc__ or "").strip().splitlines()[0]
    return operation


# The request types' operations for a command given directly (the CLI, tests, benches): the
# same rules as a form's, then the change, once per key.
change_user = _operation("change_user")
add_users = _operation("add_users")
block_users = _operation("block_users")
increase_fee = _operation("increase_fee")
change_details = _operation("change_details")
suspend_contract = _operation("suspend_contract")
resume_contract = _operation("resume_contract")
grant_einvoice_access = _operation("grant_einvoice_access")

# Every operation that changes the books, by name (the CLI and the benchmark look them up here).
OPERATIONS: dict[str, Callable[..., OperationResult]] = {
    **{name: _operation(name) for name in ACTIONS},
    "top_up": accounts.top_up,
    "change_password": selfservice.change_password,
    "request_password_reset": selfservice.request_password_reset,
    "reset_password": selfservice.reset_password,
    "update_contact": selfservice.update_contact,
}

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


def _reply_to(application: Application) -> tuple[str, ...]:
    # Replies go to the contact e-mail of the form and to the sender (FORMS.md, common block).
    candidates = [application.fields.get("submitter_email"), application.sender]
    seen: dict[str, None] = {}
    for address in candidates:
        if address and str(address).strip().casefold() not in {k.casefold() for k in seen}:
            seen[str(address).strip()] = None
    return tuple(seen)


def _fail(
    uow: UnitOfWork, application: Application, reply_to: tuple[str, ...], result: OperationResult
) -> None:
    issue = result.as_issue().model_dump()
    application.status = ApplicationStatus.failed
    application.errors = [*application.errors, issue]
    application.updated_at = utcnow()
    uow.session.add(application)
    context = {
        "reference": application.reference,
        "form_title_lv": _title(application.form_type, "lv"),
        "form_title_en": _title(application.form_type, "en"),
        "comment": None,
        "errors": [
            {
                "field_label_lv": _label(application.form_type, issue["field"], "lv"),
                "field_label_en": _label(application.form_type, issue["field"], "en"),
                "message_lv": issue["message_lv"],
                "message_en": issue["message_en"],
            }
        ],
    }
    for recipient in reply_to:
        enqueue(
            uow.session,
            template="request_rejected",
            recipient=recipient,
            context=context,
            dedupe_key=application.reference,
            application_id=application.id,
        )


def _label(form_type: str | None, field: str | None, language: str) -> str:
    """The printed label of a field (`users[2].email` → the table's column), else the key."""
    form = form_by_code(form_type or "")
    if form is None or not field:
        return field or ""
    key = field.split(".")[-1] if "[" in field else field
    candidates = [*form.fields, *(form.table.columns if form.table else ())]
    if field in ("users",) and form.table is not None:
        return form.table.title_lv if language == "lv" else form.table.title_en
    for candidate in candidates:
        if candidate.key == key:
            label = candidate.label_lv if language == "lv" else candidate.label_en
            return f"{label} ({field.split('.')[0]})" if "[" in field else label
    return field


def _title(form_type: str | None, language: str) -> str:
    form = form_by_code(form_type or "")
    if form is None:
        return form_type or ""
    return form.title_lv if language == "lv" else form.title_en


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
        reply_to = _reply_to(application)
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
            _fail(uow, application, reply_to, result)
        uow.commit()
        return result
