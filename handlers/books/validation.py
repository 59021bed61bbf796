"""Checking the rows of a books file with the forms' value rules, and linking them into Books.

Every problem is collected (never the first only), so a dry run can list them all. A row with
a problem is left out of the Books returned, together with everything under it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from forms import values as v
from handlers.books.formats import CSV_FILES, PARENT_KIND, Kind, RawBooks, RawRow, read_books
from handlers.books.records import (
    AuthorizedPersonRecord,
    Books,
    ContractRecord,
    CustomerRecord,
    DetailsChangeRecord,
    FeeChangeRecord,
    Location,
    Problem,
    Progress,
    UserRecord,
)
from handlers.books.rules import PARENT_RULE, RULES, Rule, contract_rules, problem_at, user_rules

__all__ = ["load_books", "problem_at", "validate_books"]


def _normalize(
    rule: Rule, raw: Any, where: Location, fld: str, problems: list[Problem]
) -> tuple[bool, Any]:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if rule.required:
            problems.append(
                problem_at(
                    where,
                    fld,
                    "required",
                    f"{rule.label_lv}: jābūt norādītam",
                    f"{rule.label_en}: must be given",
                )
            )
            return False, None
        return True, rule.default
    if not isinstance(raw, str):
        problems.append(
            problem_at(
                where,
                fld,
                "not_text",
                f"{rule.label_lv}: jābūt tekstam",
                f"{rule.label_en}: must be text",
            )
        )
        return False, None
    try:
        return True, rule.normalize(raw)
    except v.InvalidValue as exc:
        lv, en = exc.describe(rule.label_lv, rule.label_en, raw.strip())
        problems.append(problem_at(where, fld, exc.code, lv, en))
        return False, None


def _check_row(row: RawRow, problems: list[Problem]) -> dict[str, Any] | None:
    """The row's normalized values, or None when any of them is wrong (each reported)."""
    out: dict[str, Any] = {}
    ok = True
    for name, rule in RULES[row.kind].items():
        good, value = _normalize(rule, row.values.get(name), row.where, name, problems)
        ok = ok and good
        out[name] = value
    if ok and row.kind == "contract":
        ok = contract_rules(out, row.where, problems)
    if ok and row.kind == "user":
        ok = user_rules(out, row.where, problems)
    return out if ok else None


@dataclass(slots=True)
class _Node:
    """A checked row on its way into Books, collecting its children."""

    values: dict[str, Any]
    where: Location
    children: dict[str, list[_Node]] = field(default_factory=dict)


@dataclass(slots=True)
class _Index:
    """Rows of one kind by their key: the good ones, and the keys of rows that failed."""

    nodes: dict[int, _Node] = field(default_factory=dict)  # by id(RawRow)
    by_key: dict[str, _Node] = field(default_factory=dict)
    first_seen: dict[str, Location] = field(default_factory=dict)
    failed_keys: set[str] = field(default_factory=set)


def validate_books(
    raw: RawBooks, *, progress: Progress | None = None
) -> tuple[Books, list[Problem]]:
    """Books from raw rows, and every problem found; a row with a problem is left out."""
    problems = list(raw.problems)
    total = sum(len(rows) for rows in raw.rows.values())
    done = 0
    indexes: dict[Kind, _Index] = {kind: _Index() for kind in raw.rows}
    key_of: dict[Kind, str] = {
        "customer": "reg_no",
        "details_change": "valid_from",
        "contract": "number",
        "fee_change": "valid_from",
        "authorized_person": "email",
        "user": "username",
    }
    for kind in key_of:
        index = indexes[kind]
        for row in raw.rows[kind]:
            done += 1
            if progress is not None and done % 1000 == 0:
                progress("checking", done, total)
            checked = _check_row(row, problems)
            parent: _Node | None = None
            parent_ok = True
            parent_kind = PARENT_KIND[kind]
            if parent_kind is not None:
                parent, parent_ok = _find_parent(
                    row, parent_kind, indexes[parent_kind], raw, problems
                )
            key_field = key_of[kind]
            key = _key(row, key_field) if checked is None else str(checked[key_field])
            # Customers, contracts and users are unique across the whole file; the others
            # within their parent (one person per e-mail, one change per day).
            scope = key if kind in _UNIQUE_IN_FILE else f"{_parent_ref(row)}:{key}"
            if key and scope in index.first_seen:
                first = index.first_seen[scope]
                problems.append(
                    problem_at(
                        row.where,
                        key_field,
                        "duplicate",
                        f'"{key}" jau ir {first.file}:{first.row}',
                        f'"{key}" already in {first.file}:{first.row}',
                    )
                )
                continue
            if key:
                index.first_seen[scope] = row.where
            if checked is None or not parent_ok:
                if key:
                    index.failed_keys.add(key)
                continue
            node = _Node(values=checked, where=row.where)
            index.nodes[id(row)] = node
            index.by_key[key] = node
            if parent is not None:
                parent.children.setdefault(kind, []).append(node)
    if progress is not None:
        progress("checking", total, total)
    # Listed as the file reads: by file, then row (numbers compared as numbers), then field.
    problems.sort(key=lambda p: (p.file, [int(n) for n in re.findall(r"\d+", p.row)]))
    customers = tuple(_customer(n) for n in indexes["customer"].nodes.values())
    return Books(customers=customers), problems


_UNIQUE_IN_FILE: frozenset[Kind] = frozenset({"customer", "contract", "user"})


def _key(row: RawRow, key_field: str) -> str:
    """The key of a row that failed, normalized if the key itself is good (for linking)."""
    value = row.values.get(key_field)
    if not isinstance(value, str):
        return ""
    good, key = _normalize(RULES[row.kind][key_field], value, row.where, key_field, [])
    return str(key) if good and key is not None else value.strip()


def _parent_ref(row: RawRow) -> str:
    """Which parent a row names: its enclosing JSON object, or the CSV key as written."""
    return str(id(row.parent)) if row.parent is not None else (row.parent_key or "")


def _find_parent(
    row: RawRow, parent_kind: Kind, parents: _Index, raw: RawBooks, problems: list[Problem]
) -> tuple[_Node | None, bool]:
    """The parent node of a row, and whether the row may go on (False: left out)."""
    if row.parent is not None:  # JSON: the enclosing object, if it was good
        node = parents.nodes.get(id(row.parent))
        return node, node is not None
    key_field = row.parent_key_field or ""
    rule = PARENT_RULE[key_field]
    good, key = _normalize(rule, row.parent_key, row.where, key_field, problems)
    if not good:
        return None, False
    node = parents.by_key.get(key)
    if node is not None:
        return node, True
    # A parent that was itself reported (or whose file was unreadable) needs no second report.
    if key not in parents.failed_keys and parent_kind not in raw.unreadable:
        file = CSV_FILES[parent_kind][0]
        problems.append(
            problem_at(
                row.where,
                key_field,
                "unknown_parent",
                f'{rule.label_lv}: "{key}" nav failā {file}',
                f'{rule.label_en}: "{key}" is not in {file}',
            )
        )
    return None, False


def _customer(node: _Node) -> CustomerRecord:
    return CustomerRecord(
        **node.values,
        details_changes=tuple(
            DetailsChangeRecord(**d.values, where=d.where)
            for d in node.children.get("details_change", [])
        ),
        contracts=tuple(_contract(c) for c in node.children.get("contract", [])),
        where=node.where,
    )


def _contract(node: _Node) -> ContractRecord:
    return ContractRecord(
        **node.values,
        fee_changes=tuple(
            FeeChangeRecord(**f.values, where=f.where) for f in node.children.get("fee_change", [])
        ),
        authorized_persons=tuple(
            AuthorizedPersonRecord(**p.values, where=p.where)
            for p in node.children.get("authorized_person", [])
        ),
        users=tuple(UserRecord(**u.values, where=u.where) for u in node.children.get("user", [])),
        where=node.where,
    )


def load_books(path: Path, *, progress: Progress | None = None) -> tuple[Books, list[Problem]]:
    """Read and check a books file or CSV folder; raises BooksFileError if it is neither."""
    return validate_books(read_books(path), progress=progress)
