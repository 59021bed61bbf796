"""What every reader produces: the document as rows of cells, and why a document was refused."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Row:
    """One table row (cells in order) or one paragraph outside tables (a single cell).

    `table` numbers the tables of the document (None for a paragraph), so that consecutive rows
    of one table can be told from the next table. A cell's text keeps its paragraphs as lines.
    """

    cells: tuple[str, ...]
    table: int | None = None


@dataclass(frozen=True, slots=True)
class Document:
    """A document read: its rows, and notices for staff about the file itself (codes)."""

    rows: list[Row]
    notices: tuple[str, ...] = ()


class DocumentRefused(Exception):
    """The bytes cannot be read as a form; `code` names why (FORMS.md error codes)."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


class Reader(Protocol):
    """A document format: turns its bytes into rows."""

    name: str

    def read(self, data: bytes) -> Document:
        """The document's rows and notices; raises DocumentRefused when it must not be read."""
        ...
