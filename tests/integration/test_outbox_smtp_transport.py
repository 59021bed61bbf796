"""The SMTP transport against a real relay that takes the message data and then goes silent."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from notifications.render import RenderedMail
from notifications.smtp import DeliveryUnknownError, SmtpTransport, build_message
from tests.support.smtp_sink import free_port


class _StallingRelay:
    """Counts each message whose data arrived, then answers only after `stall` seconds."""

    def __init__(self, stall: float) -> None:
        self.stall = stall
        self.received = 0
        self._lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Take the message, then keep the client waiting for the answer."""
        with self._lock:
            self.received += 1
        await asyncio.sleep(self.stall)
        return "250 OK"


@pytest.fixture
def stalling_relay() -> Iterator[tuple[_StallingRelay, int]]:
    """A real aiosmtpd relay on loopback whose answer to DATA comes 5 s late."""
    relay = _StallingRelay(stall=5.0)
    port = free_port()
    controller = Controller(relay, hostname="127.0.0.1", port=port)
    controller.start()
    yield relay, port
    controller.stop()


def _message() -> EmailMessage:
    rendered = RenderedMail(subject="Pieteikums", text="Labdien", html="<p>Labdien</p>")
    return build_message(
        mail_from="pieteikumi@example.lv", recipient="klients@ozols.test", rendered=rendered
    )


async def test_no_retry_once_the_data_was_sent_and_the_answer_was_lost(
    stalling_relay: tuple[_StallingRelay, int],
) -> None:
    """A timeout after DATA is reported as unknown and not retried: the relay holds one copy."""
    relay, port = stalling_relay
    transport = SmtpTransport(
        host="127.0.0.1", port=port, starttls=False, timeout=1.0, retries=3, backoff_seconds=0.01
    )
    with pytest.raises(DeliveryUnknownError):
        await transport.send(_message())
    await transport.close()
    await asyncio.sleep(0.2)
    assert relay.received == 1
