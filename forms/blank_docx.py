"""The blank form as DOCX, written with python-docx."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import docx
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from forms.catalogue import FORM_CODE_LABEL, FieldDef, FormDef
from forms.layout import (
    ROWS_NOTE,
    SIGNATURE,
    LabelStyle,
    label_lines,
    sections,
    send_note,
    user_rows,
    value_lines,
)

_GREY = RGBColor(0x55, 0x55, 0x55)
_LABEL_WIDTH, _VALUE_WIDTH = Cm(7.5), Cm(9.5)


def _add_lines(cell: Any, lines: list[str], *, label: bool) -> None:
    for index, line in enumerate(lines):
        paragraph = cell.paragraphs[0] if index == 0 else cell.add_paragraph()
        paragraph.paragraph_format.space_after = Pt(0)
        run = paragraph.add_run(line)
        if label and index > 0:
            # The English label under the Latvian one, quieter.
            run.italic = True
            run.font.size = Pt(8.5)
            run.font.color.rgb = _GREY
        elif label:
            run.font.size = Pt(10)


def _content_control(paragraph: Any, key: str, text: str) -> None:
    """The value inside a plain-text Word content control, tagged with the field key."""
    sdt = OxmlElement("w:sdt")
    properties = OxmlElement("w:sdtPr")
    for name in ("w:alias", "w:tag"):
        element = OxmlElement(name)
        element.set(qn("w:val"), key)
        properties.append(element)
    properties.append(OxmlElement("w:text"))
    content = OxmlElement("w:sdtContent")
    run = OxmlElement("w:r")
    text_element = OxmlElement("w:t")
    text_element.text = text
    text_element.set(qn("xml:space"), "preserve")
    run.append(text_element)
    content.append(run)
    # python-docx has no content-control API: the element goes in by hand.
    sdt.append(properties)
    sdt.append(content)
    paragraph._p.append(sdt)


def _field_table(
    document: Any,
    definitions: tuple[FieldDef, ...],
    values: Mapping[str, Any],
    labels: LabelStyle,
    content_controls: bool,
) -> None:
    table = document.add_table(rows=len(definitions), cols=2)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for row, definition in zip(table.rows, definitions, strict=True):
        label_cell, value_cell = row.cells
        label_cell.width, value_cell.width = _LABEL_WIDTH, _VALUE_WIDTH
        _add_lines(
            label_cell, label_lines(definition.label_lv, definition.label_en, labels), label=True
        )
        lines = value_lines(definition, values)
        if content_controls and definition.kind != "action" and lines[0]:
            _content_control(value_cell.paragraphs[0], definition.key, lines[0])
        else:
            _add_lines(value_cell, lines, label=False)


def _users_table(
    document: Any, form: FormDef, values: Mapping[str, Any], labels: LabelStyle
) -> None:
    assert form.table is not None  # noqa: S101 - called for table forms only
    spec = form.table
    heading = document.add_paragraph()
    heading.paragraph_format.space_before = Pt(8)
    heading.add_run(" / ".join(label_lines(spec.title_lv, spec.title_en, labels))).bold = True
    rows = user_rows(form, values)
    table = document.add_table(rows=1 + len(rows), cols=len(spec.columns))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, column in zip(table.rows[0].cells, spec.columns, strict=True):
        _add_lines(cell, label_lines(column.label_lv, column.label_en, labels), label=True)
    for table_row, texts in zip(table.rows[1:], rows, strict=True):
        for cell, text in zip(table_row.cells, texts, strict=True):
            _add_lines(cell, [text], label=False)
    note = document.add_paragraph()
    note.add_run(ROWS_NOTE.format(n=spec.max_rows)).font.size = Pt(8.5)


def render_docx(
    form: FormDef,
    values: Mapping[str, Any],
    *,
    labels: LabelStyle,
    content_controls: bool,
    send_to: str | None,
) -> bytes:
    """The form as a DOCX document."""
    document = docx.Document()
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.left_margin = section.right_margin = Cm(2)
    section.top_margin = section.bottom_margin = Cm(1.5)
    for index, title in enumerate(label_lines(form.title_lv, form.title_en, labels)):
        run = document.add_paragraph().add_run(title)
        run.bold = index == 0
        run.italic = index > 0
        run.font.size = Pt(14 if index == 0 else 11)
    code_label = " / ".join(label_lines(*FORM_CODE_LABEL, labels))
    code_line = document.add_paragraph()
    code_line.add_run(f"{code_label}: ")
    code_line.add_run(form.code).bold = True
    for heading, definitions in sections(form):
        heading_line = document.add_paragraph()
        heading_line.paragraph_format.space_before = Pt(8)
        heading_line.add_run(heading).bold = True
        _field_table(document, definitions, values, labels, content_controls)
    if form.table is not None:
        _users_table(document, form, values, labels)
    document.add_paragraph()
    document.add_paragraph(SIGNATURE)
    note_lv, note_en = send_note(send_to)
    for text in (note_lv, note_en):
        document.add_paragraph().add_run(text).font.size = Pt(8.5)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
