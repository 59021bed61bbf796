"""Intake throughput: N messages in the drop folder, each with one filled form, to applications.

Prints messages per second beside the floor of just reading and hashing the same files, on
the embedded default (SQLite under a temporary home) or on --database-url (e.g. PostgreSQL),
twice: with sender verification off, and on — each message DKIM-signed with a fresh key, then
checked as the SMTP listener does (SPF, DKIM, DMARC against a DNS server on loopback, the
verdict stamped) and read under `require`. The verification's share of the intake's own time
per message must stay under 20%.

    .venv/bin/python bench/intake.py                 # 1,000 messages, SQLite
    .venv/bin/python bench/intake.py --messages 100 --database-url postgresql://...
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path

# This file is bench/intake.py: run as a script, its folder comes first on sys.path and the
# file would shadow the `intake` package. Put the project root there instead.
_BENCH = Path(__file__).resolve().parent
sys.path[:] = [str(_BENCH.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _BENCH]

import dkim  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from sqlmodel import func, select  # noqa: E402

import forms  # noqa: E402
from handlers.db import UnitOfWork, create_all, make_engine  # noqa: E402
from handlers.models import (  # noqa: E402
    Application,
    AuthorizedPerson,
    Contract,
    Customer,
    CustomerDetails,
)
from intake import verify  # noqa: E402
from intake.pipeline import MessageOutcome, process_message  # noqa: E402
from intake.senders import Trust, Verification  # noqa: E402
from intake.sources.dropdir import process_inbox  # noqa: E402
from tests.support.dns_server import DnsServer  # noqa: E402

TODAY = date(2026, 11, 25)
SENDER = "anna.kalnina@ozols.lv"
DOCX = ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document")


def seed(uow: UnitOfWork) -> None:
    """One customer, one contract, one authorized person."""
    with uow:
        customer = Customer(reg_no="40003056133")
        uow.session.add(customer)
        uow.session.flush()
        assert customer.id is not None
        uow.session.add(
            CustomerDetails(customer_id=customer.id, valid_from=date(2019, 1, 1), name="SIA Ozols")
        )
        contract = Contract(
            number="L-2019/0123",
            customer_id=customer.id,
            base_fee=Decimal("100.00"),
            per_user_fee=Decimal("20.00"),
        )
        uow.session.add(contract)
        uow.session.flush()
        assert contract.id is not None
        uow.session.add(
            AuthorizedPerson(contract_id=contract.id, name="Anna Kalniņa", email=SENDER)
        )
        uow.commit()


def _message(i: int) -> bytes:
    values = {
        "customer_name": "SIA Ozols",
        "reg_no": "40003056133",
        "contract_no": "L-2019/0123",
        "submitter_name": "Anna Kalniņa",
        "signed_date": "2026-11-20",
        "new_fee": f"{150 + i}.00",
    }
    document = forms.render_form("fee_increase", "docx", values)
    message = EmailMessage()
    message["From"] = SENDER
    message["To"] = "pieteikumi@example.lv"
    message["Subject"] = f"Iesniegums {i}"
    message["Message-ID"] = f"<bench-{i}@ozols.lv>"
    message.set_content("Pielikumā iesniegums.")
    message.add_attachment(document, DOCX[0], DOCX[1], filename=f"iesniegums-{i}.docx")
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


def write_messages(inbox: Path, count: int, sign: Callable[[bytes], bytes] | None = None) -> None:
    """`count` .eml files, each with a different filled fee-increase DOCX (signed if asked)."""
    inbox.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        raw = _message(i)
        (inbox / f"{i:05d}.eml").write_bytes(sign(raw) if sign else raw)


def floor(inbox: Path) -> float:
    """Seconds to just read and hash every file once (the least any intake must do)."""
    start = time.perf_counter()
    for path in sorted(inbox.glob("*.eml")):
        hashlib.sha256(path.read_bytes()).hexdigest()
    return time.perf_counter() - start


def _key() -> tuple[bytes, str]:
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
class Run:
    """One pass over the drop folder: seconds in total and in sender verification."""

    seconds: float
    verifying: float
    messages: int


def run_once(count: int, database_url: str | None, *, verified: bool) -> Run:
    """Seed a fresh database, fill the drop folder, take it all in; the times."""
    root = Path(tempfile.mkdtemp(prefix="docintake-bench-"))
    try:
        home = root / "var"
        inbox = home / "inbox"
        url = database_url or f"sqlite:///{home / 'docintake.db'}"
        home.mkdir(parents=True)
        engine = make_engine(url)
        create_all(engine)
        seed(UnitOfWork(engine))
        with DnsServer() as dns:
            private, record = _key()
            dns.txt("s1._domainkey.ozols.lv", record)
            dns.txt("ozols.lv", "v=spf1 ip4:127.0.0.1 -all")
            dns.txt("_dmarc.ozols.lv", "v=DMARC1; p=reject")
            resolver = verify.make_resolver([dns.address])

            def sign(raw: bytes) -> bytes:
                signature: bytes = dkim.sign(raw, b"s1", b"ozols.lv", private)
                return signature + raw

            write_messages(inbox, count, sign if verified else None)
            trust = (
                Trust(Verification.require, ("docintake",)) if verified else Trust(Verification.off)
            )
            verifying = 0.0

            def handle(raw: bytes, *, size: int | None = None) -> MessageOutcome:
                nonlocal verifying
                if verified:
                    # What the SMTP listener does before it stores a message.
                    start = time.perf_counter()
                    checked = verify.check_message(
                        raw,
                        client_ip="127.0.0.1",
                        helo="mail.ozols.lv",
                        mail_from=SENDER,
                        resolver=resolver,
                    )
                    raw = verify.stamp(raw, authserv_id="docintake", checked=checked)
                    verifying += time.perf_counter() - start
                    assert checked.dmarc == "pass", checked
                return process_message(
                    raw,
                    source="bench",
                    uow_factory=lambda: UnitOfWork(engine),
                    home=home,
                    today=TODAY,
                    staff_email="staff@example.lv",
                    trust=trust,
                    size=size,
                )

            start = time.perf_counter()
            results = process_inbox(inbox, handle=handle, settle_seconds=0)
            seconds = time.perf_counter() - start
        with UnitOfWork(engine) as uow:
            recorded = uow.session.exec(
                select(func.count())
                .select_from(Application)
                .where(Application.status == "received")
            ).one()
        assert len(results) == count, "every file must be taken"
        assert recorded == count, f"{recorded} valid applications for {count} messages"
        engine.dispose()
        return Run(seconds, verifying, count)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="docintake-bench-floor-"))
    try:
        write_messages(root, args.messages)
        floor_seconds = floor(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    off = run_once(args.messages, args.database_url, verified=False)
    on = run_once(args.messages, args.database_url, verified=True)
    n = args.messages
    own = on.seconds - on.verifying  # the intake's own time, verification aside
    share = on.verifying / own
    print(f"database:          {args.database_url or 'sqlite'}")
    print(f"messages:          {n}")
    print(f"verification off:  {off.seconds:.2f} s = {n / off.seconds:.1f} messages/s")
    print(f"verification on:   {on.seconds:.2f} s = {n / on.seconds:.1f} messages/s")
    print(
        f"  of which SPF+DKIM+DMARC: {on.verifying:.2f} s = "
        f"{1000 * on.verifying / n:.2f} ms/message"
    )
    print(
        f"verification / intake's own time per message: {share:.1%} "
        f"({'under' if share < 0.2 else 'OVER'} the 20% budget)"
    )
    print(
        f"floor:             {floor_seconds:.3f} s = {n / floor_seconds:.0f} messages/s "
        "(read + sha256 only)"
    )


if __name__ == "__main__":
    main()
