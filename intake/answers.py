"""What a client's answer to one of our mails carries: the thread headers and its text.

Read from the raw message for `handlers.threads.attach_client_answer`; never raises.
"""

from __future__ import annotations

import email
import email.policy
import html
import re
from dataclasses import dataclass
from email.message import Message

from intake.mime import decode_text

_MESSAGE_ID = re.compile(r"<[^<>\s]{1,250}>")
_TAGS = re.compile(r"<[^>]*>")
MAX_TEXT_CHARS = 20_000


@dataclass(frozen=True)
class AnswerParts:
    """The Message-IDs a message answers and its plain text."""

    in_reply_to: str | None
    references: tuple[str, ...]
    text: str


def _ids(value: object) -> list[str]:
    return _MESSAGE_ID.findall(decode_text(value)) if value is not None else []


def _text(msg: Message) -> str:
    plain: str | None = None
    markup: str | None = None
    for part in msg.walk():
        if part.is_multipart() or part.get_filename():
            continue
        kind = part.get_content_type()
        if kind not in ("text/plain", "text/html"):
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        charset = part.get_content_charset() or "utf-8"
        try:
            text = payload.decode(charset, "replace")
        except LookupError:  # an unknown charset name
            text = payload.decode("utf-8", "replace")
        if kind == "text/plain" and plain is None:
            plain = text
        elif kind == "text/html" and markup is None:
            markup = html.unescape(_TAGS.sub(" ", text))
    return (plain if plain is not None else markup or "").strip()[:MAX_TEXT_CHARS]


def answer_parts(raw: bytes) -> AnswerParts:
    """In-Reply-To, References and the body text of a raw e-mail."""
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        replied = _ids(msg.get("In-Reply-To"))
        return AnswerParts(
            in_reply_to=replied[0] if replied else None,
            references=tuple(_ids(msg.get("References"))),
            text=_text(msg),
        )
    except Exception:  # a malformed message answers nothing; the caller replies as before
        return AnswerParts(None, (), "")
