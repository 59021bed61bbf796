"""The blank forms open cleanly in LibreOffice: each converts to a one-page PDF."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Literal

import pytest

from forms import render_form


@pytest.mark.slow
def test_blank_forms_convert_to_pdf(tmp_path: Path) -> None:
    """LibreOffice turns a blank DOCX and a blank RTF into one-page PDFs (no soffice: fail)."""
    soffice = shutil.which("soffice")
    assert soffice is not None, "LibreOffice (soffice) is required: `make test` installs it"
    sources = []
    cases: tuple[tuple[str, Literal["docx", "rtf"]], ...] = (
        ("user_add", "docx"),
        ("contract_suspend", "rtf"),
    )
    for code, fmt in cases:
        path = tmp_path / f"{code}.{fmt}"
        path.write_bytes(render_form(code, fmt))
        sources.append(path)
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation=file://{tmp_path / 'profile'}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path / "pdf"),
            *map(str, sources),
        ],
        check=True,
        capture_output=True,
        timeout=240,
    )
    for source in sources:
        pdf = (tmp_path / "pdf" / f"{source.stem}.pdf").read_bytes()
        assert pdf.startswith(b"%PDF")
        assert b"/Count 1" in pdf
