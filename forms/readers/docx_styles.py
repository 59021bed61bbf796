"""Which DOCX styles hide their text: `w:vanish` set in a style, or in a style it is based on.

Text can be hidden by direct formatting (a run's own `w:vanish`, read in docx.py) or by a
style: a character style (`w:rStyle`) or a paragraph style (`w:pStyle`) whose run properties
say `w:vanish`. The styles part is only parsed when it mentions `vanish` at all, which Word's
and LibreOffice's default styles do not, so an ordinary form costs one byte search.
"""

from __future__ import annotations

import zipfile
from typing import Any

from forms.safety import MAX_TEXT_PART_BYTES, parse_xml, read_member

_MAX_BASED_ON = 20


def _local(tag: Any) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _value(element: Any) -> str | None:
    for name, value in element.attrib.items():
        if _local(name) == "val":
            return str(value)
    return None


def _own_vanish(style: Any) -> bool | None:
    for part in style:
        if _local(part.tag) == "rPr":
            for flag in part:
                if _local(flag.tag) == "vanish":
                    return (_value(flag) or "1").lower() not in ("0", "false", "off")
    return None


def hidden_styles(archive: zipfile.ZipFile) -> dict[str, bool]:
    """Style id → whether its text is hidden, for every style that decides it (else none)."""
    data = read_member(archive, "word/styles.xml", limit=MAX_TEXT_PART_BYTES)
    if data is None or b"vanish" not in data:
        return {}
    own: dict[str, bool | None] = {}
    based_on: dict[str, str] = {}
    for style in parse_xml(data):
        if _local(style.tag) != "style":
            continue
        style_id = next((str(v) for k, v in style.attrib.items() if _local(k) == "styleId"), "")
        own[style_id] = _own_vanish(style)
        for part in style:
            if _local(part.tag) == "basedOn":
                based_on[style_id] = _value(part) or ""
    decided: dict[str, bool] = {}
    for style_id in own:
        current: str | None = style_id
        for _ in range(_MAX_BASED_ON):
            if current is None or current not in own:
                break
            state = own[current]
            if state is not None:
                decided[style_id] = state
                break
            current = based_on.get(current)
    return decided
