"""Books import and export speed (issue 7): N generated users on SQLite and PostgreSQL.

    .venv/bin/python bench/import.py --users 100000            # both databases
    .venv/bin/python bench/import.py --users 5000 --backend sqlite --format csv

Prints, per database, the time and users per second of each step: reading and checking the
file, the first import (everything new), a second import of the same file (nothing to change),
and the export. PostgreSQL gets a scratch database on the server that is dropped afterwards.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy.engine import Engine
from stdnum.lv import pvn

from handlers.books import export_books, import_books, load_books, write_books
from handlers.books.records import (
    AuthorizedPersonRecord,
    Books,
    ContractRecord,
    CustomerRecord,
    DetailsChangeRecord,
    FeeChangeRecord,
    UserRecord,
)
from handlers.db import UnitOfWork
from handlers.models import ContractStatus, UserRole, UserStatus
from tests.support.databases import fresh_engine

USERS_PER_CONTRACT = 10
TODAY = date(2026, 11, 25)
NEXT_MONTH = date(2026, 12, 1)
T = TypeVar("T")


def _valid_numbers(first: int) -> Iterator[str]:
    """Eleven-digit numbers with a valid Latvian check digit, from a ten-digit start upwards."""
    base = first
    while True:
        for digit in range(10):
            number = f"{base}{digit}"
            if pvn.is_valid(number):
                yield number
                break
        base += 1


def generate(users: int, seed: int = 7) -> Books:
    """A customer base of `users` users, ten to a contract, one contract per customer."""
    rng = random.Random(seed)
    reg_nos = _valid_numbers(4000000000)
    # Personal codes of people born on 15.01.1990 onwards: DDMMYY then a serial and a check digit.
    codes = _valid_numbers(1501901000)
    customers = []
    made = 0
    n = 0
    while made < users:
        n += 1
        reg_no = next(reg_nos)
        domain = f"company{n}.lv"
        batch = min(USERS_PER_CONTRACT, users - made)
        contract_users = []
        for _ in range(batch):
            made += 1
            contract_users.append(
                UserRecord(
                    username=f"user{made:07d}",
                    first_name="Jānis",
                    last_name=f"Bērziņš{made}",
                    personal_code=(c := next(codes))[:6] + "-" + c[6:] if made % 2 else None,
                    position="Jurists" if made % 3 else None,
                    email=f"user{made}@{domain}",
                    phone=f"+3712{rng.randrange(10**7):07d}",
                    role=UserRole.accountant if made % 10 == 0 else UserRole.user,
                    status=UserStatus.blocked if made % 17 == 0 else UserStatus.active,
                    balance=Decimal(rng.randrange(-1000, 100000)) / 100,
                    # Some blocks and (below) fee and details changes still to come (issue 14).
                    block_from=NEXT_MONTH if made % 23 == 0 and made % 17 else None,
                )
            )
        customers.append(
            CustomerRecord(
                reg_no=reg_no,
                name=f'SIA "Uzņēmums {n}"',
                address=f"Brīvības iela {n}, Rīga",
                vat_no="LV" + reg_no,
                bank="Swedbank",
                swift="HABALV22",
                iban=None,
                details_changes=(
                    DetailsChangeRecord(
                        valid_from=NEXT_MONTH,
                        name=f'AS "Uzņēmums {n}"',
                        address=f"Brīvības iela {n}, Rīga",
                        vat_no="LV" + reg_no,
                        bank="Swedbank",
                        swift="HABALV22",
                        iban=None,
                    ),
                )
                if n % 7 == 0
                else (),
                contracts=(
                    ContractRecord(
                        number=f"L-2026/{n:06d}",
                        status=ContractStatus.active,
                        base_fee=Decimal("100.00"),
                        per_user_fee=Decimal("20.00"),
                        suspended_until=None,
                        fee_changes=(
                            (FeeChangeRecord(valid_from=NEXT_MONTH, base_fee=Decimal("120.00")),)
                            if n % 5 == 0
                            else ()
                        ),
                        authorized_persons=(
                            AuthorizedPersonRecord(
                                name=f"Anna Kalniņa {n}", email=f"anna@{domain}"
                            ),
                        ),
                        users=tuple(contract_users),
                    ),
                ),
            )
        )
    return Books(customers=tuple(customers))


def database(backend: str, workdir: Path) -> AbstractContextManager[Engine]:
    """A fresh, empty accounts database of the given kind."""
    return fresh_engine(backend, workdir, "docintake_bench")


def timed(label: str, users: int, step: Callable[[], T]) -> tuple[T, float]:
    """Run one step and print how long it took and how many users per second that is."""
    start = time.perf_counter()
    result = step()
    seconds = time.perf_counter() - start
    print(f"  {label:<34} {seconds:8.2f} s  {users / seconds:>10,.0f} users/s")
    return result, seconds


def export(engine: Engine, out: Path) -> Books:
    """Export the books to a file, as `docintake books export` does; the books exported."""
    books = export_books(uow=UnitOfWork(engine), today=TODAY)
    write_books(books, out)
    return books


def run(backend: str, users: int, path: Path, workdir: Path) -> float:
    """Check, import twice and export on one database; the total seconds."""
    print(f"{backend}:")
    with database(backend, workdir) as engine:
        (books, problems), t_check = timed(
            "read and check the file", users, lambda: load_books(path)
        )
        assert problems == [], problems[:5]
        first, t_import = timed(
            "import (all new)",
            users,
            lambda: import_books(books, uow=UnitOfWork(engine), today=TODAY),
        )
        assert first.committed
        assert first.created["users"] == users
        second, t_again = timed(
            "import again (nothing to change)",
            users,
            lambda: import_books(books, uow=UnitOfWork(engine), today=TODAY),
        )
        assert second.changes == 0
        assert second.unchanged["users"] == users
        out = workdir / f"export{path.suffix}"
        exported, t_export = timed("export", users, lambda: export(engine, out))
        # What came in goes out, scheduled changes included (an export → import "move").
        assert exported == books
    total = t_check + t_import + t_again + t_export
    print(f"  {'total':<34} {total:8.2f} s")
    return total


def main() -> None:
    """Parse the options and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--format", choices=["json", "csv"], default="json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="docintake-bench-") as tmp:
        workdir = Path(tmp)
        start = time.perf_counter()
        books = generate(args.users)
        path = workdir / ("books.json" if args.format == "json" else "books")
        write_books(books, path)
        contracts = len(books.customers)
        print(
            f"{args.users:,} users, {contracts:,} customers and contracts, {args.format} "
            f"(generated in {time.perf_counter() - start:.1f} s)"
        )
        backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
        for backend in backends:
            run(backend, args.users, path, workdir)


if __name__ == "__main__":
    main()
