"""Transports: a real SMTP relay (aiosmtplib), or a folder of `.eml` files.

The SMTP transport speaks STARTTLS/TLS and login and retries temporary failures with backoff —
but never once the message data may have reached the relay: a timeout or a lost connection
during the DATA exchange may mean the mail was accepted and only the answer was lost, and a
retry there would send a copy (a relay that stalled after DATA once made one row 8 copies per
delivery attempt). That case raises `DeliveryUnknownError` for the outbox to decide. The folder
transport is the embedded default when no SMTP host is configured.
"""

from __future__ import annotations

import asyncio
import mimetypes
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Any, Protocol

import aiosmtplib

from notifications.render import RenderedMail


class Transport(Protocol):
    """Where a built message goes; `send` raises on failure, `close` ends any connection."""

    mail_from: str

    async def send(self, message: EmailMessage) -> None:
        """Deliver one message (raises on failure)."""
        ...

    async def close(self) -> None:
        """Release connections; the transport may be used again afterwards."""
        ...


class PermanentSendError(RuntimeError):
    """The server refused the message for good (5xx): retrying now will not help."""


class DeliveryUnknownError(RuntimeError):
    """The DATA exchange broke off without an answer: the relay may or may not have the mail."""


class _DataAwareSMTP(aiosmtplib.SMTP):
    """An SMTP client that remembers whether the DATA exchange began on this message."""

    data_started = False

    async def data(self, message: str | bytes, /, **kwargs: Any) -> aiosmtplib.SMTPResponse:
        """Mark the DATA exchange as begun, then run it."""
        self.data_started = True
        return await super().data(message, **kwargs)


@dataclass(frozen=True)
class Document:
    """A file made in memory (an invoice PDF) to attach: its name, bytes and MIME type."""

    filename: str
    data: bytes
    mime: str = "application/pdf"


def mail_domain(mail_from: str) -> str:
    """The domain of the sender address, for our Message-IDs."""
    return parseaddr(mail_from)[1].rpartition("@")[2] or "docintake.invalid"


def build_message(
    *,
    mail_from: str,
    recipient: str,
    rendered: RenderedMail,
    cc: Sequence[str] = (),
    attachments: Sequence[Path] = (),
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    documents: Sequence[Document] = (),
) -> EmailMessage:
    """A multipart e-mail: plain text and HTML alternatives, then the attached files.

    `in_reply_to` and `references` keep a reply in the client's thread (RFC 5322 3.6.4).
    """
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = recipient
    if cc:
        message["Cc"] = ", ".join(cc)
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = message_id or f"<{uuid.uuid4().hex}@{mail_domain(mail_from)}>"
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = " ".join(dict.fromkeys([*references, in_reply_to]))
    # Tells auto-responders not to answer us, so two robots never loop.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    for path in attachments:
        mime, _ = mimetypes.guess_type(path.name)
        maintype, _, subtype = (mime or "application/octet-stream").partition("/")
        message.add_attachment(
            path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name
        )
    for document in documents:
        maintype, _, subtype = document.mime.partition("/")
        message.add_attachment(
            document.data, maintype=maintype, subtype=subtype, filename=document.filename
        )
    return message


@dataclass
class SmtpTransport:
    """Sends over one reused SMTP connection; temporary failures are retried with backoff."""

    host: str
    port: int = 587
    starttls: bool = True
    tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    mail_from: str = "pieteikumi@example.lv"
    retries: int = 3
    backoff_seconds: float = 0.5
    _client: _DataAwareSMTP | None = field(default=None, init=False, repr=False)

    async def _connect(self) -> _DataAwareSMTP:
        if self._client is not None and self._client.is_connected:
            return self._client
        client = _DataAwareSMTP(
            hostname=self.host,
            port=self.port,
            use_tls=self.tls,
            start_tls=self.starttls and not self.tls,
            timeout=self.timeout,
            username=self.username,
            password=self.password,
        )
        await client.connect()
        self._client = client
        return client

    async def send(self, message: EmailMessage) -> None:
        """Send one message; 4xx and lost connections are retried, 5xx raise at once.

        A timeout or lost connection once DATA began raises DeliveryUnknownError, unretried.
        """
        attempt = 0
        while True:
            client: _DataAwareSMTP | None = None
            try:
                client = await self._connect()
                client.data_started = False
                await client.send_message(message)
                return
            except aiosmtplib.SMTPResponseException as exc:
                # A refused recipient or message: an answer came, the connection is still fine.
                if exc.code >= 500:
                    raise PermanentSendError(f"{exc.code} {exc.message}") from exc
                error: Exception = exc
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                await self.close()
                if client is not None and client.data_started:
                    raise DeliveryUnknownError(
                        f"no answer after DATA ({type(exc).__name__}): the relay may have it"
                    ) from exc
                error = exc
            attempt += 1
            if attempt > self.retries:
                raise error
            await asyncio.sleep(self.backoff_seconds * 2 ** (attempt - 1))

    async def close(self) -> None:
        """Say QUIT if connected."""
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()


@dataclass
class FolderTransport:
    """Writes each message as an `.eml` file (atomically) into a folder: home/outbox."""

    folder: Path
    mail_from: str = "pieteikumi@example.lv"

    async def send(self, message: EmailMessage) -> None:
        """Write the message as `<utc time>-<random>.eml`."""
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        final = self.folder / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        partial = final.with_suffix(".eml.part")
        partial.write_bytes(message.as_bytes())
        os.replace(partial, final)

    async def close(self) -> None:
        """Nothing to release."""


def transport_from(
    *,
    host: str | None = None,
    port: int = 587,
    starttls: bool = True,
    tls: bool = False,
    username: str | None = None,
    password: str | None = None,
    timeout: float = 30.0,
    mail_from: str = "pieteikumi@example.lv",
    outbox_dir: Path | None = None,
) -> Transport:
    """An SMTP transport when a host is given, else a folder transport into `outbox_dir`."""
    if host:
        return SmtpTransport(
            host=host,
            port=port,
            starttls=starttls,
            tls=tls,
            username=username,
            password=password,
            timeout=timeout,
            mail_from=mail_from,
        )
    if outbox_dir is None:
        raise ValueError("no SMTP host and no outbox folder: nowhere to deliver")
    return FolderTransport(folder=Path(outbox_dir), mail_from=mail_from)
