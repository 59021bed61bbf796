"""The SMTP sink the other tests rely on: it receives real SMTP and can refuse on demand."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import pytest

from tests.support.smtp_sink import SmtpSink


def _mail(to: str, subject: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "a@example.lv"
    message["To"] = to
    message["Subject"] = subject
    message.set_content("Labdien! / Hello!")
    return message


def test_sink_records_a_message_sent_over_smtp(smtp_sink: SmtpSink) -> None:
    """A message sent with smtplib arrives parsed, with its envelope recipient."""
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=10) as client:
        client.send_message(_mail("b@example.lv", "Sveiki"))
    [message] = smtp_sink.wait_for(1)
    assert message["Subject"] == "Sveiki"
    assert smtp_sink.messages_to("B@example.lv") == [message]


def test_sink_refuses_on_demand_then_accepts(smtp_sink: SmtpSink) -> None:
    """fail_next(1) answers one message with a temporary failure and keeps the next."""
    smtp_sink.fail_next(1)
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=10) as client:
        with pytest.raises(smtplib.SMTPDataError):
            client.send_message(_mail("b@example.lv", "first"))
        client.send_message(_mail("b@example.lv", "second"))
    assert [m["Subject"] for m in smtp_sink.wait_for(1)] == ["second"]


def test_sink_with_login_refuses_wrong_password() -> None:
    """A sink with credentials accepts the right login and refuses a wrong one."""
    with SmtpSink(username="robot", password="s3cret") as sink:
        with (
            smtplib.SMTP(sink.host, sink.port, timeout=10) as client,
            pytest.raises(smtplib.SMTPAuthenticationError),
        ):
            client.login("robot", "wrong")
        with smtplib.SMTP(sink.host, sink.port, timeout=10) as client:
            client.login("robot", "s3cret")
            client.send_message(_mail("c@example.lv", "authed"))
        assert sink.wait_for(1)[0]["Subject"] == "authed"


def test_wait_for_fails_when_nothing_arrives(smtp_sink: SmtpSink) -> None:
    """wait_for raises AssertionError rather than hanging when mail never comes."""
    with pytest.raises(AssertionError, match="got 0"):
        smtp_sink.wait_for(1, timeout=0.2)
