"""Dated changes still to come in a books file: read, checked and written (issue 14)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from handlers.books import books_to_json, load_books, write_books
from handlers.books.records import Problem
from handlers.models import BlockReason

FIXTURES = Path(__file__).parents[1] / "fixtures" / "books"


def with_changes(tmp_path: Path, change: Any) -> Path:
    """The books.json fixture with `change(document)` applied, written to a new file."""
    document = json.loads((FIXTURES / "books.json").read_text(encoding="utf-8"))
    change(document)
    path = tmp_path / "changes.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def where(problems: list[Problem]) -> list[tuple[str, str | None, str]]:
    """Problems as (row, field, code)."""
    return [(p.row, p.field, p.code) for p in problems]


def scheduled(document: dict[str, Any]) -> None:
    """One of each dated change, written as a client would (Latvian dates, decimal commas)."""
    ozols = document["customers"][0]["contracts"][0]
    ozols["fee_changes"] = [{"valid_from": "01.12.2026", "base_fee": "150,00"}]
    ozols["suspended_from"] = "15.12.2026"
    ozols["suspended_until"] = "15.01.2027"
    ozols["users"][1]["block_from"] = "2026-12-10"
    document["customers"][0]["contracts"][1]["users"][0]["blocked_reason"] = "Suspension"
    document["customers"][2]["details_changes"] = [
        {"valid_from": "01.01.2027", "name": 'AS "Daugava Grupa"', "vat_no": "lv40103001201"}
    ]


def test_dated_changes_are_read_normalized_and_written_back_the_same(tmp_path: Path) -> None:
    """Fee, suspension, block and details to come read in canonical form, same from CSV."""
    books, problems = load_books(with_changes(tmp_path, scheduled))

    assert problems == []
    ozols, daugava = books.customers[0], books.customers[2]
    contract = ozols.contracts[0]
    assert [(f.valid_from, f.base_fee) for f in contract.fee_changes] == [
        (date(2026, 12, 1), Decimal("150.00"))
    ]
    assert (contract.suspended_from, contract.suspended_until) == (
        date(2026, 12, 15),
        date(2027, 1, 15),
    )
    assert contract.users[1].block_from == date(2026, 12, 10)
    assert ozols.contracts[1].users[0].blocked_reason == BlockReason.suspension
    assert [(d.valid_from, d.name, d.vat_no) for d in daugava.details_changes] == [
        (date(2027, 1, 1), 'AS "Daugava Grupa"', "LV40103001201")
    ]
    write_books(books, tmp_path / "out.json")
    write_books(books, tmp_path / "csv")
    from_json, json_problems = load_books(tmp_path / "out.json")
    from_csv, csv_problems = load_books(tmp_path / "csv")
    assert json_problems == csv_problems == []
    assert from_json == from_csv == books
    assert books_to_json(from_csv) == (tmp_path / "out.json").read_bytes()
    assert (tmp_path / "csv" / "fee_changes.csv").read_text(encoding="utf-8") == (
        "contract_number,valid_from,base_fee\nL-2019/0123,2026-12-01,150.00\n"
    )


def test_books_without_dated_changes_write_no_new_json_keys(tmp_path: Path) -> None:
    """A file of books with nothing scheduled is written exactly as before the new keys."""
    books, _ = load_books(FIXTURES / "books.json")

    text = books_to_json(books).decode("utf-8")

    for key in ("fee_changes", "details_changes", "suspended_from", "block_from", "blocked_"):
        assert key not in text


def test_dated_changes_that_contradict_their_row_are_all_reported(tmp_path: Path) -> None:
    """A suspension or block dated on what is already so, or dates out of order, are named."""

    def contradictions(document: dict[str, Any]) -> None:
        ozols = document["customers"][0]["contracts"]
        ozols[0]["suspended_from"] = "20.12.2026"
        ozols[0]["suspended_until"] = "19.12.2026"
        ozols[0]["fee_changes"] = [
            {"valid_from": "01.12.2026", "base_fee": "150"},
            {"valid_from": "2026-12-01", "base_fee": "160"},
            {"valid_from": "31.02.2027", "base_fee": "170"},
        ]
        ozols[0]["users"][0]["block_from"] = "01.12.2026"  # pkrumins is blocked already
        ozols[0]["users"][1]["blocked_reason"] = "suspension"  # jberzins is active
        ozols[1]["suspended_from"] = "01.12.2026"  # suspended already
        document["customers"][2]["details_changes"] = [{"valid_from": "01.01.2027"}]

    _, problems = load_books(with_changes(tmp_path, contradictions))

    assert where(problems) == [
        ("customers[1].contracts[1]", "suspended_until", "date_to_before_from"),
        ("customers[1].contracts[1].users[1]", "block_from", "not_active"),
        ("customers[1].contracts[1].fee_changes[2]", "valid_from", "duplicate"),
        ("customers[1].contracts[1].users[2]", "blocked_reason", "not_blocked"),
        ("customers[1].contracts[1].fee_changes[3]", "valid_from", "invalid_date"),
        ("customers[1].contracts[2]", "suspended_from", "already_suspended"),
        ("customers[3].details_changes[1]", "name", "required"),
    ]
