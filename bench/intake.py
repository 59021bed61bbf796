"""Intake throughput: N messages in the drop folder, each with one filled form, to applications.

Prints messages per second beside the floor of just reading and hashing the same files, on
the embedded default (SQLite under a temporary home) or on --database-url (e.g. PostgreSQL).

    .venv/bin/python bench/intake.py                 # 1,000 messages, SQLite
    .venv/bin/python bench/intake.py --messages 100 --database-url postgresql://...
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path

# This file is bench/intake.py: run as a script, its folder comes first on sys.path and the
# file would shadow the `intake` package. Put the project root there instead.
_BENCH = Path(__file__).resolve().parent
sys.path[:] = [str(_BENCH.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _BENCH]

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
from intake.pipeline import MessageOutcome, process_message  # noqa: E402
from intake.sources.dropdir import process_inbox  # noqa: E402

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


def write_messages(inbox: Path, count: int) -> None:
    """`count` .eml files, each with a different filled fee-increase DOCX."""
    inbox.mkdir(parents=True, exist_ok=True)
    for i in range(count):
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
        raw = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
        (inbox / f"{i:05d}.eml").write_bytes(raw)


def floor(inbox: Path) -> float:
    """Seconds to just read and hash every file once (the least any intake must do)."""
    start = time.perf_counter()
    for path in sorted(inbox.glob("*.eml")):
        hashlib.sha256(path.read_bytes()).hexdigest()
    return time.perf_counter() - start


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="docintake-bench-"))
    try:
        home = root / "var"
        inbox = home / "inbox"
        url = args.database_url or f"sqlite:///{home / 'docintake.db'}"
        home.mkdir(parents=True)
        engine = make_engine(url)
        create_all(engine)
        seed(UnitOfWork(engine))
        write_messages(inbox, args.messages)
        floor_seconds = floor(inbox)

        def handle(raw: bytes) -> MessageOutcome:
            return process_message(
                raw,
                source="bench",
                uow_factory=lambda: UnitOfWork(engine),
                home=home,
                today=TODAY,
                staff_email="staff@example.lv",
            )

        start = time.perf_counter()
        results = process_inbox(inbox, handle=handle, settle_seconds=0)
        seconds = time.perf_counter() - start
        with UnitOfWork(engine) as uow:
            recorded = uow.session.exec(select(func.count()).select_from(Application)).one()
        assert len(results) == args.messages, "every file must be taken"
        assert recorded == args.messages, f"{recorded} applications for {args.messages} messages"
        assert all(r.outcome is not None and r.outcome.final for r in results)
        print(f"database: {engine.dialect.name}")
        print(f"messages: {args.messages}, applications recorded: {recorded}")
        print(f"intake:   {seconds:.2f} s = {args.messages / seconds:.1f} messages/s")
        print(
            f"floor:    {floor_seconds:.3f} s = {args.messages / floor_seconds:.0f} messages/s "
            "(read + sha256 only)"
        )
        engine.dispose()
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
