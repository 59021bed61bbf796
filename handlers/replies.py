"""One way to build a reply: who hears, the title, the error lines, confirmations, credentials.

Every reply to a client (receipt, rejection, confirmation, failure, expiry) takes its
recipients from `handlers.senders.reply_addresses`, its form titles from the catalogue
(`forms.catalogue.form_titles`) and its error lines from `error_lines`, so the rule for each
is written once.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlmodel import select

from forms.catalogue import field_labels, form_titles
from handlers.commands import Command
from handlers.db import UnitOfWork
from handlers.lookups import customer_of, details_on
from handlers.models import Application, ApplicationStatus, Contract, User, utcnow
from handlers.outbox import enqueue
from handlers.results import OperationResult
from handlers.threads import thread_of_application


def error_lines(form_type: str | None, errors: Iterable[dict[str, Any]]) -> list[dict[str, str]]:
    """Errors as the templates show them: each message with its field's printed labels.

    The templates say a label only when the message does not already name it (the form's
    own rules start every message with the label, FORMS.md's message contract).
    """
    lines = []
    for error in errors:
        label_lv, label_en = field_labels(form_type, error.get("field"))
        lines.append(
            {
                "field_label_lv": label_lv,
                "field_label_en": label_en,
                "message_lv": str(error.get("message_lv", "")),
                "message_en": str(error.get("message_en", "")),
            }
        )
    return lines


def fail_application(
    uow: UnitOfWork, application: Application, reply_to: tuple[str, ...], result: OperationResult
) -> None:
    """Mark the application failed with the result's reason and tell each reply address why."""
    issue = result.as_issue().model_dump()
    application.status = ApplicationStatus.failed
    application.errors = [*application.errors, issue]
    application.updated_at = utcnow()
    uow.session.add(application)
    title_lv, title_en = form_titles(application.form_type)
    context = {
        "reference": application.reference,
        "form_title_lv": title_lv,
        "form_title_en": title_en,
        "comment": None,
        "errors": error_lines(application.form_type, [issue]),
    }
    for recipient in reply_to:
        enqueue(
            uow.session,
            template="request_rejected",
            recipient=recipient,
            context=context,
            dedupe_key=application.reference,
            application_id=application.id,
            thread=thread_of_application(uow.session, application.id),
        )


def user_summary(user: User) -> dict[str, str]:
    """A user as a confirmation names them: username, name and e-mail."""
    return {
        "username": user.username,
        "name": f"{user.first_name} {user.last_name}".strip(),
        "email": user.email,
    }


def confirm(
    uow: UnitOfWork,
    cmd: Command,
    form_type: str,
    changes: dict[str, Any],
    *,
    today: date,
    action: str = "",
) -> None:
    """Enqueue the confirmation to everyone the command says to reply to.

    `changes` says what changed, before → after, and what follows (JSON values: money and
    dates as strings); the confirmation template words it for the form type and `action`.
    """
    title_lv, title_en = form_titles(form_type)
    contract = uow.session.exec(
        select(Contract).where(Contract.number == str(changes.get("contract_no", "")))
    ).first()
    context = {
        "reference": cmd.reference,
        "form_type": form_type,
        "action": action,
        "form_title_lv": title_lv,
        "form_title_en": title_en,
        "customer_name": books_name(uow, contract, today) if contract else "",
        "changes": changes,
    }
    for recipient in dict.fromkeys(r.strip() for r in cmd.reply_to if r and r.strip()):
        enqueue(
            uow.session,
            template="confirmation",
            recipient=recipient,
            context=context,
            dedupe_key=cmd.dedupe_key,
            application_id=cmd.application_id,
            thread=thread_of_application(uow.session, cmd.application_id),
        )


def books_name(uow: UnitOfWork, contract: Contract, day: date) -> str:
    """The customer's name as the books have it on a day, not as the client typed it."""
    customer = customer_of(uow, contract)
    assert customer.id is not None  # noqa: S101 (read from the database)
    details = details_on(uow, customer.id, day)
    return details.name if details else customer.reg_no


def addressee(user: User) -> dict[str, Any]:
    """Who a personal e-mail greets; delivery mints the password or reset token by `user_id`."""
    return {
        "user_id": user.id,
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
    }


def send_credentials(
    uow: UnitOfWork, cmd: Command, user: User, contract: Contract, *, today: date
) -> None:
    """Enqueue the credentials e-mail; the password and sign-in link are added at delivery."""
    enqueue(
        uow.session,
        template="credentials",
        recipient=user.email,
        context={
            **addressee(user),
            "role": str(user.role),
            "contract_no": contract.number,
            "customer_name": books_name(uow, contract, today),
        },
        dedupe_key=f"{cmd.dedupe_key}:{user.username}",
        application_id=cmd.application_id,
    )
