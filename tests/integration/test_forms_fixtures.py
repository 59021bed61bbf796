"""Forms saved by LibreOffice (committed fixtures) read back exactly as they were filled."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import docx
import pytest

from forms import parse_document

FIXTURES = Path(__file__).parents[1] / "fixtures" / "forms"
MANIFEST: dict[str, dict[str, Any]] = json.loads((FIXTURES / "manifest.json").read_text())
TODAY = date(2026, 11, 25)


def test_fixtures_cover_both_formats_and_label_styles() -> None:
    """The committed set has DOCX and RTF saved by LibreOffice for every case."""
    stems = {name.rsplit(".", 1)[0] for name in MANIFEST}
    assert {"lo_user_change_plain", "lo_einvoice_en", "lo_requisites_controls"} <= stems
    for stem in stems:
        assert (FIXTURES / f"{stem}.docx").read_bytes()[:2] == b"PK"
        assert (FIXTURES / f"{stem}.rtf").read_bytes().startswith(b"{\\rtf1")
        assert b"LibreOffice" in (FIXTURES / f"{stem}.rtf").read_bytes()


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_libreoffice_saved_form(name: str) -> None:
    """Each LibreOffice-saved form parses to the values it was filled with, without errors."""
    result = parse_document(name, (FIXTURES / name).read_bytes(), today=TODAY)
    assert result.errors == []
    assert result.form_type == MANIFEST[name]["form_type"]
    assert result.fields == MANIFEST[name]["fields"]


def test_content_control_values_are_invisible_to_plain_python_docx() -> None:
    """The content-control fixture really hides its values from python-docx's cell.text."""
    document = docx.Document(str(FIXTURES / "lo_requisites_controls.docx"))
    cell_texts = [
        cell.text for table in document.tables for row in table.rows for cell in row.cells
    ]
    assert "40003056133" not in " ".join(cell_texts)
    result = parse_document(
        "x.docx", (FIXTURES / "lo_requisites_controls.docx").read_bytes(), today=TODAY
    )
    assert result.fields["reg_no"] == "40003056133"
