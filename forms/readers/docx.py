"""DOCX → rows: tables, paragraphs, runs, content controls and legacy form fields.

Only the main document part is inflated and parsed (through forms.safety's hardened parser),
with python-docx's own namespace map. Loading the whole package with `docx.Document` would
inflate and parse every part — styles alone are 350 KB in Word's default template — which
costs ten times more and reads nothing a form needs. python-docx's `cell.text` also misses
content controls (`w:sdt`), which this walk reads.
"""

from __future__ import annotations

import posixpath
import zipfile
from contextvars import ContextVar
from typing import Any

from docx.oxml.ns import nsmap

from forms.readers.base import Document, DocumentRefused, Row
from forms.readers.docx_styles import hidden_styles
from forms.safety import MAX_TEXT_PART_BYTES, open_zip, parse_xml, read_member

_W = nsmap["w"]
_W_STRICT = "http://purl.oclc.org/ooxml/wordprocessingml/main"
_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_OFFICE_DOCUMENT = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument",
    "http://purl.oclc.org/ooxml/officeDocument/relationships/officeDocument",
)
_RELS_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
# Every external target is an outside address, except an e-mail address Word linked as it was
# typed (a mailto hyperlink: common in filled forms, and nothing is fetched from it).
_MAX_RELS_PARTS = 200
# The styles of the document being read that decide hiding (docx_styles): set for one read,
# so the walk below need not carry them through every call.
_STYLES: ContextVar[dict[str, bool]] = ContextVar("docx_hidden_styles", default={})  # noqa: B039

TICKED = "☒"
UNTICKED = "☐"
# Symbol-font check boxes (w:sym) as Word inserts them from Wingdings.
_SYMBOL_BOXES = {"F0FE": TICKED, "F0FD": TICKED, "F078": TICKED, "F0A8": UNTICKED, "F06F": UNTICKED}


def _local(tag: Any) -> str:
    # Both transitional and strict namespaces are accepted; comments have a non-str tag.
    if not isinstance(tag, str):
        return ""
    namespace, _, name = tag[1:].partition("}")
    return name if namespace in (_W, _W_STRICT) else ""


def _attr(element: Any, name: str) -> str | None:
    value = element.get(f"{{{_W}}}{name}")
    if value is None:
        value = element.get(f"{{{_W_STRICT}}}{name}")
    return value if isinstance(value, str) else None


def _is_on(element: Any) -> bool:
    return (_attr(element, "val") or "1").lower() not in ("0", "false", "off")


def _checkbox_state(fld_char: Any) -> str | None:
    # A legacy check box shows its `checked` state, or its `default` when never clicked.
    for child in fld_char.iter():
        if _local(child.tag) == "checkBox":
            default = False
            for part in child:
                name = _local(part.tag)
                if name == "checked":
                    return TICKED if _is_on(part) else UNTICKED
                if name == "default":
                    default = _is_on(part)
            return TICKED if default else UNTICKED
    return None


def _has_on(element: Any, properties: str, flag: str) -> bool:
    # A run's `w:rPr/w:vanish`, a row's `w:trPr/w:del`: set and not switched off.
    for child in element:
        if _local(child.tag) == properties:
            return any(_local(p.tag) == flag and _is_on(p) for p in child)
    return False


def _showing_placeholder(sdt: Any) -> bool:
    for child in sdt:
        if _local(child.tag) == "sdtPr":
            return any(_local(p.tag) == "showingPlcHdr" and _is_on(p) for p in child)
    return False


_SKIP = frozenset(
    {"pPr", "rPr", "sdtPr", "sdtEndPr", "del", "moveFrom", "instrText", "delText", "tblPr"}
)


def _inline(element: Any, out: list[str], hidden: bool = False) -> None:
    for child in element:
        name = _local(child.tag)
        if name == "t":
            out.append(child.text or "")
        elif name == "tab" or name == "ptab":
            out.append("\t")
        elif name in ("br", "cr"):
            out.append("\n")
        elif name == "noBreakHyphen":
            out.append("-")
        elif name == "sym":
            box = _SYMBOL_BOXES.get((_attr(child, "char") or "").upper())
            if box:
                out.append(box)
        elif name == "fldChar":
            box = _checkbox_state(child)
            if box:
                out.append(box)
        elif name == "sdt":
            if not _showing_placeholder(child):
                _inline(child, out, hidden)
        elif name == "r":
            # Hidden text: Word shows none of it (nor prints it).
            if not _run_hidden(child, hidden):
                _inline(child, out, hidden)
        elif name == "p":
            # A paragraph inside a run: a text box's content.
            out.append(_paragraph_text(child))
            out.append("\n")
        elif name in _SKIP or child.tag == _MC_FALLBACK:
            continue
        else:
            _inline(child, out, hidden)


def _style_of(element: Any, properties: str, style: str) -> bool | None:
    # Whether the style named in `w:pPr/w:pStyle` or `w:rPr/w:rStyle` hides text.
    styles = _STYLES.get()
    if not styles:
        return None
    for child in element:
        if _local(child.tag) == properties:
            for part in child:
                if _local(part.tag) == style:
                    return styles.get(_attr(part, "val") or "")
    return None


def _run_hidden(run: Any, paragraph_hidden: bool) -> bool:
    # Direct formatting decides first, then the run's character style, then the paragraph's.
    for child in run:
        if _local(child.tag) == "rPr":
            for part in child:
                if _local(part.tag) == "vanish":
                    return _is_on(part)
    by_style = _style_of(run, "rPr", "rStyle")
    return paragraph_hidden if by_style is None else by_style


def _paragraph_text(paragraph: Any) -> str:
    out: list[str] = []
    _inline(paragraph, out, bool(_style_of(paragraph, "pPr", "pStyle")))
    return "".join(out)


def _cell_lines(cell: Any, lines: list[str]) -> None:
    for child in cell:
        name = _local(child.tag)
        if name == "p":
            lines.append(_paragraph_text(child))
        elif name == "tbl":
            # A table inside a cell: each of its rows becomes one tab-separated line.
            for row in _rows_of(child):
                lines.append("\t".join(row))
        elif name == "sdt":
            if not _showing_placeholder(child):
                _cell_lines(_content(child), lines)
        elif name in ("customXml", "ins", "moveTo", "sdtContent"):
            _cell_lines(child, lines)


def _content(sdt: Any) -> Any:
    for child in sdt:
        if _local(child.tag) == "sdtContent":
            return child
    return ()


def _cells_of(row: Any, cells: list[str]) -> None:
    for child in row:
        name = _local(child.tag)
        if name == "tc":
            lines: list[str] = []
            _cell_lines(child, lines)
            cells.append("\n".join(lines))
        elif name == "sdt":
            _cells_of(_content(child), cells)
        elif name == "customXml":
            _cells_of(child, cells)


def _rows_of(table: Any) -> list[list[str]]:
    rows: list[list[str]] = []
    for child in table:
        name = _local(child.tag)
        # A row deleted with changes tracked is gone in Word's "final" view.
        if name == "tr" and not _has_on(child, "trPr", "del"):
            cells: list[str] = []
            _cells_of(child, cells)
            rows.append(cells)
        elif name in ("sdt", "customXml"):
            inner = _content(child) if name == "sdt" else child
            for grand in inner:
                if _local(grand.tag) == "tr" and not _has_on(grand, "trPr", "del"):
                    cells = []
                    _cells_of(grand, cells)
                    rows.append(cells)
    return rows


class _Walker:
    def __init__(self) -> None:
        self.rows: list[Row] = []
        self.tables = 0

    def blocks(self, parent: Any) -> None:
        for child in parent:
            name = _local(child.tag)
            if name == "p":
                text = _paragraph_text(child)
                if text.strip():
                    self.rows.append(Row((text,)))
            elif name == "tbl":
                self.tables += 1
                for cells in _rows_of(child):
                    self.rows.append(Row(tuple(cells), self.tables))
            elif name == "sdt":
                if not _showing_placeholder(child):
                    self.blocks(_content(child))
            elif name in ("customXml", "ins", "moveTo", "body"):
                self.blocks(child)


def _main_part_name(archive: zipfile.ZipFile) -> str:
    rels = read_member(archive, "_rels/.rels", limit=MAX_TEXT_PART_BYTES)
    if rels is not None:
        for rel in parse_xml(rels).iter(_RELS_NS):
            if rel.get("Type") in _OFFICE_DOCUMENT and rel.get("TargetMode") != "External":
                target = str(rel.get("Target") or "")
                return posixpath.normpath(target.lstrip("/"))
    return "word/document.xml"


def _mail_link(rel: Any) -> bool:
    return str(rel.get("Type") or "").endswith("/hyperlink") and str(
        rel.get("Target") or ""
    ).lower().startswith("mailto:")


def links_outside(archive: zipfile.ZipFile) -> bool:
    """True when a relationship points to an outside address (a mailto link aside)."""
    parts = [n for n in archive.namelist() if n.lower().endswith(".rels")][:_MAX_RELS_PARTS]
    for name in parts:
        rels = read_member(archive, name, limit=MAX_TEXT_PART_BYTES)
        for rel in parse_xml(rels or b"<r/>").iter(_RELS_NS):
            external = str(rel.get("TargetMode") or "").lower() == "external"
            if external and not _mail_link(rel):
                return True
    return False


def has_macros(archive: zipfile.ZipFile) -> bool:
    """True when the package carries a VBA project (a .docm saved as .docx)."""
    return any(name.lower().endswith("vbaproject.bin") for name in archive.namelist())


class DocxReader:
    """Office Open XML word-processing documents, as Word and LibreOffice save them."""

    name = "docx"

    def read(self, data: bytes) -> Document:
        """The body's rows, and `external_link` when Word would fetch an outside address."""
        archive = open_zip(data)
        rows = self._rows(archive)
        return Document(rows, ("external_link",) if links_outside(archive) else ())

    def extract(self, data: bytes) -> list[Row]:
        """The body's paragraphs and table rows in document order, as Word shows them."""
        return self._rows(open_zip(data))

    def _rows(self, archive: zipfile.ZipFile) -> list[Row]:
        if has_macros(archive):
            raise DocumentRefused("unsupported_format", "macros")
        part = read_member(archive, _main_part_name(archive), limit=MAX_TEXT_PART_BYTES)
        if part is None:
            raise DocumentRefused("unreadable", "no main document part")
        root = parse_xml(part)
        walker = _Walker()
        # The styles part is as large as the document part or larger: read only when used.
        uses_styles = b"rStyle" in part or b"pStyle" in part
        token = _STYLES.set(hidden_styles(archive) if uses_styles else {})
        try:
            for child in root:
                if _local(child.tag) == "body":
                    walker.blocks(child)
        finally:
            _STYLES.reset(token)
        return walker.rows
