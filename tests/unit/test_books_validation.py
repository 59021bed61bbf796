"""Reading and checking books files, without a database (issue 7)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from handlers.books import BooksFileError, books_to_json, load_books, write_books
from handlers.books.records import Problem

FIXTURES = Path(__file__).parents[1] / "fixtures" / "books"


def copy_csv(tmp_path: Path) -> Path:
    """A writable copy of the CSV fixture folder."""
    folder = tmp_path / "csv"
    folder.mkdir()
    for source in (FIXTURES / "csv").iterdir():
        (folder / source.name).write_bytes(source.read_bytes())
    return folder


def edit(path: Path, old: str, new: str) -> None:
    """Replace one text in a file, which must hold it."""
    text = path.read_text(encoding="utf-8-sig")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def where(problems: list[Problem]) -> list[tuple[str, str, str | None, str]]:
    """Problems as (file, row, field, code)."""
    return [(p.file, p.row, p.field, p.code) for p in problems]


def test_spreadsheet_csv_folder_reads_as_the_same_books_as_json() -> None:
    """`;` separators, a BOM, an empty last line and LV-prefixed keys still link up."""
    from_csv, csv_problems = load_books(FIXTURES / "csv")
    from_json, json_problems = load_books(FIXTURES / "books.json")

    assert csv_problems == json_problems == []
    assert from_csv == from_json
    assert from_json.user_count == 6


def test_values_are_normalized_with_the_forms_rules() -> None:
    """reg_no digits only, VAT with LV, IBAN compact, phone E.164, money with two decimals."""
    books, _ = load_books(FIXTURES / "books.json")
    ozols = books.customers[0]
    jberzins = ozols.contracts[0].users[1]

    assert (ozols.reg_no, ozols.vat_no, ozols.iban, ozols.swift) == (
        "40003056133",
        "LV40003056133",
        "LV36HABA0551001234567",
        "HABALV22",
    )
    assert (jberzins.phone, jberzins.personal_code, jberzins.balance) == (
        "+37129123456",
        "150190-10009",
        Decimal("1200.50"),
    )
    assert ozols.contracts[0].authorized_persons[0].email == "Anna.Kalnina@ozols.lv"


def test_json_numbers_never_pass_through_a_float(tmp_path: Path) -> None:
    """A balance written as a bare JSON number keeps its exact cents."""
    path = tmp_path / "books.json"
    text = (FIXTURES / "books.json").read_text(encoding="utf-8")
    path.write_text(
        text.replace('"balance": "7.10"', '"balance": 90071992547409.93'), encoding="utf-8"
    )

    books, problems = load_books(path)

    assert problems == []
    assert books.customers[2].contracts[0].users[1].balance == Decimal("90071992547409.93")


def test_every_bad_row_is_reported_and_left_out() -> None:
    """Eighteen problems in one file are all listed; only the clean rows remain."""
    books, problems = load_books(FIXTURES / "errors.json")

    assert len(problems) == 18
    assert len({(p.row, p.field) for p in problems}) == 18
    assert [c.reg_no for c in books.customers] == ["50000000002"]
    assert [c.number for c in books.customers[0].contracts] == ["L-2020/0007", "L-2021/0459"]


def test_problem_reads_as_file_row_field_and_both_languages() -> None:
    """A problem prints where it is, then the Latvian and the English message."""
    _, problems = load_books(FIXTURES / "errors.json")

    assert str(problems[0]) == (
        'errors.json:customers[1]: reg_no: Reģistrācijas numurs: "4000305613" — jābūt 11 '
        'cipariem / Registration number: "4000305613" — must be 11 digits'
    )


def test_csv_row_naming_an_unknown_contract_is_reported(tmp_path: Path) -> None:
    """A user whose contract number is not in contracts.csv is named by file, line and column."""
    folder = copy_csv(tmp_path)
    edit(folder / "users.csv", "L-2020/0007;ozols2", "L-2020/0008;ozols2")

    books, problems = load_books(folder)

    assert where(problems) == [("users.csv", "5", "contract_number", "unknown_parent")]
    assert "ozols2" not in {
        u.username for c in books.customers for k in c.contracts for u in k.users
    }


def test_rows_under_a_bad_parent_are_not_reported_twice(tmp_path: Path) -> None:
    """A contract with a bad fee is one problem; its users are left out without more noise."""
    folder = copy_csv(tmp_path)
    edit(
        folder / "contracts.csv",
        "L-2020/0007;LV40003056133;suspended;50.00",
        "L-2020/0007;LV40003056133;suspended;5O.00",
    )

    books, problems = load_books(folder)

    assert where(problems) == [("contracts.csv", "3", "base_fee", "invalid_money")]
    assert books.user_count == 5


def test_rows_of_a_bad_customer_written_with_lv_prefix_are_not_reported(tmp_path: Path) -> None:
    """Contracts naming a customer that failed (its reg_no spelled differently) add no noise."""
    folder = copy_csv(tmp_path)
    edit(folder / "customers.csv", ";habalv22;", ";HABA;")

    books, problems = load_books(folder)

    assert where(problems) == [("customers.csv", "2", "swift", "invalid_swift")]
    assert [c.reg_no for c in books.customers] == ["50000000002", "40103001201"]


def test_csv_file_missing_a_column_is_reported_once(tmp_path: Path) -> None:
    """A missing column is one problem on the header line, not one per row."""
    folder = copy_csv(tmp_path)
    edit(
        folder / "authorized_persons.csv",
        "contract_number;name;email",
        "contract_number;name;e_mail",
    )

    _, problems = load_books(folder)

    assert where(problems) == [
        ("authorized_persons.csv", "1", "email", "missing_column"),
        ("authorized_persons.csv", "1", "e_mail", "unknown_field"),
    ]


def test_missing_csv_file_is_a_problem(tmp_path: Path) -> None:
    """A folder without users.csv is reported, not read as a base without users."""
    folder = copy_csv(tmp_path)
    (folder / "users.csv").unlink()

    _, problems = load_books(folder)

    assert where(problems) == [("users.csv", "", None, "missing_file")]


def test_duplicate_keys_are_reported_with_the_first_place(tmp_path: Path) -> None:
    """The same reg_no twice names the row where it first appeared."""
    folder = copy_csv(tmp_path)
    edit(folder / "customers.csv", "50000000002;SIA Tukšā", "LV40003056133;SIA Tukšā")

    _, problems = load_books(folder)

    assert where(problems)[0] == ("customers.csv", "3", "reg_no", "duplicate")
    assert "customers.csv:2" in problems[0].message_en


def test_not_json_is_a_file_error(tmp_path: Path) -> None:
    """A file that is not JSON at all cannot be read as books."""
    path = tmp_path / "books.json"
    path.write_text("reg_no;name\n", encoding="utf-8")

    with pytest.raises(BooksFileError, match="not a UTF-8 JSON document"):
        load_books(path)


def test_json_without_customers_list_is_a_problem(tmp_path: Path) -> None:
    """A JSON document of another shape is reported, not taken as empty books."""
    path = tmp_path / "books.json"
    path.write_text('{"clients": []}', encoding="utf-8")

    _, problems = load_books(path)

    assert where(problems) == [("books.json", "", "customers", "structure")]


def test_written_files_read_back_as_the_same_books(tmp_path: Path) -> None:
    """JSON and CSV written from books read back to equal books, and write the same bytes."""
    books, _ = load_books(FIXTURES / "books.json")
    write_books(books, tmp_path / "books.json")
    write_books(books, tmp_path / "csv")

    from_json, json_problems = load_books(tmp_path / "books.json")
    from_csv, csv_problems = load_books(tmp_path / "csv")

    assert json_problems == csv_problems == []
    assert from_json == from_csv == books
    assert books_to_json(from_csv) == (tmp_path / "books.json").read_bytes()
    assert (tmp_path / "csv" / "users.csv").read_text(encoding="utf-8").splitlines()[2] == (
        "L-2019/0123,jberzins,Jānis,Bērziņš,150190-10009,Jurists,janis.berzins@ozols.lv,"
        "+37129123456,user,active,1200.50,,"  # no block to come, no suspension's block
    )
