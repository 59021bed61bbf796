"""Label matching: rows of a document → the form type and each field's raw text.

Labels compare as sequences of folded words (case, whitespace, diacritics and punctuation
ignored), so `Pasutitaja nosaukums:`, `PASŪTĪTĀJA  NOSAUKUMS` and the printed
`Pasūtītāja nosaukums / Customer name` (on one line or two) all name the same field, and a
label with a slash of its own (`SWIFT/BIC kods`) needs no special case. A label matches only
as a whole — a cell, or the start of a line followed by its value — never as a fragment, and
text that matches no label is ignored: nothing is guessed into a field.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from forms.catalogue import FORM_CODE_LABEL, FORMS, FieldDef, FormDef, TableDef, form_by_code
from forms.readers.base import Row


def _fold_char(char: str) -> str:
    base = unicodedata.normalize("NFKD", char)[:1] or char
    lower = base.lower()
    return lower if len(lower) == 1 else base


# Length-preserving fold for Latin scripts, so a word's position in the folded text is its
# position in the original and the value can be cut from the original text.
_FOLD = str.maketrans(
    {chr(c): _fold_char(chr(c)) for c in (*range(0x41, 0x5B), *range(0xC0, 0x250))}
)
_WORD = re.compile(r"[a-z0-9]+")
_EMPTY_VALUE = re.compile(r"[\s_.…·\-–—]*")
_VALUE_LEAD = " \t:;)]>\u00a0"
_SEPARATORS = frozenset(":\t )/\u00a0")


def fold(text: str) -> str:
    """Lower-case, diacritics removed, same length as the input."""
    return text.lower() if text.isascii() else text.translate(_FOLD)


@lru_cache(maxsize=8192)
def words(text: str) -> tuple[str, ...]:
    """The folded words of a text, punctuation dropped."""
    # Cached: every form repeats the same label texts.
    return tuple(_WORD.findall(fold(text)))


_PARENTHESES = re.compile(r"\([^)]*\)")


def label_variants(label_lv: str, label_en: str) -> tuple[tuple[str, ...], ...]:
    """The word sequences a label may be written as: LV EN, EN LV, LV, EN.

    Each also without its parenthesized part (`Konta numurs` for `Konta numurs (IBAN)`).
    """
    lv, en = words(label_lv), words(label_en)
    variants = [lv + en, en + lv, lv, en]
    short_lv, short_en = (
        words(_PARENTHESES.sub(" ", label_lv)),
        words(_PARENTHESES.sub(" ", label_en)),
    )
    if (short_lv, short_en) != (lv, en):
        variants += [short_lv + short_en, short_lv, short_en]
    return tuple(dict.fromkeys(v for v in variants if v))


@dataclass(slots=True)
class Extracted:
    """What the rows say for one form: raw field texts and the users table, before checking."""

    values: dict[str, str] = field(default_factory=dict)
    conflicts: dict[str, str] = field(default_factory=dict)
    table_found: bool = False
    table_rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)


def is_empty_value(text: str) -> bool:
    """Blank, or only the underscores and dots a printed form leaves to write on."""
    return _EMPTY_VALUE.fullmatch(text) is not None


def clean_value(text: str) -> str:
    """A value stripped of surrounding whitespace; blank-line fillers count as empty."""
    value = text.strip()
    return "" if is_empty_value(value) else value


class _Matcher:
    """Word-sequence labels of one set of fields, longest first."""

    def __init__(self, fields: tuple[FieldDef, ...]) -> None:
        self.exact: dict[tuple[str, ...], str] = {}
        prefixes: list[tuple[tuple[str, ...], str]] = []
        for definition in fields:
            for variant in label_variants(definition.label_lv, definition.label_en):
                self.exact.setdefault(variant, definition.key)
                prefixes.append((variant, definition.key))
        # Indexed by first word, longest first: a line is only tried against labels it could start.
        self.prefixes: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for variant, key in sorted(prefixes, key=lambda item: -len(item[0])):
            self.prefixes.setdefault(variant[0], []).append((variant, key))

    def whole(self, text: str) -> str | None:
        """The key whose label is exactly this text."""
        return self.exact.get(words(text))

    def leading(self, line: str) -> tuple[str, str] | None:
        """(key, value) when the line starts with a label followed by its value."""
        folded = fold(line)
        first = _WORD.search(folded)
        candidates = self.prefixes.get(first.group(0)) if first else None
        if not candidates:
            return None
        found = list(_WORD.finditer(folded))
        tokens = tuple(m.group(0) for m in found)
        for variant, key in candidates:
            size = len(variant)
            if tokens[:size] != variant:
                continue
            rest = line[found[size - 1].end() :]
            if not rest.strip():
                return key, ""
            # A label and its value are parted by a colon, a tab or spaces — never glued.
            if rest[:1] in _SEPARATORS:
                return key, rest.lstrip(_VALUE_LEAD).strip()
        return None


@lru_cache(maxsize=32)
def _matcher(fields: tuple[FieldDef, ...]) -> _Matcher:
    return _Matcher(fields)


_CODE_LINE = re.compile(r"(?:veidlapas\s+kods|form\s+code)\W*(?:form\s+code\W*)?([a-z_]+)")
_CODE_WORD = re.compile(r"\b(" + "|".join(f.code for f in FORMS) + r")\b")
_TITLES = [(fold(f.title_lv), f) for f in FORMS] + [(fold(f.title_en), f) for f in FORMS]


def detect_form(rows: list[Row]) -> FormDef | None:
    """The form by its `Form code:` line first, any code second, its title third."""
    text = fold("\n".join("\t".join(row.cells) for row in rows))
    for found in _CODE_LINE.finditer(text):
        form = form_by_code(found.group(1))
        if form is not None:
            return form
    codes = {m.group(1) for m in _CODE_WORD.finditer(text)}
    if len(codes) == 1:
        return form_by_code(codes.pop())
    squeezed = re.sub(r"\s+", " ", text)
    titled = {form.code: form for title, form in _TITLES if title in squeezed}
    if len(titled) == 1:
        return next(iter(titled.values()))
    return None


def _table_header(row: Row, table: TableDef, matcher: _Matcher) -> dict[int, str] | None:
    columns: dict[int, str] = {}
    for index, cell in enumerate(row.cells):
        key = matcher.whole(cell)
        if key is not None and key not in columns.values():
            columns[index] = key
    required = {c.key for c in table.columns if c.required}
    return columns if len(columns) >= 2 and required <= set(columns.values()) else None


def extract_fields(rows: list[Row], form: FormDef) -> Extracted:
    """Raw texts for the form's fields and its users table, found by their labels."""
    result = Extracted()
    matcher = _matcher(form.fields)
    column_matcher = _matcher(form.table.columns) if form.table else None
    code_words = words(FORM_CODE_LABEL[0]) + words(FORM_CODE_LABEL[1])
    header_table: int | None = None
    columns: dict[int, str] = {}
    row_number = 0

    def give(key: str, raw: str) -> None:
        value = clean_value(raw)
        if not value:
            return
        known = result.values.get(key)
        if known is None:
            result.values[key] = value
        elif fold(known).split() != fold(value).split():
            result.conflicts.setdefault(key, value)

    for row in rows:
        if header_table is not None and row.table == header_table:
            row_number += 1
            width = len(row.cells)
            cells = {key: clean_value(row.cells[i]) for i, key in columns.items() if i < width}
            result.table_rows.append((row_number, {k: v for k, v in cells.items() if v}))
            continue
        header_table = None
        if form.table and column_matcher and row.table is not None:
            header = _table_header(row, form.table, column_matcher)
            if header is not None:
                result.table_found = True
                header_table, columns, row_number = row.table, header, 0
                continue
        if len(row.cells) >= 2:
            key = matcher.whole(row.cells[0])
            if key is not None:
                give(key, row.cells[1])
                continue
        for cell in row.cells:
            for line in cell.split("\n"):
                if words(line)[: len(code_words)] == code_words:
                    continue
                found = matcher.leading(line)
                if found is not None:
                    give(*found)
    return result
