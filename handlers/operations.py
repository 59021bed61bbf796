"""The registry of operations, and `apply_application`: an approved form applied in one go.

`apply_application` reads the application row, turns its parsed fields into a command (with the
defaults applied now: today, the next billing month, "on approval"), runs the operation, sets
the status `applied` or `failed`, and enqueues the replies — one transaction, idempotent.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlmodel import select

from handlers import accounts, contracts, selfservice, users
from handlers.commands import (
    AddUsers,
    BlockUsers,
    ChangeDetails,
    ChangeUser,
    Command,
    GrantEinvoiceAccess,
    IncreaseFee,
    NewUser,
    ResumeContract,
    SuspendContract,
)
from handlers.db import UnitOfWork
from handlers.models import Application, ApplicationStatus, Contract, utcnow
from handlers.replies import fail_application, reply_addresses
from handlers.results import OperationResult, RuleViolation, apply_once, failure

# Every operation that changes the books, by name (the CLI and the benchmark look them up here).
OPERATIONS: dict[str, Callable[..., OperationResult]] = {
    "change_user": users.change_user,
    "add_users": users.add_users,
    "block_users": users.block_users,
    "grant_einvoice_access": users.grant_einvoice_access,
    "increase_fee": contracts.increase_fee,
    "change_details": contracts.change_details,
    "suspend_contract": contracts.suspend_contract,
    "resume_contract": contracts.resume_contract,
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

Applier = Callable[[Any, UnitOfWork, date], dict[str, Any]]


def _date(value: Any) -> date | None:
    return date.fromisoformat(str(value)) if value else None


def _new_user(row: dict[str, Any], prefix: str = "") -> NewUser:
    return NewUser(
        first_name=row[f"{prefix}first_name"],
        last_name=row[f"{prefix}last_name"],
        email=row[f"{prefix}email"],
        personal_code=row.get(f"{prefix}personal_code"),
        position=row.get(f"{prefix}position"),
        phone=row.get(f"{prefix}phone"),
    )


def build_command(
    form_type: str, fields: dict[str, Any], base: dict[str, Any]
) -> tuple[str, Command, Applier]:
    """The operation name, its command and its in-transaction applier for a parsed form."""
    common = {**base, "contract_no": fields["contract_no"]}
    if form_type == "user_change":
        return (
            "change_user",
            ChangeUser(
                **common,
                old_username=fields["old_username"],
                new_user=_new_user(fields, "new_"),
            ),
            users._apply_change_user,  # the in-transaction half, same package
        )
    if form_type == "user_add":
        return (
            "add_users",
            AddUsers(**common, users=tuple(_new_user(row) for row in fields.get("users") or [])),
            users._apply_add_users,
        )
    if form_type == "user_block":
        return (
            "block_users",
            BlockUsers(
                **common,
                usernames=tuple(row["username"] for row in fields.get("users") or []),
                block_from=_date(fields.get("block_from")),
            ),
            users._apply_block_users,
        )
    if form_type == "fee_increase":
        return (
            "increase_fee",
            IncreaseFee(
                **common,
                new_fee=Decimal(str(fields["new_fee"])),
                effective_from=_date(fields.get("effective_from")),
            ),
            contracts._apply_increase_fee,
        )
    if form_type == "requisites_change":
        return (
            "change_details",
            ChangeDetails(
                **common,
                name=fields.get("new_name"),
                address=fields.get("new_address"),
                vat_no=fields.get("new_vat_no"),
                bank=fields.get("new_bank"),
                swift=fields.get("new_swift"),
                iban=fields.get("new_iban"),
                effective_from=_date(fields.get("effective_from")),
            ),
            contracts._apply_change_details,
        )
    if form_type == "contract_suspend" and fields.get("action") == "resume":
        return "resume_contract", ResumeContract(**common), contracts._apply_resume
    if form_type == "contract_suspend":
        return (
            "suspend_contract",
            SuspendContract(
                **common,
                date_from=_date(fields.get("date_from")),
                date_to=_date(fields.get("date_to")),
            ),
            contracts._apply_suspend,
        )
    if form_type == "einvoice_access":
        return (
            "grant_einvoice_access",
            GrantEinvoiceAccess(
                **common,
                first_name=fields["accountant_first_name"],
                last_name=fields["accountant_last_name"],
                email=fields["accountant_email"],
                phone=fields.get("accountant_phone"),
            ),
            users._apply_grant_einvoice_access,
        )
    raise RuleViolation("unknown_form_type", form_type=form_type)


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
        reply_to = reply_addresses(application)
        base = {
            "application_id": application_id,
            "actor": actor,
            "reference": application.reference,
            "reply_to": reply_to,
        }
        try:
            operation, command, applier = build_command(
                application.form_type or "", application.fields, base
            )
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
            result = apply_once(uow, operation, command.key, lambda: applier(command, uow, today))
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
