"""An SMTP listener (aiosmtpd) that takes mail for the intake address into the drop folder.

It answers 250 only after the raw message is written durably (fsynced) into the drop folder;
the drop-folder pass then processes it like any other file. Mail for any other recipient is
refused at RCPT, and a message over the size limit is refused by aiosmtpd with 552 (it stops
keeping the data once over the limit, so a huge message never sits in memory).

The listener is a boundary: every Authentication-Results header a message arrives with is
deleted; given a DNS resolver it checks SPF, DKIM and DMARC itself (intake.verify) and stamps
its own header under its authserv-id before storing (without one, nothing is verified).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from dns.resolver import Resolver

from intake import verify
from intake.sources.dropdir import deliver

log = logging.getLogger(__name__)


class IntakeHandler:
    """aiosmtpd handler: one accepted recipient, messages stored before they are acknowledged."""

    def __init__(
        self,
        *,
        intake_address: str,
        inbox: Path,
        authserv_id: str = "docintake",
        resolver: Resolver | None = None,
    ) -> None:
        self.intake_address = intake_address.strip().lower()
        self.inbox = inbox
        self.authserv_id = authserv_id
        self.resolver = resolver

    def _checked(self, raw: bytes, session: Session, envelope: Envelope) -> bytes:
        """The message with the A-R headers it came with replaced by our own verdict."""
        if self.resolver is None:  # no checks wanted (verification off): only strip
            return verify.strip_results(raw)
        peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer)
        try:
            checked = verify.check_message(
                raw,
                client_ip=str(peer),
                helo=session.host_name or "",
                mail_from=envelope.mail_from or "",
                resolver=self.resolver,
            )
        except Exception as exc:  # unverifiable mail is stored unverified, never lost
            log.warning("sender checks failed (%s); stored unverified", type(exc).__name__)
            return verify.strip_results(raw)
        return verify.stamp(raw, authserv_id=self.authserv_id, checked=checked)

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        """Accept only the intake address."""
        if address.strip().lower() != self.intake_address:
            return "550 5.1.1 No such recipient here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Store the message durably, then say 250; a failure to store is a temporary error."""
        raw = envelope.original_content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        loop = asyncio.get_running_loop()
        try:
            stamped = await loop.run_in_executor(None, self._checked, raw, session, envelope)
            await loop.run_in_executor(None, deliver, self.inbox, stamped)
        except OSError:
            log.exception("incoming message could not be stored")
            return "451 4.3.0 Could not store the message; try again later"
        return "250 2.0.0 Stored"


class _Controller(Controller):
    """A Controller whose SMTP instances carry the size limit."""

    def __init__(self, handler: IntakeHandler, *, max_message_bytes: int, **kwargs: Any) -> None:
        self._max_bytes = max_message_bytes
        super().__init__(handler, **kwargs)

    def factory(self) -> SMTP:
        """An SMTP server object with the configured size limit."""
        return SMTP(self.handler, data_size_limit=self._max_bytes, **self.SMTP_kwargs)


def start_listener(
    *,
    host: str,
    port: int,
    intake_address: str,
    inbox: Path,
    max_message_bytes: int,
    authserv_id: str = "docintake",
    resolver: Resolver | None = None,
) -> Controller:
    """Start the listener in a background thread; call `.stop()` on the result to end it."""
    inbox.mkdir(parents=True, exist_ok=True)
    controller = _Controller(
        IntakeHandler(
            intake_address=intake_address,
            inbox=inbox,
            authserv_id=authserv_id,
            resolver=resolver,
        ),
        max_message_bytes=max_message_bytes,
        hostname=host,
        port=port,
    )
    controller.start()
    return controller
