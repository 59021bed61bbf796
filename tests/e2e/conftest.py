"""The e2e tier's services, each started once and shared by the whole tier.

One Prefect server with one serving process, one SMTP sink for the replies, one intake SMTP
listener and one Dovecot.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from intake.sources.smtp import start_listener
from tests.e2e.journey import Journey
from tests.support.dovecot import Dovecot
from tests.support.prefect_env import (  # noqa: F401 - the session fixture, reused as it is
    PrefectEnv,
    prefect_env_fixture,
)
from tests.support.smtp_sink import SmtpSink, free_port

MAX_MESSAGE_BYTES = 25 * 1024 * 1024


@pytest.fixture(scope="session")
def reply_sink() -> Iterator[SmtpSink]:
    """The real SMTP server on loopback where every reply to a client or staff arrives."""
    with SmtpSink() as sink:
        yield sink


@pytest.fixture(scope="session")
def imap_server() -> Iterator[Dovecot]:
    """One real Dovecot for the tier (a missing Dovecot fails, never skips)."""
    with Dovecot() as server:
        yield server


@pytest.fixture(scope="session")
def journey(prefect_env: PrefectEnv, reply_sink: SmtpSink) -> Iterator[Journey]:
    """The served deployments sending real mail to the sink, and the intake SMTP listener."""
    smtp_env = {
        "DOCINTAKE_SMTP_HOST": reply_sink.host,
        "DOCINTAKE_SMTP_PORT": str(reply_sink.port),
        "DOCINTAKE_SMTP_STARTTLS": "false",
    }
    # The shared fixture serves with replies written to files; serve again with a relay.
    prefect_env.kill_serving()
    prefect_env.env.update(smtp_env)
    prefect_env.start_serving()
    listen_port = free_port()
    listener = start_listener(
        host="127.0.0.1",
        port=listen_port,
        intake_address=Journey.intake_address,
        inbox=prefect_env.home / "inbox",
        max_message_bytes=MAX_MESSAGE_BYTES,
    )
    try:
        with pytest.MonkeyPatch.context() as patch:
            # The CLI run inside the tests (intake imap, requests) sends through the sink too.
            for key, value in smtp_env.items():
                patch.setenv(key, value)
            yield Journey(env=prefect_env, sink=reply_sink, listen_port=listen_port)
    finally:
        listener.stop()
