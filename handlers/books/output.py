"""Writing the books' two file forms: one JSON document, or a folder of CSV files.

Writing is deterministic: the same books give the same bytes. The keys added for dated changes
still to come (issue 14) appear in JSON only when they carry something, so books without such
changes are written exactly as before them; the CSV folder always has all six files, so a
folder written over an older export never keeps stale changes.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from handlers.books.formats import CSV_FILES, Kind
from handlers.books.records import (
    AUTHORIZED_PERSON_FIELDS,
    CONTRACT_FIELDS,
    CONTRACT_OPTIONAL,
    CUSTOMER_FIELDS,
    DETAILS_CHANGE_FIELDS,
    FEE_CHANGE_FIELDS,
    USER_FIELDS,
    USER_OPTIONAL,
    Books,
)


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        # Two places always; a zero never prints as -0.00.
        return f"{value + Decimal('0.00'):.2f}" if value != 0 else "0.00"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _fields(record: object, names: Sequence[str]) -> dict[str, str | None]:
    return {n: _text(getattr(record, n)) for n in names}


def _given(record: object, names: Sequence[str]) -> dict[str, str]:
    """The optional fields that carry a value (JSON leaves the others out)."""
    return {n: text for n, text in _fields(record, names).items() if text is not None}


def _listed(key: str, rows: list[dict[str, str | None]]) -> dict[str, Any]:
    """A list of dated changes under its key, or nothing when there are none."""
    return {key: rows} if rows else {}


def books_to_json(books: Books) -> bytes:
    """The books as one UTF-8 JSON document, keys and rows in a fixed order."""
    document = {
        "customers": [
            {
                **_fields(customer, CUSTOMER_FIELDS),
                **_listed(
                    "details_changes",
                    [_fields(d, DETAILS_CHANGE_FIELDS) for d in customer.details_changes],
                ),
                "contracts": [
                    {
                        **_fields(contract, CONTRACT_FIELDS),
                        **_given(contract, CONTRACT_OPTIONAL),
                        **_listed(
                            "fee_changes",
                            [_fields(f, FEE_CHANGE_FIELDS) for f in contract.fee_changes],
                        ),
                        "authorized_persons": [
                            _fields(p, AUTHORIZED_PERSON_FIELDS)
                            for p in contract.authorized_persons
                        ],
                        "users": [
                            {**_fields(u, USER_FIELDS), **_given(u, USER_OPTIONAL)}
                            for u in contract.users
                        ],
                    }
                    for contract in customer.contracts
                ],
            }
            for customer in books.customers
        ]
    }
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def books_to_csv(books: Books) -> dict[str, bytes]:
    """The books as the six CSV files (name → UTF-8 bytes), rows in the books' order."""
    tables: dict[Kind, list[list[str | None]]] = {
        kind: [[parent, *fields] if parent else list(fields)]
        for kind, (_, parent, fields) in CSV_FILES.items()
    }

    def add(kind: Kind, parent_key: str | None, record: object) -> None:
        _, parent, fields = CSV_FILES[kind]
        values = list(_fields(record, fields).values())
        tables[kind].append([parent_key, *values] if parent else values)

    for customer in books.customers:
        add("customer", None, customer)
        for details in customer.details_changes:
            add("details_change", customer.reg_no, details)
        for contract in customer.contracts:
            add("contract", customer.reg_no, contract)
            for fee in contract.fee_changes:
                add("fee_change", contract.number, fee)
            for person in contract.authorized_persons:
                add("authorized_person", contract.number, person)
            for user in contract.users:
                add("user", contract.number, user)
    return {CSV_FILES[kind][0]: _csv_bytes(rows) for kind, rows in tables.items()}


def _csv_bytes(rows: Iterable[list[str | None]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows(["" if c is None else c for c in row] for row in rows)
    return out.getvalue().encode("utf-8")


def write_books(books: Books, path: Path) -> None:
    """Write the books to `path`: a `.json` file, or else a folder of CSV files."""
    if path.suffix.lower() == ".json":
        _write_atomically(path, books_to_json(books))
        return
    path.mkdir(parents=True, exist_ok=True)
    for name, data in books_to_csv(books).items():
        _write_atomically(path / name, data)


def _write_atomically(path: Path, data: bytes) -> None:
    # A backup half written over the previous one would be worse than none.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
