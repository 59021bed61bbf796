"""The SMTP listener's own SPF, DKIM and DMARC checks, against a real DNS server on loopback.

Keys are made by the test, signatures by dkimpy; the listener resolves through dnspython at
the test's DNS server (dnslib), and the pipeline trusts only the listener's authserv-id.
"""

from __future__ import annotations

import base64
import smtplib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path

import authres
import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy.engine import Engine
from sqlmodel import select

from handlers.db import UnitOfWork
from handlers.models import Application, ApplicationStatus, MessageStatus, OutboxMessage
from intake.pipeline import MessageOutcome, process_message
from intake.senders import Trust, Verification
from intake.sources.dropdir import process_inbox
from intake.sources.smtp import start_listener
from intake.verify import make_resolver
from tests.support.books import (
    ANNA,
    INTAKE_ADDRESS,
    STAFF_ADDRESS,
    fee_increase_values,
    form_rtf,
    make_message,
    seed_contract,
)
from tests.support.dns_server import DnsServer
from tests.support.smtp_sink import free_port

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

AUTHSERV = "docintake.test"
TRUST = Trust(level=Verification.require, trusted_authserv_ids=(AUTHSERV,))


def _key_pair() -> tuple[bytes, str]:
    """A fresh RSA key: the private key in PEM, the public key as a DKIM TXT record."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, f"v=DKIM1; k=rsa; p={base64.b64encode(public).decode()}"


@dataclass
class Boundary:
    """The listener with its DNS server, drop folder and the keys of the domains."""

    dns: DnsServer
    port: int
    inbox: Path
    keys: dict[str, bytes]

    def publish_key(self, domain: str, selector: str = "s1") -> None:
        """Make a key for a domain and publish it under `selector._domainkey.domain`."""
        private, record = _key_pair()
        self.keys[domain] = private
        self.dns.txt(f"{selector}._domainkey.{domain}", record)

    def sign(self, raw: bytes, domain: str, selector: str = "s1") -> bytes:
        """The message with a real DKIM-Signature of the domain on top."""
        signature: bytes = dkim.sign(
            raw,
            selector.encode(),
            domain.encode(),
            self.keys[domain],
            include_headers=[b"From", b"To", b"Subject", b"Message-ID"],
        )
        return signature + raw

    def send(self, raw: bytes, mail_from: str) -> bytes:
        """Send over SMTP from 127.0.0.1; the stored message, as the listener wrote it."""
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as client:
            client.sendmail(mail_from, [INTAKE_ADDRESS], raw)
        [stored] = list(self.inbox.glob("*.eml"))
        return stored.read_bytes()


def _verdicts(stored: bytes) -> dict[str, str]:
    """Method → result of the one Authentication-Results on top, parsed with authres."""
    headers = BytesHeaderParser(policy=compat32).parsebytes(stored)
    [value] = headers.get_all("Authentication-Results") or []
    header = authres.AuthenticationResultsHeader.parse_value(" ".join(str(value).split()))
    assert str(header.authserv_id) == AUTHSERV
    assert stored.startswith(b"Authentication-Results:")
    return {str(r.method): str(r.result) for r in header.results}


@pytest.fixture
def boundary(tmp_path: Path) -> Iterator[Boundary]:
    """The listener on a free port, checking against a fresh DNS server."""
    inbox = tmp_path / "var" / "inbox"
    port = free_port()
    with DnsServer() as dns:
        dns.txt("ozols.lv", "v=spf1 ip4:127.0.0.1 -all")
        dns.txt("_dmarc.ozols.lv", "v=DMARC1; p=reject")
        listener = start_listener(
            host="127.0.0.1",
            port=port,
            intake_address=INTAKE_ADDRESS,
            inbox=inbox,
            max_message_bytes=1_000_000,
            authserv_id=AUTHSERV,
            resolver=make_resolver([dns.address]),
        )
        try:
            yield Boundary(dns, port, inbox, {})
        finally:
            listener.stop()


def _form_mail(from_addr: str = ANNA[1]) -> bytes:
    document = form_rtf("fee_increase", fee_increase_values())
    return make_message(
        from_addr=from_addr, attachments=(("iesniegums.rtf", document),), verified=False
    )


def _take(boundary: Boundary, engine: Engine, today: date) -> MessageOutcome:
    def handle(raw: bytes) -> MessageOutcome:
        return process_message(
            raw,
            source="smtp",
            uow_factory=lambda: UnitOfWork(engine),
            home=boundary.inbox.parent,
            today=today,
            staff_email=STAFF_ADDRESS,
            trust=TRUST,
        )

    [result] = process_inbox(boundary.inbox, handle=handle, settle_seconds=0)
    assert result.outcome is not None
    return result.outcome


def _mail(engine: Engine) -> list[tuple[str, str]]:
    with UnitOfWork(engine) as uow:
        return [(m.template, m.recipient) for m in uow.session.exec(select(OutboxMessage)).all()]


def test_a_signed_message_from_an_allowed_host_passes_and_is_read(
    boundary: Boundary, engine: Engine, uow: UnitOfWork, today: date
) -> None:
    """Real signature, SPF pass, DMARC pass: our stamp says so and the form is taken."""
    seed_contract(uow)
    boundary.publish_key("ozols.lv")
    stored = boundary.send(boundary.sign(_form_mail(), "ozols.lv"), ANNA[1])

    assert _verdicts(stored) == {"spf": "pass", "dkim": "pass", "dmarc": "pass"}
    outcome = _take(boundary, engine, today)
    assert outcome.status is MessageStatus.done
    with UnitOfWork(engine) as check:
        [app] = check.session.exec(select(Application)).all()
        assert (app.status, app.sender_verified) == (ApplicationStatus.received, True)
    assert _mail(engine) == [("receipt", ANNA[1])]


def test_a_signature_broken_in_transit_fails_and_the_message_is_held(
    boundary: Boundary, engine: Engine, uow: UnitOfWork, today: date
) -> None:
    """A body changed after signing: dkim=fail; with no aligned SPF, DMARC fails: quarantine."""
    seed_contract(uow)
    boundary.publish_key("ozols.lv")
    signed = boundary.sign(_form_mail(), "ozols.lv")
    tampered = signed.replace(b"Labdien, pielikum", b"Labdien! pielikum", 1)
    stored = boundary.send(tampered, "bounce@elsewhere.lv")

    assert _verdicts(stored)["dkim"] == "fail"
    assert _verdicts(stored)["dmarc"] == "fail"
    outcome = _take(boundary, engine, today)
    assert outcome.status is MessageStatus.quarantined
    assert _mail(engine) == [("quarantined", STAFF_ADDRESS)]


def test_an_unsigned_message_with_a_foreign_envelope_fails_dmarc(
    boundary: Boundary, engine: Engine, uow: UnitOfWork, today: date
) -> None:
    """No signature and an envelope of another domain: nothing aligns, DMARC p=reject fails."""
    seed_contract(uow)
    stored = boundary.send(_form_mail(), "bounce@elsewhere.lv")

    assert _verdicts(stored) == {"spf": "none", "dkim": "none", "dmarc": "fail"}
    assert _take(boundary, engine, today).status is MessageStatus.quarantined
    assert ("receipt", ANNA[1]) not in _mail(engine)


def test_spf_fail_without_a_signature_is_held(
    boundary: Boundary, engine: Engine, uow: UnitOfWork, today: date
) -> None:
    """The domain's SPF allows another host only: spf=fail, dmarc=fail, quarantine."""
    seed_contract(uow)
    boundary.dns.records["ozols.lv"].clear()
    boundary.dns.txt("ozols.lv", "v=spf1 ip4:192.0.2.10 -all")
    stored = boundary.send(_form_mail(), ANNA[1])

    assert _verdicts(stored)["spf"] == "fail"
    assert _verdicts(stored)["dmarc"] == "fail"
    assert _take(boundary, engine, today).status is MessageStatus.quarantined


def test_a_valid_signature_of_another_domain_does_not_align(
    boundary: Boundary, engine: Engine, uow: UnitOfWork, today: date
) -> None:
    """Signed by evil.lv, From ozols.lv: dkim passes for evil.lv, DMARC for ozols.lv fails."""
    seed_contract(uow)
    boundary.publish_key("evil.lv")
    stored = boundary.send(boundary.sign(_form_mail(), "evil.lv"), "bounce@evil.lv")

    assert _verdicts(stored)["dkim"] == "pass"
    assert _verdicts(stored)["dmarc"] == "fail"
    assert _take(boundary, engine, today).status is MessageStatus.quarantined


def test_a_forged_pass_in_the_message_is_removed_before_ours(
    boundary: Boundary, engine: Engine, uow: UnitOfWork, today: date
) -> None:
    """The sender's own `docintake.test; dmarc=pass` is deleted; our verdict stands alone."""
    seed_contract(uow)
    forged = f"Authentication-Results: {AUTHSERV}; dmarc=pass header.from=ozols.lv\r\n"
    stored = boundary.send(forged.encode() + _form_mail(), "bounce@elsewhere.lv")

    assert stored.count(b"Authentication-Results:") == 1
    assert _verdicts(stored)["dmarc"] == "fail"
    assert _take(boundary, engine, today).status is MessageStatus.quarantined


def test_no_dmarc_record_and_no_alignment_is_unverified_not_failed(
    boundary: Boundary, engine: Engine, uow: UnitOfWork, today: date
) -> None:
    """A domain with no DMARC policy: dmarc=none; under `require` held, nobody answered."""
    seed_contract(uow, authorized=(("Jānis", "janis@bez-dmarc.lv"),), users=())
    stored = boundary.send(_form_mail(from_addr="janis@bez-dmarc.lv"), "bounce@elsewhere.lv")

    assert _verdicts(stored)["dmarc"] == "none"
    outcome = _take(boundary, engine, today)
    assert outcome.status is MessageStatus.quarantined
    assert all(recipient == STAFF_ADDRESS for _, recipient in _mail(engine))
