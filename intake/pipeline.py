"""One stored message, processed idempotently from raw bytes to applications and replies.

The steps, each safe to repeat after a crash at any point:
1. store the raw bytes by sha256 (durable before anything else);
2. record the message row once (same bytes or same Message-ID: the same message);
3. judge the sender (Authentication-Results, then the books);
4. per form attachment: store its bytes, parse it, record the application and its receipt or
   rejection e-mail in one transaction (unique per message and attachment index);
5. put the message in its final state with the replies about it (once).
A message already final is not processed again; its outcome is reported as it stands.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import forms
from forms.catalogue import FORMS, form_by_code
from forms.result import Issue, ParseResult
from handlers import applications
from handlers.applications import (
    CreateApplication,
    FinishMessage,
    RecordMessage,
    Reply,
)
from handlers.db import UnitOfWork
from handlers.models import MessageStatus
from handlers.replies import error_lines
from handlers.threads import AttachClientAnswer, AttachedAnswer, attach_client_answer
from intake import store
from intake.answers import answer_parts
from intake.mime import Limits, ParsedMessage, Refusal, parse_message
from intake.senders import SenderVerdict, check_sender

log = logging.getLogger(__name__)

UowFactory = Callable[[], UnitOfWork]
BLANK_FORMS_DIR = "blank_forms"


@dataclass(frozen=True)
class MessageOutcome:
    """What became of one message: its row, final status and the applications made from it."""

    message_id: int
    sha256: str
    status: MessageStatus
    application_ids: list[int] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    # Ids of applications with status `received`: one request-type flow run each.
    valid_application_ids: list[int] = field(default_factory=list)
    already_processed: bool = False
    reason: str | None = None

    @property
    def final(self) -> bool:
        """True when the message reached a final state and its source may acknowledge it."""
        return self.status in applications.FINAL_MESSAGE_STATES

    def summary(self) -> str:
        """One line for people: status, references; no personal data."""
        refs = ", ".join(self.references) or "-"
        again = " (already processed)" if self.already_processed else ""
        why = f" [{self.reason}]" if self.reason else ""
        return f"{self.status.value}{again}: {len(self.application_ids)} application(s) {refs}{why}"


def blank_form_paths(home: Path) -> list[str]:
    """The blank DOCX and RTF forms under home, written once, to attach to `no_form` replies."""
    folder = home / BLANK_FORMS_DIR
    paths: list[str] = []
    for form in FORMS:
        for fmt in ("docx", "rtf"):
            path = folder / f"{form.code}.{fmt}"
            if not path.exists():
                try:
                    store.write_atomic(path, forms.render_form(form.code, fmt))
                except Exception:  # a reply without attachments beats no reply at all
                    log.exception("blank form %s.%s could not be rendered", form.code, fmt)
                    continue
            paths.append(str(path.resolve()))
    return paths


def _refusal_context(refused: list[Refusal]) -> dict[str, Any]:
    return {
        "filenames": [r.filename for r in refused if r.filename],
        "reasons": [
            {"filename": r.filename, "message_lv": r.message_lv, "message_en": r.message_en}
            for r in refused
        ],
    }


def _too_large_refusal(limits: Limits) -> Refusal:
    mb = limits.max_message_bytes // (1024 * 1024)
    return Refusal(
        0,
        "",
        "message_too_large",
        f"Vēstule ir par lielu (vairāk nekā {mb} MB); sūtiet veidlapas atsevišķās vēstulēs.",
        f"The message is too large (more than {mb} MB); send the forms in separate messages.",
    )


def _outcome(
    message_id: int,
    sha256: str,
    status: MessageStatus,
    uow_factory: UowFactory,
    *,
    already: bool,
    reason: str | None = None,
) -> MessageOutcome:
    rows = applications.message_application_ids(message_id, uow=uow_factory())
    return MessageOutcome(
        message_id=message_id,
        sha256=sha256,
        status=status,
        application_ids=[r[0] for r in rows],
        references=[r[1] for r in rows],
        valid_application_ids=[r[0] for r in rows if r[2] == "received"],
        already_processed=already,
        reason=reason,
    )


def _finish(
    message_id: int,
    status: MessageStatus,
    reason: str | None,
    replies: list[Reply],
    uow_factory: UowFactory,
) -> MessageStatus:
    cmd = FinishMessage(message_id=message_id, status=status, reason=reason, replies=tuple(replies))
    return applications.finish_message(cmd, uow=uow_factory())


def _parse(filename: str, data: bytes, today: date) -> ParseResult:
    try:
        return forms.parse_document(filename, data, today=today)
    except Exception as exc:  # a parser bug must not hold the message forever: answer it
        log.error(
            "form parser failed (%s); the document is answered as unreadable", type(exc).__name__
        )
        return ParseResult(
            form_type=None,
            errors=[
                Issue(
                    field=None,
                    code="unreadable",
                    message_lv="Dokumentu neizdevās nolasīt; saglabājiet to un sūtiet vēlreiz.",
                    message_en="The document could not be read; save it again and resend it.",
                )
            ],
        )


def _take_forms(
    parsed: ParsedMessage, message_id: int, *, home: Path, today: date, uow_factory: UowFactory
) -> None:
    assert parsed.from_addr is not None  # noqa: S101 - only accepted senders reach here
    for attachment in parsed.attachments:
        document_sha = store.store_bytes(home, attachment.data)
        result = _parse(attachment.filename, attachment.data, today)
        form = form_by_code(result.form_type) if result.form_type else None
        errors = [issue.model_dump() for issue in result.errors]
        cmd = CreateApplication(
            message_id=message_id,
            attachment_index=attachment.index,
            filename=attachment.filename,
            document_sha256=document_sha,
            form_type=result.form_type,
            fields=result.fields,
            errors=errors,
            warnings=[issue.model_dump() for issue in result.warnings],
            sender=parsed.from_addr,
            today=today,
            form_title_lv=form.title_lv if form else "",
            form_title_en=form.title_en if form else "",
            error_lines=error_lines(result.form_type, errors),
        )
        record = applications.create_application(cmd, uow=uow_factory())
        log.info(
            "message %s attachment %s: application %s %s",
            message_id,
            attachment.index,
            record.reference,
            record.status.value,
        )


def _client_answer(
    raw: bytes,
    parsed: ParsedMessage,
    message_id: int,
    known: set[int],
    staff_email: str,
    uow_factory: UowFactory,
) -> AttachedAnswer | None:
    """A message without a form that answers our mail goes to staff instead of "no form"."""
    assert parsed.from_addr is not None  # noqa: S101 - only accepted senders reach here
    parts = answer_parts(raw)
    return attach_client_answer(
        AttachClientAnswer(
            inbound_message_id=message_id,
            sender=parsed.from_addr,
            sender_contract_ids=frozenset(known),
            subject=parsed.subject,
            in_reply_to=parts.in_reply_to,
            references=parts.references,
            text=parts.text,
            staff_email=staff_email,
        ),
        uow=uow_factory(),
    )


def process_message(
    raw: bytes,
    *,
    source: str,
    uow_factory: UowFactory,
    home: Path,
    today: date,
    staff_email: str,
    require_dmarc_pass: bool = False,
    limits: Limits | None = None,
) -> MessageOutcome:
    """Take one raw e-mail to its final state; calling it again for the same message is safe."""
    limits = limits or Limits()
    sha256 = store.store_bytes(home, raw)
    parsed = parse_message(raw, limits)
    record = applications.record_message(
        RecordMessage(
            sha256=sha256,
            message_id=parsed.message_id,
            source=source,
            from_addr=parsed.from_addr,
            to_addr=parsed.to_addr,
            subject=parsed.subject,
            size=len(raw),
        ),
        uow=uow_factory(),
    )
    if record.status in applications.FINAL_MESSAGE_STATES:
        return _outcome(record.id, sha256, record.status, uow_factory, already=True)

    known = (
        applications.sender_contract_ids(parsed.from_addr, uow=uow_factory())
        if parsed.from_addr
        else set()
    )
    check = check_sender(
        parsed.from_addr,
        parsed.auth_results,
        known_contract_ids=known,
        require_dmarc_pass=require_dmarc_pass,
    )
    replies: list[Reply] = []
    if check.verdict is SenderVerdict.quarantine:
        replies.append(
            Reply(
                template="quarantined",
                recipient=staff_email,
                context={
                    "reference_or_message": parsed.message_id or f"message {record.id}",
                    "from_addr": parsed.from_addr or "",
                    "reason": check.reason or "",
                },
            )
        )
        status = _finish(record.id, MessageStatus.quarantined, check.reason, replies, uow_factory)
        return _outcome(record.id, sha256, status, uow_factory, already=False, reason=check.reason)
    if check.verdict is SenderVerdict.unknown or parsed.from_addr is None:
        if parsed.from_addr:
            replies.append(
                Reply(
                    template="unknown_sender",
                    recipient=parsed.from_addr,
                    context={"from_addr": parsed.from_addr, "subject": parsed.subject or ""},
                )
            )
        status = _finish(record.id, MessageStatus.rejected, check.reason, replies, uow_factory)
        return _outcome(record.id, sha256, status, uow_factory, already=False, reason=check.reason)

    sender = parsed.from_addr
    refused = [_too_large_refusal(limits)] if parsed.too_large else list(parsed.refused)
    if refused:
        replies.append(
            Reply(
                template="unsupported_attachment",
                recipient=sender,
                context=_refusal_context(refused),
            )
        )
    if not parsed.attachments:
        answer = (
            None
            if refused
            else _client_answer(raw, parsed, record.id, known, staff_email, uow_factory)
        )
        if answer is not None:
            why = f"client answer to {answer.reference or 'our mail'}"
            status = _finish(record.id, MessageStatus.done, why, [], uow_factory)
            return _outcome(record.id, sha256, status, uow_factory, already=False, reason=why)
        if not refused:
            replies.append(
                Reply(
                    template="no_form",
                    recipient=sender,
                    context={
                        "forms": [
                            {"code": f.code, "title_lv": f.title_lv, "title_en": f.title_en}
                            for f in FORMS
                        ]
                    },
                    attachments=tuple(blank_form_paths(home)),
                )
            )
        reason: str | None = (
            "message too large"
            if parsed.too_large
            else ("no accepted attachment" if refused else "no form attached")
        )
        status = _finish(record.id, MessageStatus.rejected, reason, replies, uow_factory)
        return _outcome(record.id, sha256, status, uow_factory, already=False, reason=reason)

    _take_forms(parsed, record.id, home=home, today=today, uow_factory=uow_factory)
    done_reason = f"{len(refused)} attachment(s) refused" if refused else None
    status = _finish(record.id, MessageStatus.done, done_reason, replies, uow_factory)
    return _outcome(record.id, sha256, status, uow_factory, already=False, reason=done_reason)
