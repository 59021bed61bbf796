r"""RTF → rows through striprtf, with table structure kept.

striprtf flattens a table to `cell|cell|` lines and a cell's own paragraphs to separate lines,
so a two-line label cell could not be told from two paragraphs. Before striprtf runs, the
control words that carry structure (`\cell`, `\row`, `\intbl`, `\pard`) are replaced by or
followed with a marker character each, and the text striprtf returns is cut back into rows and
cells by those markers. Code pages come from `\ansicpg` and each font's `\fcharset` (striprtf
decodes both); `\uN` escapes are Unicode. Large binary destinations (pictures, theme data) are
cut out first: they hold no text and tokenizing them would dominate the time.
"""

from __future__ import annotations

import re

from striprtf.striprtf import rtf_to_text

from forms.readers.base import Document, DocumentRefused, Row
from forms.readers.rtf_markup import (
    canonical_font_table,
    cut_binary,
    defuse_hyperlinks,
    drop_invisible,
    group_end,
    show_field_results,
)
from forms.safety import MAX_TEXT_PART_BYTES

# Structure markers: ASCII control characters put into the markup as raw bytes. striprtf
# passes a raw character straight through (one token, nothing to decode), and RTF text never
# carries these: real control characters are written as escapes or not at all.
_CELL, _ROW, _INTBL, _PARD, _LAST = "\x1f", "\x1e", "\x1d", "\x1c", "\x1b"
_MARKERS = (
    (b"\\lastrow", re.compile(rb"\\lastrow(?![a-zA-Z])(?:-?\d+)? ?"), b"\x1b"),
    (b"cell", re.compile(rb"\\(?:nest)?cell(?![a-zA-Z])(?:-?\d+)? ?"), b"\x1f"),
    (b"row", re.compile(rb"\\(?:nest)?row(?![a-zA-Z])(?:-?\d+)? ?"), b"\x1e"),
    # striprtf ignores both words: the marker alone is one token fewer for its loop.
    (b"\\intbl", re.compile(rb"\\intbl(?![a-zA-Z])(?:-?\d+)? ?"), b"\x1d"),
    (b"\\pard", re.compile(rb"\\pard(?![a-zA-Z])(?:-?\d+)? ?"), b"\x1c"),
)
_ROW_DEFINITION = re.compile(rb"\\trowd(?:\\(?:tr|cl|brdr|cellx)[a-zA-Z]*-?\d* ?)*")
_BULKY = re.compile(
    rb"\{\\(?:\*\\)?(?:pict|shppict|nonshppict|themedata|colorschememapping|datastore|"
    rb"latentstyles|objdata|blipuid|rsidtbl|xmlnstbl|stylesheet|listtable|listoverridetable|"
    rb"fontemb|fontfile)"
    rb"(?![a-zA-Z])"
)
_MARKER_BYTES = b"\x1b\x1c\x1d\x1e\x1f"
_PIECES = re.compile("([\n\x1b-\x1f])")
_CODEPAGE = re.compile(rb"\\ansicpg(\d{3,5})")
# What Word fetches when it opens an RTF: an attached template, linked objects, and fields
# that include a picture or text from an address. Plain substring tests on the lower-cased
# bytes: a case-insensitive regex over the whole file cost a tenth of the parse.
_OUTSIDE_WORDS = (b"includepicture", b"includetext", b"\\objlink", b"\\objautlink")
_TEMPLATE = re.compile(rb"\\\*\\template\s*[^\s}]")


def _links_outside(data: bytes) -> bool:
    lowered = data.lower()
    if any(word in lowered for word in _OUTSIDE_WORDS):
        return True
    return b"\\template" in lowered and _TEMPLATE.search(lowered) is not None


def _mark(data: bytes) -> bytes:
    # Stray marker bytes in the input go first. An escaped backslash becomes its hex escape,
    # so a literal backslash followed by the letters "cell" is not taken for the control word.
    marked = data.translate(None, _MARKER_BYTES).replace(b"\\\\", b"\\'5c")
    for word, pattern, replacement in _MARKERS:
        if word in marked:
            marked = pattern.sub(replacement, marked)
    # A row definition (`\trowd`, borders, padding, `\cellx`) is most of a table's control
    # words, and striprtf ignores every one of them after a turn of its loop each.
    return _ROW_DEFINITION.sub(b"", marked) if b"\\trowd" in marked else marked


def _cut_bulky(data: bytes) -> bytes:
    pieces: list[bytes] = []
    position = 0
    for start in _BULKY.finditer(data):
        if start.start() < position:
            continue
        end = group_end(data, start.start())
        pieces.append(data[position : start.start()])
        position = end
    pieces.append(data[position:])
    return b"".join(pieces)


def _rows(text: str) -> list[Row]:
    rows: list[Row] = []
    paragraph: list[str] = []
    cell_lines: list[str] = []
    cells: list[str] = []
    in_table = False
    table = 0
    last_was_row = False
    last_width = 0
    last_row_marked = False

    def flush_paragraph() -> str:
        line = "".join(paragraph)
        paragraph.clear()
        return line

    for piece in _PIECES.split(text):
        if not piece:
            continue
        if piece == "\n":
            line = flush_paragraph()
            if in_table or cells:
                cell_lines.append(line)
            else:
                # Any paragraph between rows, an empty one too, ends the table.
                if line.strip():
                    rows.append(Row((line,)))
                last_was_row = False
        elif piece == _CELL:
            cell_lines.append(flush_paragraph())
            cells.append("\n".join(cell_lines).strip("\n"))
            cell_lines.clear()
        elif piece == _ROW:
            leftover = flush_paragraph()
            if leftover.strip() or cell_lines:
                cell_lines.append(leftover)
                cells.append("\n".join(cell_lines).strip("\n"))
                cell_lines.clear()
            if cells:
                if not last_was_row or len(cells) != last_width:
                    table += 1
                rows.append(Row(tuple(cells), table))
                last_was_row, last_width = not last_row_marked, len(cells)
            cells = []
            last_row_marked = False
        elif piece == _LAST:
            last_row_marked = True
        elif piece == _INTBL:
            in_table = True
        elif piece == _PARD:
            in_table = False
        else:
            paragraph.append(piece)
    tail = flush_paragraph()
    if cells or cell_lines:
        cells.append("\n".join([*cell_lines, tail]).strip("\n"))
        table += 0 if last_was_row else 1
        rows.append(Row(tuple(cells), table))
    elif tail.strip():
        rows.append(Row((tail,)))
    return rows


class RtfReader:
    """Rich Text Format as Word, LibreOffice and WordPad save it, or as edited by hand."""

    name = "rtf"

    def read(self, data: bytes) -> Document:
        """The document's rows, and `external_link` when Word would fetch an outside address."""
        rows = self.extract(data)
        return Document(rows, ("external_link",) if _links_outside(data) else ())

    def extract(self, data: bytes) -> list[Row]:
        """Paragraphs and table rows in document order, as Word shows them."""
        found = _CODEPAGE.search(data, 0, 4096)
        codepage = f"cp{found.group(1).decode()}" if found else "cp1252"
        text_part = _cut_bulky(cut_binary(data))
        if len(text_part) > MAX_TEXT_PART_BYTES:
            raise DocumentRefused("unsafe", f"{len(text_part)} bytes of RTF markup")
        marked = _mark(show_field_results(drop_invisible(text_part)))
        try:
            source = marked.decode(codepage, errors="replace")
        except LookupError:
            codepage = "cp1252"
            source = marked.decode(codepage, errors="replace")
        source = defuse_hyperlinks(canonical_font_table(source))
        try:
            # striprtf has no annotations.
            text = rtf_to_text(source, encoding=codepage, errors="replace")  # type: ignore[no-untyped-call]
        except (ValueError, IndexError, OverflowError, LookupError, RecursionError) as exc:
            raise DocumentRefused("unreadable", f"broken RTF: {type(exc).__name__}") from None
        return _rows(text)
