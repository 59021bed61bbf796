r"""The blank form as RTF, written by hand: Baltic code page, Unicode escapes, real tables.

Text outside ASCII goes out as `\uN` with a cp1257 fallback byte, so readers that ignore
Unicode escapes still show Latvian letters; the font table declares `\fcharset186` (Baltic).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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

# A4 with 2 cm margins: 17 cm of text width, in twips.
_TEXT_WIDTH = 9638
_LABEL_WIDTH = 4252
_BORDERS = (
    r"\clbrdrt\brdrs\brdrw10\clbrdrl\brdrs\brdrw10\clbrdrb\brdrs\brdrw10\clbrdrr\brdrs\brdrw10"
)
_HEADER = (
    r"{\rtf1\ansi\ansicpg1257\deff0"
    r"{\fonttbl{\f0\fswiss\fcharset186 Arial;}}"
    r"\paperw11906\paperh16838\margl1134\margr1134\margt851\margb851"
    "\n"
)


def escape(text: str) -> str:
    """Text as RTF: specials escaped, non-ASCII as Unicode escapes with a cp1257 fallback."""
    out: list[str] = []
    for char in text:
        code = ord(char)
        if char in "\\{}":
            out.append("\\" + char)
        elif char == "\t":
            out.append(r"\tab ")
        elif char == "\n":
            out.append(r"\line ")
        elif 32 <= code < 128:
            out.append(char)
        elif code < 32:
            continue
        else:
            try:
                fallback = char.encode("cp1257")
                replacement = f"\\'{fallback[0]:02x}"
            except UnicodeEncodeError:
                replacement = "?"
            for unit in _utf16_units(char):
                out.append(f"\\u{unit if unit < 32768 else unit - 65536}{replacement}")
                replacement = ""
    return "".join(out)


def _utf16_units(char: str) -> list[int]:
    encoded = char.encode("utf-16-be")
    return [int.from_bytes(encoded[i : i + 2], "big") for i in range(0, len(encoded), 2)]


def _paragraph(text: str, *, bold: bool = False, italic: bool = False, size: int = 20) -> str:
    # Bold lines are headings: a little air above them.
    style = (r"\b\sb160" if bold else "") + (r"\i" if italic else "")
    return rf"\pard\plain\f0\fs{size}\sa60{style} {escape(text)}\par" + "\n"


def _row(widths: list[int], cells: list[list[str]], *, label_cells: int) -> str:
    parts = [r"\trowd\trgaph85\trleft0\trqc"]
    edge = 0
    for width in widths:
        edge += width
        parts.append(rf"{_BORDERS}\cellx{edge}")
    parts.append(r"\pard\plain\intbl\f0\fs20 ")
    for index, lines in enumerate(cells):
        rendered = []
        for line_no, line in enumerate(lines):
            if index < label_cells and line_no > 0:
                rendered.append(rf"{{\i\fs17 {escape(line)}}}")
            else:
                rendered.append(escape(line))
        parts.append(r"\par ".join(rendered) + r"\cell ")
    parts.append(r"\row" + "\n")
    return "".join(parts)


def _field_rows(
    definitions: tuple[FieldDef, ...], values: Mapping[str, Any], labels: LabelStyle
) -> str:
    widths = [_LABEL_WIDTH, _TEXT_WIDTH - _LABEL_WIDTH]
    return "".join(
        _row(
            widths,
            [label_lines(d.label_lv, d.label_en, labels), value_lines(d, values)],
            label_cells=1,
        )
        for d in definitions
    )


def render_rtf(
    form: FormDef, values: Mapping[str, Any], *, labels: LabelStyle, send_to: str | None
) -> bytes:
    """The form as an RTF document."""
    parts = [_HEADER]
    for index, title in enumerate(label_lines(form.title_lv, form.title_en, labels)):
        parts.append(
            _paragraph(title, bold=index == 0, italic=index > 0, size=28 if index == 0 else 22)
        )
    code_label = " / ".join(label_lines(*FORM_CODE_LABEL, labels))
    parts.append(rf"\pard\plain\f0\fs20\sa120 {escape(code_label)}: {{\b {form.code}}}\par" + "\n")
    for heading, definitions in sections(form):
        parts.append(_paragraph(heading, bold=True))
        parts.append(_field_rows(definitions, values, labels))
    if form.table is not None:
        spec = form.table
        parts.append(
            _paragraph(" / ".join(label_lines(spec.title_lv, spec.title_en, labels)), bold=True)
        )
        width = _TEXT_WIDTH // len(spec.columns)
        widths = [width] * len(spec.columns)
        header = [label_lines(c.label_lv, c.label_en, labels) for c in spec.columns]
        parts.append(_row(widths, header, label_cells=len(header)))
        for texts in user_rows(form, values):
            parts.append(_row(widths, [[text] for text in texts], label_cells=0))
        parts.append(_paragraph(ROWS_NOTE.format(n=spec.max_rows), size=17))
    parts.append(_paragraph(""))
    parts.append(_paragraph(SIGNATURE))
    for note in send_note(send_to):
        parts.append(_paragraph(note, size=17))
    parts.append("}")
    return "".join(parts).encode("ascii")
