"""A real SMTP server (aiosmtpd) on a free loopback port that records what it receives.

Use it directly::

    with SmtpSink() as sink:
        send_something(host=sink.host, port=sink.port)
        [message] = sink.wait_for(1)
        assert message["To"] == "a@example.lv"

or as the `smtp_sink` fixture: add `pytest_plugins = ["tests.support.smtp_sink"]` to a
conftest (tests/conftest.py already does), then take `smtp_sink` as an argument.
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from types import TracebackType
from typing import Any, Self

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


@dataclass(frozen=True)
class ReceivedMail:
    """One message as the server received it: the envelope and the parsed message."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    raw: bytes


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class _RecordingHandler:
    """Records each DATA command; can refuse the next few with a temporary failure."""

    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Keep the message, or answer 451 while failures are still wanted."""
        with self.sink._lock:
            if self.sink._fail_remaining > 0:
                self.sink._fail_remaining -= 1
                return "451 4.3.0 Try again later (test sink told to fail)"
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode()
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        mail = ReceivedMail(
            mail_from=str(envelope.mail_from),
            rcpt_tos=tuple(envelope.rcpt_tos),
            message=message,
            raw=raw,
        )
        with self.sink._lock:
            self.sink._received.append(mail)
            self.sink._arrived.notify_all()
        return "250 OK"


class _QuietController(Controller):
    """A controller that does not warn about AUTH without TLS: the sink only listens on loopback."""

    def factory(self) -> SMTP:
        """The SMTP protocol object for one connection."""
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
            server: SMTP = super().factory()  # type: ignore[no-untyped-call]  # aiosmtpd is untyped
            return server


class SmtpSink:
    """A real SMTP server on loopback; `messages` are what arrived, in order.

    `username`/`password` make the server demand AUTH LOGIN/PLAIN (without TLS, loopback only).
    `fail_next(n)` makes the next n messages get a temporary failure (451), to test retries.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.username = username
        self.password = password
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._received: list[ReceivedMail] = []
        self._fail_remaining = 0
        self._controller: Controller | None = None

    def start(self) -> Self:
        """Start listening; returns self."""
        kwargs: dict[str, Any] = {}
        if self.username is not None:
            kwargs.update(
                authenticator=self._authenticate,
                auth_required=True,
                auth_require_tls=False,
            )
        self._controller = _QuietController(
            _RecordingHandler(self), hostname=self.host, port=self.port, **kwargs
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop listening (idempotent)."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == self.username
            and auth_data.password.decode() == self.password
        )
        return AuthResult(success=ok, handled=False)

    @property
    def received(self) -> list[ReceivedMail]:
        """Every message with its envelope, in arrival order (a copy)."""
        with self._lock:
            return list(self._received)

    @property
    def messages(self) -> list[EmailMessage]:
        """Every message received, parsed, in arrival order (a copy)."""
        return [mail.message for mail in self.received]

    def messages_to(self, address: str) -> list[EmailMessage]:
        """The messages whose envelope recipients include this address (case-insensitive)."""
        wanted = address.lower()
        return [
            mail.message
            for mail in self.received
            if wanted in (rcpt.lower() for rcpt in mail.rcpt_tos)
        ]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        """Block until at least `count` messages arrived; AssertionError after `timeout` s."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self._received) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"SMTP sink got {len(self._received)} message(s), expected {count}"
                    )
                self._arrived.wait(remaining)
            return [mail.message for mail in self._received]

    def fail_next(self, count: int) -> None:
        """Answer the next `count` messages with 451 (temporary failure) instead of keeping them."""
        with self._lock:
            self._fail_remaining = count

    def clear(self) -> None:
        """Forget what arrived so far."""
        with self._lock:
            self._received.clear()


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A running SMTP sink on a free loopback port, stopped after the test."""
    with SmtpSink() as sink:
        yield sink
