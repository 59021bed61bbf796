"""One stored message, processed idempotently from raw bytes to applications and mail.

The steps, each safe to repeat after a crash at any point:
1. store the raw bytes by sha256 (durable before anything else); read the headers only;
2. record the message row once (the same bytes are the same message; the same Message-ID with
   other bytes is a new message, flagged to staff);
3. count one more try; the fourth try of a message that failed three times quarantines it
   (no poison message loops for ever);
4. judge the sender: the From address parsed strictly, our boundary's Authentication-Results
   (intake.authresults), the books, the verification level (intake.senders);
5. per form attachment: store its bytes, parse it, clean its values, record the application
   and its receipt or rejection in one transaction (the contract the form names decides);
6. put the message in its final state with the replies about it (once).
Nobody unknown or unverified is ever written to; a message already final is not processed
again, its outcome is reported as it stands.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import forms
from forms.catalogue import form_by_code
from forms.result import Issue, ParseResult
from handlers import applications, inbound_messages, senders
from handlers.applications import CreateApplication
from handlers.db import UnitOfWork
from handlers.inbound_messages import FinishMessage, RecordMessage, Reply
from handlers.models import MessageStatus
from intake import replies as mail
from intake import store
from intake.addresses import Mailbox
from intake.authresults import AuthStatus, AuthVerdict, evaluate
from intake.mime import Limits, ParsedMessage, parse_headers, parse_message
from intake.sanitize import clean_fields, clean_value
from intake.senders import SenderCheck, SenderVerdict, Trust, check_sender

log = logging.getLogger(__name__)

UowFactory = Callable[[], UnitOfWork]


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
        return self.status in inbound_messages.FINAL_MESSAGE_STATES

    def summary(self) -> str:
        """One line for people: status, references; no personal data."""
        refs = ", ".join(self.references) or "-"
        again = " (already processed)" if self.already_processed else ""
        why = f" [{self.reason}]" if self.reason else ""
        return f"{self.status.value}{again}: {len(self.application_ids)} application(s) {refs}{why}"


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


# A source's way into the pipeline: `handle(raw)`, or `handle(head, size=n)` with only the
# headers of a message the source measured as over the limit.
Handle = Callable[..., MessageOutcome]


@dataclass(frozen=True)
class _Context:
    """What every step of one message needs."""

    record: inbound_messages.MessageRecord
    sha256: str
    head: ParsedMessage
    home: Path
    today: date
    staff_email: str
    uow_factory: UowFactory


def _finish(
    ctx: _Context,
    status: MessageStatus,
    reason: str | None,
    replies: list[Reply],
    check: SenderCheck | None = None,
) -> MessageOutcome:
    cmd = FinishMessage(
        message_id=ctx.record.id,
        status=status,
        reason=reason,
        replies=tuple(replies),
        sender_verified=check.verified if check is not None else None,
        auth_detail=check.reason if check is not None else None,
    )
    final = inbound_messages.finish_message(cmd, uow=ctx.uow_factory())
    return _outcome(ctx.record.id, ctx.sha256, final, ctx.uow_factory, already=False, reason=reason)


def _poison(ctx: _Context, check: SenderCheck | None, reason: str) -> MessageOutcome:
    """Quarantine a message that cannot be read: staff told why, a verified client told once."""
    log.error("message %s quarantined: %s", ctx.record.id, reason)
    replies = [mail.staff_notice(ctx.staff_email, ctx.record.id, ctx.head.from_addr, reason)]
    if (
        check is not None
        and check.verdict is SenderVerdict.accept
        and check.verified
        and ctx.head.from_addr
    ):
        replies.append(mail.unreadable_reply(ctx.head.from_addr))
    return _finish(ctx, MessageStatus.quarantined, reason, replies, check)


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


def _take_forms(parsed: ParsedMessage, ctx: _Context, check: SenderCheck) -> None:
    assert parsed.from_addr is not None  # noqa: S101 - only accepted senders reach here
    extra = (
        [mail.same_message_id_warning(ctx.record.same_message_id_as)]
        if ctx.record.same_message_id_as is not None
        else []
    )
    for attachment in parsed.attachments:
        document_sha = store.store_bytes(ctx.home, attachment.data)
        result = _parse(attachment.filename, attachment.data, ctx.today)
        form = form_by_code(result.form_type) if result.form_type else None
        # NUL, C0 controls and lone surrogates never reach the database or a mail.
        fields, unsafe = clean_fields(result.fields)
        errors = [clean_value(issue.model_dump()) for issue in result.errors] + unsafe
        cmd = CreateApplication(
            message_id=ctx.record.id,
            attachment_index=attachment.index,
            filename=clean_value(attachment.filename),
            document_sha256=document_sha,
            form_type=result.form_type,
            fields=fields,
            errors=errors,
            warnings=[clean_value(issue.model_dump()) for issue in result.warnings] + extra,
            sender=parsed.from_addr,
            today=ctx.today,
            form_title_lv=form.title_lv if form else "",
            form_title_en=form.title_en if form else "",
            error_lines=mail.error_lines(result.form_type, errors),
            sender_verified=check.verified,
        )
        record = applications.create_application(cmd, uow=ctx.uow_factory())
        log.info(
            "message %s attachment %s: application %s %s",
            ctx.record.id,
            attachment.index,
            record.reference,
            record.status.value,
        )


def _judge(ctx: _Context, trust: Trust) -> SenderCheck:
    """The sender verdict; a message staff released counts as from a verified sender."""
    if ctx.record.released and ctx.head.from_addr is not None:
        return SenderCheck(SenderVerdict.accept, verified=True, reason="released by staff")
    auth = (
        evaluate(ctx.head.header_fields, ctx.head.sender.domain, trust.trusted_authserv_ids)
        if ctx.head.from_addr
        else AuthVerdict(AuthStatus.none, "no From address")
    )
    known: set[int] = set()
    if ctx.head.from_addr:
        uow = ctx.uow_factory()
        with uow:
            known = senders.known_contract_ids(ctx.head.from_addr, uow=uow)
    return check_sender(ctx.head.sender, auth, known_contract_ids=known, level=trust.level)


def _read(raw: bytes, ctx: _Context, check: SenderCheck, limits: Limits) -> MessageOutcome:
    """Everything after the sender is judged: the body, the forms, the final state."""
    if check.verdict is SenderVerdict.quarantine:
        why = check.reason or "sender refused"
        notice = (
            [mail.staff_notice(ctx.staff_email, ctx.record.id, ctx.head.from_addr, why)]
            if check.notify_staff
            else []
        )
        return _finish(ctx, MessageStatus.quarantined, why, notice, check)
    parsed = ctx.head if ctx.head.too_large else parse_message(raw, limits)
    if parsed.unreadable:
        return _poison(ctx, check, parsed.unreadable)
    sender = ctx.head.from_addr
    assert sender is not None  # noqa: S101 - an accepted sender has an address
    # Nothing is written to a sender our boundary did not vouch for (no backscatter).
    replies: list[Reply] = []
    refused = [mail.too_large_refusal(limits)] if parsed.too_large else list(parsed.refused)
    if refused:
        replies.append(
            Reply(
                template="unsupported_attachment",
                recipient=sender,
                context=clean_value(mail.refusal_context(refused)),
            )
        )
    if not parsed.attachments:
        if not refused:
            replies.append(mail.no_form_reply(sender, ctx.home))
        reason: str | None = (
            "message too large"
            if parsed.too_large
            else ("no accepted attachment" if refused else "no form attached")
        )
        answered = replies if check.verified else []
        return _finish(ctx, MessageStatus.rejected, reason, answered, check)
    _take_forms(parsed, ctx, check)
    notes = [f"{len(refused)} attachment(s) refused"] if refused else []
    if ctx.record.same_message_id_as is not None:
        notes.append(f"same Message-ID as message #{ctx.record.same_message_id_as}")
    if not check.verified:
        notes.append("sender not verified")
    answered = replies if check.verified else []
    return _finish(ctx, MessageStatus.done, "; ".join(notes) or None, answered, check)


def _headers(raw: bytes, too_large: bool) -> ParsedMessage:
    """The headers alone (never the body), or an empty description when even they fail."""
    try:
        return parse_headers(raw, too_large=too_large)
    except Exception as exc:  # no usable headers: the message is refused, not retried
        log.error("message headers unreadable (%s)", type(exc).__name__)
        return ParsedMessage(
            message_id=None,
            sender=Mailbox(None, problem="headers unreadable"),
            to_addr=None,
            reply_to=None,
            subject=None,
            header_fields=[],
            too_large=too_large,
        )


def process_message(
    raw: bytes,
    *,
    source: str,
    uow_factory: UowFactory,
    home: Path,
    today: date,
    staff_email: str,
    trust: Trust | None = None,
    limits: Limits | None = None,
    size: int | None = None,
) -> MessageOutcome:
    """Take one raw e-mail to its final state; calling it again for the same message is safe.

    `trust` defaults to the production level (`require`, no trusted authserv-id): nothing is
    read until a boundary we trust vouches for the sender. `size`: the whole message's size
    when a source measured it before reading (IMAP RFC822.SIZE, the drop file's stat) and
    hands over only the headers of a message over the limit.
    """
    limits = limits or Limits()
    trust = trust or Trust()
    total = len(raw) if size is None else max(size, len(raw))
    sha256 = store.store_bytes(home, raw)
    head = _headers(raw, total > limits.max_message_bytes)
    record = inbound_messages.record_message(
        RecordMessage(
            sha256=sha256,
            message_id=head.message_id,
            source=source,
            from_addr=head.from_addr,
            to_addr=head.to_addr,
            subject=head.subject,
            size=total,
        ),
        uow=uow_factory(),
    )
    if record.status in inbound_messages.FINAL_MESSAGE_STATES:
        return _outcome(record.id, sha256, record.status, uow_factory, already=True)
    ctx = _Context(record, sha256, head, home, today, staff_email, uow_factory)
    # Counted before trying, so that a try which kills the process counts too.
    attempts = inbound_messages.start_attempt(record.id, uow=uow_factory())
    check: SenderCheck | None = None
    if attempts > inbound_messages.MAX_ATTEMPTS:
        return _poison(ctx, check, f"not read after {inbound_messages.MAX_ATTEMPTS} tries")
    try:
        check = _judge(ctx, trust)
        return _read(raw, ctx, check, limits)
    except Exception as exc:
        if attempts < inbound_messages.MAX_ATTEMPTS:
            raise  # the source leaves it for the next pass
        return _poison(ctx, check, f"could not be read ({type(exc).__name__})")
