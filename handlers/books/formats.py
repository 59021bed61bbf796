"""Reading the books' two file forms: one JSON document, or a folder of CSV files.

Reading stops at structure (which rows exist, where, under which parent); values are checked
in `handlers.books.validation`, and `handlers.books.output` writes the same forms.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from handlers.books.records import (
    AUTHORIZED_PERSON_FIELDS,
    CONTRACT_FIELDS,
    CONTRACT_OPTIONAL,
    CUSTOMER_FIELDS,
    DETAILS_CHANGE_FIELDS,
    FEE_CHANGE_FIELDS,
    USER_FIELDS,
    USER_OPTIONAL,
    Location,
    Problem,
)

Kind = Literal["customer", "details_change", "contract", "fee_change", "authorized_person", "user"]

CUSTOMERS_CSV = "customers.csv"
DETAILS_CHANGES_CSV = "details_changes.csv"
CONTRACTS_CSV = "contracts.csv"
FEE_CHANGES_CSV = "fee_changes.csv"
AUTHORIZED_PERSONS_CSV = "authorized_persons.csv"
USERS_CSV = "users.csv"

# CSV files: name, the column that names the parent (None for customers), the row's own fields.
CSV_FILES: dict[Kind, tuple[str, str | None, tuple[str, ...]]] = {
    "customer": (CUSTOMERS_CSV, None, CUSTOMER_FIELDS),
    "details_change": (DETAILS_CHANGES_CSV, "reg_no", DETAILS_CHANGE_FIELDS),
    "contract": (CONTRACTS_CSV, "reg_no", (*CONTRACT_FIELDS, *CONTRACT_OPTIONAL)),
    "fee_change": (FEE_CHANGES_CSV, "contract_number", FEE_CHANGE_FIELDS),
    "authorized_person": (AUTHORIZED_PERSONS_CSV, "contract_number", AUTHORIZED_PERSON_FIELDS),
    "user": (USERS_CSV, "contract_number", (*USER_FIELDS, *USER_OPTIONAL)),
}
# Files and columns added for dated changes not yet in force (issue 14): a folder written
# before them has none, and reads as it always did.
OPTIONAL_FILES: frozenset[Kind] = frozenset({"details_change", "fee_change"})
OPTIONAL_COLUMNS: frozenset[str] = frozenset({*CONTRACT_OPTIONAL, *USER_OPTIONAL})
PARENT_KIND: dict[Kind, Kind | None] = {
    "customer": None,
    "details_change": "customer",
    "contract": "customer",
    "fee_change": "contract",
    "authorized_person": "contract",
    "user": "contract",
}


class BooksFileError(Exception):
    """The path cannot be read as books at all (missing, not JSON, not a folder of CSV)."""


@dataclass(slots=True, eq=False)
class RawRow:
    """One row as the file has it: values not yet checked, and how it hangs on its parent."""

    kind: Kind
    where: Location
    values: dict[str, Any]
    parent: RawRow | None = None  # JSON: the enclosing object
    parent_key: str | None = None  # CSV: the parent's key as written (reg_no, contract number)
    parent_key_field: str | None = None


@dataclass(slots=True)
class RawBooks:
    """Every row of a file by kind, with the structural problems found while reading."""

    rows: dict[Kind, list[RawRow]] = field(default_factory=lambda: {k: [] for k in PARENT_KIND})
    problems: list[Problem] = field(default_factory=list)
    # Kinds whose file could not be read; references to them are not reported as unknown.
    unreadable: set[Kind] = field(default_factory=set)


def _problem(file: str, row: str, fld: str | None, code: str, lv: str, en: str) -> Problem:
    return Problem(file=file, row=row, field=fld, code=code, message_lv=lv, message_en=en)


def read_books(path: Path) -> RawBooks:
    """The rows of a JSON file or a folder of CSV files; raises BooksFileError if neither."""
    if path.is_dir():
        return read_csv_folder(path)
    if path.is_file():
        return read_json(path)
    raise BooksFileError(f"{path}: no such file or folder")


# --- JSON -------------------------------------------------------------------------------------


def read_json(path: Path) -> RawBooks:
    """The rows of one JSON document; raises BooksFileError when it is not JSON."""
    name = path.name
    try:
        # Numbers stay text so that money never passes through a float.
        document = json.loads(path.read_bytes().decode("utf-8-sig"), parse_float=str, parse_int=str)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BooksFileError(f"{path}: not a UTF-8 JSON document ({exc})") from exc
    raw = RawBooks()
    if not isinstance(document, dict) or not isinstance(document.get("customers"), list):
        raw.problems.append(
            _problem(
                name,
                "",
                "customers",
                "structure",
                'jābūt objektam ar sarakstu "customers"',
                'must be an object with a list "customers"',
            )
        )
        raw.unreadable.update(PARENT_KIND)
        return raw
    for key in sorted(set(document) - {"customers"}):
        raw.problems.append(_unknown_field(name, "", key))
    for i, customer in enumerate(document["customers"], start=1):
        row = _json_row(raw, name, "customer", f"customers[{i}]", customer, None)
        if row is None:
            continue
        _json_children(raw, name, row, "details_change")
        for j, contract in enumerate(_json_list(raw, name, row, "contracts"), start=1):
            crow = _json_row(
                raw, name, "contract", f"{row.where.row}.contracts[{j}]", contract, row
            )
            if crow is not None:
                for kind in _JSON_CHILDREN["contract"]:
                    _json_children(raw, name, crow, kind)
    return raw


# The lists a JSON object holds its children in, by the children's kind.
_JSON_LISTS: dict[Kind, str] = {
    "details_change": "details_changes",
    "contract": "contracts",
    "fee_change": "fee_changes",
    "authorized_person": "authorized_persons",
    "user": "users",
}
_JSON_CHILDREN: dict[Kind, tuple[Kind, ...]] = {
    "customer": ("details_change", "contract"),
    "contract": ("fee_change", "authorized_person", "user"),
}
_JSON_FIELDS: dict[Kind, tuple[str, ...]] = {
    "customer": (*CUSTOMER_FIELDS, *(_JSON_LISTS[k] for k in _JSON_CHILDREN["customer"])),
    "details_change": DETAILS_CHANGE_FIELDS,
    "contract": (
        *CONTRACT_FIELDS,
        *CONTRACT_OPTIONAL,
        *(_JSON_LISTS[k] for k in _JSON_CHILDREN["contract"]),
    ),
    "fee_change": FEE_CHANGE_FIELDS,
    "authorized_person": AUTHORIZED_PERSON_FIELDS,
    "user": (*USER_FIELDS, *USER_OPTIONAL),
}


def _json_children(raw: RawBooks, name: str, parent: RawRow, kind: Kind) -> None:
    """The rows of one list under a JSON object (missing: none)."""
    key = _JSON_LISTS[kind]
    for k, item in enumerate(_json_list(raw, name, parent, key), start=1):
        _json_row(raw, name, kind, f"{parent.where.row}.{key}[{k}]", item, parent)


def _json_row(
    raw: RawBooks, name: str, kind: Kind, at: str, item: Any, parent: RawRow | None
) -> RawRow | None:
    if not isinstance(item, dict):
        raw.problems.append(
            _problem(name, at, None, "structure", "jābūt objektam", "must be an object")
        )
        return None
    allowed = _JSON_FIELDS[kind]
    for key in sorted(set(item) - set(allowed)):
        raw.problems.append(_unknown_field(name, at, str(key)))
    row = RawRow(kind=kind, where=Location(name, at), values=item, parent=parent)
    raw.rows[kind].append(row)
    return row


def _json_list(raw: RawBooks, name: str, row: RawRow, key: str) -> list[Any]:
    value = row.values.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raw.problems.append(
            _problem(name, row.where.row, key, "structure", "jābūt sarakstam", "must be a list")
        )
        return []
    return value


def _unknown_field(file: str, row: str, key: str) -> Problem:
    return _problem(
        file,
        row,
        key,
        "unknown_field",
        "nezināms lauks (pārrakstīšanās?)",
        "unknown field (a typo?)",
    )


# --- CSV --------------------------------------------------------------------------------------


def read_csv_folder(folder: Path) -> RawBooks:
    """The rows of customers.csv, contracts.csv, authorized_persons.csv and users.csv.

    details_changes.csv and fee_changes.csv are read when they are there.
    """
    raw = RawBooks()
    for kind, (name, parent_column, fields) in CSV_FILES.items():
        path = folder / name
        if not path.is_file() and kind in OPTIONAL_FILES:
            continue
        if not path.is_file():
            raw.problems.append(
                _problem(name, "", None, "missing_file", "fails nav atrasts", "file not found")
            )
            raw.unreadable.add(kind)
            continue
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError:
            raw.problems.append(
                _problem(name, "", None, "encoding", "jābūt UTF-8 kodējumā", "must be UTF-8")
            )
            raw.unreadable.add(kind)
            continue
        _read_csv(raw, kind, name, text, parent_column, fields)
    return raw


def _read_csv(
    raw: RawBooks,
    kind: Kind,
    name: str,
    text: str,
    parent_column: str | None,
    fields: tuple[str, ...],
) -> None:
    first_line = text.split("\n", 1)[0]
    # Spreadsheets in a Latvian locale write `;`; take whichever separator the header uses.
    delimiter = max(",;\t", key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [h.strip() for h in next(reader, [])]
    expected = (parent_column, *fields) if parent_column else fields
    missing = [c for c in expected if c not in header and c not in OPTIONAL_COLUMNS]
    for column in missing:
        raw.problems.append(
            _problem(name, "1", column, "missing_column", "trūkst kolonnas", "column missing")
        )
    for column in header:
        if column not in expected:
            raw.problems.append(_unknown_field(name, "1", column))
    if missing:
        raw.unreadable.add(kind)
        return
    for line_no, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue  # spreadsheets leave empty lines at the end
        if len(cells) > len(header):
            raw.problems.append(
                _problem(
                    name,
                    str(line_no),
                    None,
                    "extra_cells",
                    "vairāk šūnu nekā kolonnu",
                    "more cells than columns",
                )
            )
        values: dict[str, Any] = {
            column: (cells[i] if i < len(cells) and cells[i].strip() else None)
            for i, column in enumerate(header)
            if column in expected
        }
        parent_key = values.pop(parent_column, None) if parent_column else None
        raw.rows[kind].append(
            RawRow(
                kind=kind,
                where=Location(name, str(line_no)),
                values=values,
                parent_key=parent_key.strip() if isinstance(parent_key, str) else None,
                parent_key_field=parent_column,
            )
        )
