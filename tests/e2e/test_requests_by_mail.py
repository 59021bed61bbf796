"""All seven requests end to end: a client's e-mail → staff approval → the books → the replies."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from flows.cli import app
from flows.demo import FORM_TYPES
from handlers.models import ApplicationStatus
from tests.e2e.journey import Journey, Request
from tests.support.books import MX_AUTHSERV_ID
from tests.support.dovecot import Dovecot

pytestmark = pytest.mark.slow
cli = CliRunner()


def _approve_and_check(journey: Journey, requests: list[Request]) -> None:
    """Wait for every request to reach staff, approve each, then check books and replies."""
    waiting = []
    for request in requests:
        application = journey.application_of(request)
        assert application.form_type == request.form_type
        assert application.id is not None
        journey.env.wait_for_suspended(application.id)
        waiting.append(journey.env.application(application.id))
    for application in waiting:
        assert application.status == ApplicationStatus.awaiting_approval
        journey.approve(application)
    for request in requests:
        journey.assert_carried_out(request)


# Nine approvals by two people: one-time codes allow two per person per 30-second step.
@pytest.mark.timeout(600)
def test_seven_requests_sent_over_smtp(journey: Journey) -> None:
    """Each form mailed to the SMTP listener and approved changes the books and is answered."""
    requests = [journey.new_request(form_type) for form_type in FORM_TYPES]
    for request in requests:
        journey.send_smtp(request.raw, request.sender)
    _approve_and_check(journey, requests)


# Nine approvals by two people: one-time codes allow two per person per 30-second step.
@pytest.mark.timeout(600)
def test_seven_requests_fetched_from_imap(
    journey: Journey, imap_server: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each form fetched from the IMAP mailbox and approved changes the books and is answered."""
    requests = [journey.new_request(form_type) for form_type in FORM_TYPES]
    mailbox = imap_server.client()
    try:
        for request in requests:
            # The hosted mailbox checked the sender on arrival and says so, as its own server.
            domain = request.books.person_email.rpartition("@")[2]
            verdict = (
                f"{MX_AUTHSERV_ID}; dkim=pass header.d={domain}; dmarc=pass header.from={domain}"
            )
            mailbox.append("INBOX", f"Authentication-Results: {verdict}\r\n".encode() + request.raw)
    finally:
        mailbox.logout()
    for key, value in {
        "DOCINTAKE_IMAP_HOST": imap_server.host,
        "DOCINTAKE_IMAP_PORT": str(imap_server.port),
        "DOCINTAKE_IMAP_SSL": "false",
        "DOCINTAKE_IMAP_USERNAME": imap_server.user,
        "DOCINTAKE_IMAP_PASSWORD": imap_server.password,
        "DOCINTAKE_SENDER_VERIFICATION": "require",
        "DOCINTAKE_TRUSTED_AUTHSERV_IDS": MX_AUTHSERV_ID,
    }.items():
        monkeypatch.setenv(key, value)
    result = cli.invoke(app, ["intake", "imap", "--once"])
    assert result.exit_code == 0, result.output
    assert result.output.count(": done: 1 application(s)") == len(FORM_TYPES), result.output
    mailbox = imap_server.client()
    try:
        assert mailbox.select_folder("INBOX")[b"EXISTS"] == 0
        assert mailbox.select_folder("Processed")[b"EXISTS"] == len(FORM_TYPES)
    finally:
        mailbox.logout()
    _approve_and_check(journey, requests)
