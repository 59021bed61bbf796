"""Benchmark: operations per second and outbox e-mails per second.

add_users and top_up on SQLite and PostgreSQL; outbox delivery into a loopback SMTP server
(aiosmtpd), plain receipts and credentials (argon2 at production cost).

    .venv/bin/python bench/operations.py [--n 200] [--mails 300] [--skip-postgres]

PostgreSQL: a throw-away database on DOCINTAKE_TEST_PG_URL's server (default
postgresql+psycopg://postgres@127.0.0.1:5432/test), dropped afterwards.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlmodel import select

from handlers import credentials
from handlers.accounts import top_up
from handlers.commands import AddUsers, NewUser, TopUp
from handlers.db import UnitOfWork, create_all, make_engine
from handlers.models import OutboxMessage
from handlers.operations import add_users
from notifications.delivery import deliver_pending_sync
from notifications.outbox import enqueue
from notifications.smtp import SmtpTransport
from tests.support.books import OZOLS_CONTRACT, seed_contract
from tests.support.databases import fresh_postgres
from tests.support.smtp_sink import SmtpSink

TODAY = date(2026, 11, 25)


@contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite:///{folder}/bench.db"


def rate(label: str, count: int, run: Callable[[int], None]) -> float:
    started = time.perf_counter()
    for i in range(count):
        run(i)
    elapsed = time.perf_counter() - started
    per_second = count / elapsed
    print(f"{label:<34} {count:>6} in {elapsed:6.2f} s = {per_second:8.1f} /s")
    return per_second


def bench_operations(url: str, label: str, n: int) -> None:
    engine = make_engine(url)
    create_all(engine)
    seed_contract(UnitOfWork(engine))

    def one_user(i: int) -> None:
        person = NewUser(first_name="Ieva", last_name=f"Liepa{i}", email=f"ieva{i}@ozols.lv")
        cmd = AddUsers(request_key=f"add-{i}", contract_no=OZOLS_CONTRACT, users=(person,))
        assert add_users(cmd, uow=UnitOfWork(engine), today=TODAY).ok

    def one_top_up(i: int) -> None:
        cmd = TopUp(request_key=f"top-{i}", username="jberzins", amount=Decimal("1.25"))
        assert top_up(cmd, uow=UnitOfWork(engine), today=TODAY).ok

    def replay(i: int) -> None:
        cmd = TopUp(request_key=f"top-{i}", username="jberzins", amount=Decimal("1.25"))
        assert top_up(cmd, uow=UnitOfWork(engine), today=TODAY).replayed

    rate(f"{label} add_users (1 user)", n, one_user)
    rate(f"{label} top_up", n, one_top_up)
    rate(f"{label} top_up replayed (no-op)", n, replay)
    engine.dispose()


def bench_mail(url: str, mails: int, credentials_mails: int) -> None:
    engine = make_engine(url)
    create_all(engine)
    seed_contract(UnitOfWork(engine))
    uow = UnitOfWork(engine)
    with uow:
        for i in range(mails):
            enqueue(
                uow.session,
                template="receipt",
                recipient=f"client{i}@example.lv",
                context={"reference": f"LUR-2026-{i:06d}", "form_title_lv": "A"},
                dedupe_key=f"LUR-2026-{i:06d}",
            )
        uow.commit()
    with SmtpSink() as sink, tempfile.TemporaryDirectory() as home:
        transport = SmtpTransport(host=sink.host, port=sink.port, starttls=False)
        started = time.perf_counter()
        report = deliver_pending_sync(
            uow_factory=lambda: UnitOfWork(engine), transport=transport, home=Path(home)
        )
        sink.wait_for(mails, timeout=60)
        elapsed = time.perf_counter() - started
        print(
            f"{'outbox receipts -> aiosmtpd':<34} {report.sent:>6} in {elapsed:6.2f} s ="
            f" {report.sent / elapsed:8.1f} /s"
        )
        sink.clear()
        # Credentials mint a password at send time: production argon2 cost included.
        for i in range(credentials_mails):
            person = NewUser(first_name="Ance", last_name=f"Koka{i}", email=f"ance{i}@ozols.lv")
            cmd = AddUsers(request_key=f"cred-{i}", contract_no=OZOLS_CONTRACT, users=(person,))
            add_users(cmd, uow=UnitOfWork(engine), today=TODAY)
        started = time.perf_counter()
        report = deliver_pending_sync(
            uow_factory=lambda: UnitOfWork(engine), transport=transport, home=Path(home)
        )
        elapsed = time.perf_counter() - started
        print(
            f"{'outbox credentials (argon2)':<34} {report.sent:>6} in {elapsed:6.2f} s ="
            f" {report.sent / elapsed:8.1f} /s"
        )
    uow = UnitOfWork(engine)
    with uow:
        assert all(row.status == "sent" for row in uow.session.exec(select(OutboxMessage)).all())
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="operations per measurement")
    parser.add_argument("--mails", type=int, default=300, help="receipts to deliver")
    parser.add_argument("--credentials", type=int, default=20, help="credentials to deliver")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    credentials.configure_hasher()  # production argon2 parameters
    with sqlite_url() as url:
        bench_operations(url, "sqlite", args.n)
    if not args.skip_postgres:
        with fresh_postgres("docintake_bench") as url:
            bench_operations(url, "postgres", args.n)
    with sqlite_url() as url:
        bench_mail(url, args.mails, args.credentials)


if __name__ == "__main__":
    main()
