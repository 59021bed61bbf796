"""Applications as the intake makes them: one per form attachment, with a reference number.

Every function opens its own `with uow:` and is idempotent: the unique constraint on
application (message_id, attachment_index) plus the outbox's dedupe key make a repeated call
find the first result instead of making a second one. Inbound messages themselves are
handlers.inbound_messages; who may file for a contract is handlers.senders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from forms.catalogue import form_by_code
from handlers import outbox, senders
from handlers.db import UnitOfWork
from handlers.messages import message
from handlers.models import (
    Application,
    ApplicationStatus,
    AuditEvent,
    Contract,
)
from handlers.replies import books_name
from handlers.threads import thread_of_message

DUPLICATE_WINDOW = timedelta(days=30)
ACTOR = "intake"


class CreateApplication(BaseModel):
    """Record one form attachment of a message as an application and acknowledge it."""

    model_config = ConfigDict(frozen=True)

    message_id: int
    attachment_index: int
    filename: str
    document_sha256: str
    form_type: str | None
    fields: dict[str, Any] = Field(default_factory=dict)
    errors: list[dict[str, Any]] = Field(default_factory=list)
    warnings: list[dict[str, Any]] = Field(default_factory=list)
    sender: str
    today: date
    form_title_lv: str = ""
    form_title_en: str = ""
    # The errors as the form_rejected template shows them (labels resolved by the caller).
    error_lines: list[dict[str, str]] = Field(default_factory=list)
    # Whether our boundary vouched for the sender; only then is the sender written to now.
    sender_verified: bool = True


@dataclass(frozen=True)
class ApplicationRecord:
    """What the intake reports for one application."""

    id: int
    reference: str
    status: ApplicationStatus
    duplicate_of: int | None
    created: bool


def message_application_ids(message_id: int, *, uow: UnitOfWork) -> list[tuple[int, str, str]]:
    """(id, reference, status) of the applications made from a message, in attachment order."""
    with uow:
        rows = uow.session.exec(
            select(Application)
            .where(Application.message_id == message_id)
            .order_by(col(Application.attachment_index))
        ).all()
        return [(row.id, row.reference, row.status.value) for row in rows if row.id is not None]


def _duplicate_of(
    session: Any, cmd: CreateApplication, contract: Contract | None
) -> Application | None:
    since = datetime.combine(cmd.today - DUPLICATE_WINDOW, time.min, tzinfo=UTC)
    stmt = select(Application).where(
        Application.document_sha256 == cmd.document_sha256,
        col(Application.created_at) >= since,
    )
    if contract is not None:
        stmt = stmt.where(Application.contract_id == contract.id)
    else:
        stmt = stmt.where(
            Application.reg_no == cmd.fields.get("reg_no"),
            Application.contract_no == cmd.fields.get("contract_no"),
        )
    found: Application | None = session.exec(stmt.order_by(col(Application.id))).first()
    return found


def _duplicate_warning(reference: str) -> dict[str, Any]:
    return {
        "field": None,
        "code": "duplicate",
        "message_lv": (
            f"Šis pats dokuments šim līgumam jau saņemts pēdējo 30 dienu laikā ({reference}); "
            "pārbaudiet, vai tas nav iesniegts atkārtoti."
        ),
        "message_en": (
            f"The same document was already received for this contract in the last 30 days "
            f"({reference}); check that it is not a repeated submission."
        ),
    }


def _existing_application(session: Any, cmd: CreateApplication) -> Application | None:
    found: Application | None = session.exec(
        select(Application).where(
            Application.message_id == cmd.message_id,
            Application.attachment_index == cmd.attachment_index,
        )
    ).first()
    return found


def _text_field(cmd: CreateApplication, name: str) -> str | None:
    value = cmd.fields.get(name)
    return value if isinstance(value, str) else None


def _record(row: Application, *, created: bool) -> ApplicationRecord:
    assert row.id is not None  # noqa: S101 - rows read back from the database have ids
    return ApplicationRecord(row.id, row.reference, row.status, row.duplicate_of, created)


def _not_authorized(cmd: CreateApplication) -> tuple[dict[str, Any], dict[str, str]]:
    """The `sender_not_authorized` error, and its line for the form_rejected mail."""
    text_lv, text_en = message("sender_not_authorized", sender=cmd.sender)
    issue = {
        "field": "contract_no",
        "code": "sender_not_authorized",
        "message_lv": text_lv,
        "message_en": text_en,
    }
    form = form_by_code(cmd.form_type) if cmd.form_type else None
    spec = form.field("contract_no") if form is not None else None
    line = {
        "field_label_lv": spec.label_lv if spec else "",
        "field_label_en": spec.label_en if spec else "",
        "message_lv": text_lv,
        "message_en": text_en,
    }
    return issue, line


def create_application(cmd: CreateApplication, *, uow: UnitOfWork) -> ApplicationRecord:
    """The application for one attachment, made once, with its receipt or rejection e-mail.

    The contract decides: unless the sender is an authorized person of the contract the form
    names, the application is invalid (`sender_not_authorized`) before staff ever see it. The
    receipt or rejection goes to the sender only when verified, with the form's contact e-mail
    as a copy only when the books hold it for that contract.
    """
    for _attempt in range(3):
        with uow:
            session = uow.session
            existing = _existing_application(session, cmd)
            if existing is not None:
                return _record(existing, created=False)
            errors, error_lines = list(cmd.errors), list(cmd.error_lines)
            reg_no = _text_field(cmd, "reg_no")
            contract_no = _text_field(cmd, "contract_no")
            contract: Contract | None = None
            if cmd.form_type is not None:
                contract = senders.authorized_contract(cmd.sender, reg_no, contract_no, uow=uow)
                if contract is None:
                    issue, line = _not_authorized(cmd)
                    errors.append(issue)
                    error_lines.append(line)
            valid = cmd.form_type is not None and not errors
            status = ApplicationStatus.received if valid else ApplicationStatus.invalid
            warnings = list(cmd.warnings)
            duplicate = _duplicate_of(session, cmd, contract) if valid else None
            if duplicate is not None:
                warnings.append(_duplicate_warning(duplicate.reference))
            year = cmd.today.year
            reference = f"LUR-{year}-{uow.next_number(f'reference-{year}'):06d}"
            row = Application(
                reference=reference,
                message_id=cmd.message_id,
                attachment_index=cmd.attachment_index,
                filename=cmd.filename,
                document_sha256=cmd.document_sha256,
                form_type=cmd.form_type,
                reg_no=reg_no,
                contract_no=contract_no,
                contract_id=contract.id if contract is not None else None,
                sender=cmd.sender,
                sender_verified=cmd.sender_verified,
                fields=cmd.fields,
                errors=errors,
                warnings=warnings,
                status=status,
                duplicate_of=duplicate.id if duplicate is not None else None,
            )
            session.add(row)
            session.flush()
            session.add(
                AuditEvent(
                    actor=ACTOR,
                    action="application_received" if valid else "application_invalid",
                    entity="application",
                    entity_id=reference,
                    after={
                        "status": status.value,
                        "form_type": cmd.form_type,
                        "duplicate_of": row.duplicate_of,
                    },
                    application_id=row.id,
                )
            )
            context: dict[str, Any] = {
                "reference": reference,
                "form_title_lv": cmd.form_title_lv,
                "form_title_en": cmd.form_title_en,
            }
            if valid:
                # Greet the company as the books name it, not as the client typed it.
                context["customer_name"] = (
                    books_name(uow, contract, cmd.today) if contract is not None else ""
                )
            else:
                context["errors"] = error_lines
            # An authorized sender's copy goes to the books' addresses for the contract; a
            # refused one's to the sender alone (the form's addresses are the attacker's).
            recipients = (
                senders.reply_addresses(row, uow) if contract is not None else (cmd.sender,)
            )
            if cmd.sender_verified and recipients:
                outbox.enqueue(
                    session,
                    template="receipt" if valid else "form_rejected",
                    recipient=recipients[0],
                    cc=list(recipients[1:]),
                    context=context,
                    dedupe_key=reference,
                    application_id=row.id,
                    thread=thread_of_message(session, cmd.message_id),
                )
            try:
                uow.commit()
            except IntegrityError:
                continue  # a concurrent worker took this attachment; return its row
            return _record(row, created=True)
    raise RuntimeError("application could not be recorded")
