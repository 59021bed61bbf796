"""Reading one raw e-mail: its headers and attachments, recognized by content, within limits.

Nothing here raises on malformed input: broken boundaries, wrong charsets, 8-bit headers and
nested messages become values (a refused attachment, a missing header), never exceptions.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesHeaderParser

import forms
from intake.addresses import Mailbox, parse_mailbox

ACCEPTED_FORMATS = frozenset({"docx", "rtf"})
_MAX_DEPTH = 20
_MAX_HEADER_CHARS = 998
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# How much of an oversized message is read for its headers; the rest is never looked at.
HEAD_BYTES = 256 * 1024

# Why an attachment is refused, in Latvian then English, keyed by what forms.sniff_format says.
REFUSAL_TEXT: dict[str, tuple[str, str]] = {
    "doc": (
        "Vecais Word .doc formāts netiek pieņemts; saglabājiet veidlapu kā DOCX vai RTF.",
        "Legacy Word .doc is not accepted; save the form as DOCX or RTF.",
    ),
    "pdf": (
        "PDF netiek pieņemts; sūtiet aizpildītu veidlapu DOCX vai RTF formātā.",
        "PDF is not accepted; send the filled form as DOCX or RTF.",
    ),
    "odt": (
        "ODT netiek pieņemts; saglabājiet veidlapu kā DOCX vai RTF.",
        "ODT is not accepted; save the form as DOCX or RTF.",
    ),
    "image": (
        "Attēli un skenējumi netiek pieņemti; sūtiet veidlapu DOCX vai RTF formātā.",
        "Images and scans are not accepted; send the form as DOCX or RTF.",
    ),
    "zip": (
        "Arhīvi netiek pieņemti; pievienojiet veidlapu kā DOCX vai RTF failu.",
        "Archives are not accepted; attach the form itself as a DOCX or RTF file.",
    ),
    "unknown": (
        "Faila veids nav atpazīts; pieņemam tikai DOCX un RTF veidlapas.",
        "The file type is not recognized; only DOCX and RTF forms are accepted.",
    ),
    "message": (
        "Pievienota e-pasta vēstule netiek lasīta; pievienojiet pašu veidlapu.",
        "An attached e-mail is not read; attach the form itself.",
    ),
    "too_large": (
        "Fails ir par lielu (vairāk nekā {limit} MB).",
        "The file is too large (more than {limit} MB).",
    ),
    "too_many": (
        "Vienā vēstulē pieņemam ne vairāk kā {limit} pielikumus.",
        "At most {limit} attachments are accepted in one message.",
    ),
    "total_too_large": (
        "Vēstules pielikumi kopā pārsniedz {limit} MB.",
        "The attachments of the message exceed {limit} MB together.",
    ),
}


@dataclass(frozen=True)
class Limits:
    """How much one message may carry."""

    max_attachments: int = 10
    max_attachment_bytes: int = 10 * 1024 * 1024
    max_message_bytes: int = 25 * 1024 * 1024


@dataclass(frozen=True)
class Attachment:
    """One accepted form attachment: its place in the message, safe file name and bytes."""

    index: int
    filename: str
    data: bytes
    format: str


@dataclass(frozen=True)
class Refusal:
    """One attachment that is not taken, and why, in Latvian and English."""

    index: int
    filename: str
    kind: str
    message_lv: str
    message_en: str


@dataclass(frozen=True)
class ParsedMessage:
    """What the intake needs from one e-mail.

    `sender` is the From mailbox read strictly (its `problem` says why there is none);
    `header_fields` are the raw (name, value) pairs in message order, for the
    Authentication-Results rules; `unreadable` says why the body could not be read at all.
    """

    message_id: str | None
    sender: Mailbox
    to_addr: str | None
    reply_to: str | None
    subject: str | None
    header_fields: list[tuple[str, str]]
    attachments: list[Attachment] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    too_large: bool = False
    unreadable: str | None = None

    @property
    def from_addr(self) -> str | None:
        """The sender's address, or None when the From header was refused."""
        return self.sender.address


def _clean(text: str, limit: int = _MAX_HEADER_CHARS) -> str:
    # Undecodable 8-bit bytes arrive as surrogates; make them visible replacement characters.
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return _CONTROL.sub(" ", text).strip()[:limit]


def decode_text(value: object) -> str:
    """A header value with RFC 2047 encoded words decoded; never raises."""
    if value is None:
        return ""
    raw = str(value)
    try:
        decoded = str(make_header(decode_header(raw)))
    except Exception:  # any malformed encoded word: keep the raw text rather than fail
        decoded = raw
    return _clean(decoded)


def _header(msg: Message, name: str) -> str | None:
    try:
        value = msg.get(name)
    except Exception:  # a header the parser cannot represent is treated as absent
        return None
    text = decode_text(value) if value is not None else ""
    return text or None


def _mailbox(msg: Message, name: str) -> Mailbox:
    """The one mailbox of a header, read strictly from its raw value (intake.addresses)."""
    try:
        values: list[object] = list(msg.get_all(name) or [])
    except Exception:  # a header the parser cannot represent counts as defective
        return Mailbox(None, problem=f"{name} header cannot be read")
    return parse_mailbox(values, name)


def _fields(msg: Message) -> list[tuple[str, str]]:
    try:
        return [(str(name), str(value)) for name, value in msg.items()]
    except Exception:  # unreadable headers: no Authentication-Results can be trusted then
        return []


def safe_filename(name: str | None, index: int) -> str:
    """A file name without folders or control characters, never empty."""
    text = decode_text(name) if name else ""
    text = text.replace("\\", "/").rsplit("/", 1)[-1].strip().lstrip(".")
    return text[:200] or f"attachment-{index}"


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:  # broken RFC 2231 parameters: fall back to the plain name parameter
        name = None
    if name is None:
        try:
            param = part.get_param("name")
        except Exception:  # no usable name parameter either
            param = None
        name = param if isinstance(param, str) else None
    return name


def _is_attachment(part: Message, filename: str | None) -> bool:
    try:
        disposition = part.get_content_disposition()
    except Exception:  # an unreadable disposition is judged by the file name alone
        disposition = None
    if disposition == "inline" and part.get("Content-ID") is not None:
        return False  # a picture embedded in the HTML body (signature logos), not a document
    return filename is not None or disposition == "attachment"


def _leaves(msg: Message) -> list[Message]:
    """The parts that may be attachments, depth-first; attached e-mails are not opened."""
    found: list[Message] = []
    stack: list[tuple[Message, int]] = [(msg, 0)]
    while stack:
        part, depth = stack.pop()
        content_type = part.get_content_type()
        if depth > 0 and content_type == "message/rfc822":
            found.append(part)
            continue
        if part.is_multipart() and depth < _MAX_DEPTH:
            payload = part.get_payload()
            children = (
                [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []
            )
            stack.extend((child, depth + 1) for child in reversed(children))
        elif not part.is_multipart():
            found.append(part)
    return found


def _refusal(index: int, filename: str, kind: str, limit: int | None = None) -> Refusal:
    text_lv, text_en = REFUSAL_TEXT.get(kind, REFUSAL_TEXT["unknown"])
    if limit is not None:
        text_lv, text_en = text_lv.format(limit=limit), text_en.format(limit=limit)
    return Refusal(index, filename, kind, text_lv, text_en)


def _headers_only(raw: bytes) -> Message:
    return BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw)


def _described(msg: Message, *, too_large: bool, unreadable: str | None) -> ParsedMessage:
    return ParsedMessage(
        message_id=_header(msg, "Message-ID"),
        sender=_mailbox(msg, "From"),
        to_addr=_mailbox(msg, "To").address,
        reply_to=_mailbox(msg, "Reply-To").address,
        subject=_header(msg, "Subject"),
        header_fields=_fields(msg),
        too_large=too_large,
        unreadable=unreadable,
    )


def parse_headers(head: bytes, *, too_large: bool = True) -> ParsedMessage:
    """The headers of a message whose body is not to be read (over the size limit)."""
    return _described(_headers_only(head[:HEAD_BYTES]), too_large=too_large, unreadable=None)


def parse_message(raw: bytes, limits: Limits | None = None) -> ParsedMessage:
    """Headers and attachments of one raw e-mail; malformed input never raises."""
    limits = limits or Limits()
    # Size first: an oversized message's body is never parsed (it may be huge on purpose).
    if len(raw) > limits.max_message_bytes:
        return parse_headers(raw, too_large=True)
    try:
        # compat32 parses anything; headers are decoded by hand, one bad header cannot crash us.
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    except RecursionError:
        # The parser recurses once per nesting level: 1,000 nested multiparts exhaust the stack.
        return _described(
            _headers_only(raw), too_large=False, unreadable="message structure nested too deeply"
        )
    parsed = _described(msg, too_large=False, unreadable=None)
    index = 0
    total = 0
    mb = 1024 * 1024
    for part in _leaves(msg):
        name = _filename(part)
        is_message = part.get_content_type() == "message/rfc822" and part is not msg
        if not is_message and not _is_attachment(part, name):
            continue  # body text: a form typed into the body is not read
        index += 1
        filename = safe_filename(name, index)
        if is_message:
            parsed.refused.append(_refusal(index, filename, "message"))
            continue
        if index > limits.max_attachments:
            parsed.refused.append(_refusal(index, filename, "too_many", limits.max_attachments))
            continue
        try:
            payload = part.get_payload(decode=True)
        except Exception:  # undecodable transfer encoding: the bytes are unusable
            payload = None
        data = payload if isinstance(payload, bytes) else b""
        if len(data) > limits.max_attachment_bytes:
            parsed.refused.append(
                _refusal(index, filename, "too_large", limits.max_attachment_bytes // mb)
            )
            continue
        total += len(data)
        if total > limits.max_message_bytes:
            parsed.refused.append(
                _refusal(index, filename, "total_too_large", limits.max_message_bytes // mb)
            )
            continue
        try:
            kind = forms.sniff_format(filename, data)
        except Exception:  # a sniffer bug must not lose the message; refuse the file instead
            kind = "unknown"
        if kind in ACCEPTED_FORMATS:
            parsed.attachments.append(Attachment(index, filename, data, kind))
        else:
            parsed.refused.append(_refusal(index, filename, kind))
    return parsed
