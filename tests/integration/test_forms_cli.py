"""`docintake forms`: blank forms to files, parsing files to JSON Lines, the catalogue."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import pytest
from typer.testing import CliRunner

from flows.cli import app
from forms import render_form
from forms.catalogue import FORM_CODES
from forms.samples import sample_values

runner = CliRunner()
Fmt = Literal["docx", "rtf"]


@pytest.fixture(autouse=True)
def _private_home(docintake_home: Path) -> None:
    """Every CLI test runs with its own DOCINTAKE_HOME."""


def test_blank_writes_the_file(tmp_path: Path) -> None:
    """`forms blank TYPE --format rtf -o FILE` writes an RTF naming the form code."""
    target = tmp_path / "form.rtf"
    result = runner.invoke(
        app, ["forms", "blank", "user_block", "--format", "rtf", "-o", str(target)]
    )
    assert result.exit_code == 0, result.output
    assert target.read_bytes().startswith(b"{\\rtf1")
    assert b"user_block" in target.read_bytes()


def test_blank_all_writes_every_form(tmp_path: Path) -> None:
    """`forms blank --all DIR` writes all seven forms in both formats."""
    result = runner.invoke(app, ["forms", "blank", "--all", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == sorted(f"{code}.{fmt}" for code in FORM_CODES for fmt in ("docx", "rtf"))


def test_blank_unknown_type_is_usage_error() -> None:
    """An unknown form type exits 2 and lists the known ones."""
    result = runner.invoke(app, ["forms", "blank", "nope"])
    assert result.exit_code == 2
    assert "user_change" in result.output


def test_parse_prints_json_lines(tmp_path: Path) -> None:
    """`forms parse` prints one JSON object per file with its path; exit 0 when all are clean."""
    paths = []
    cases: tuple[tuple[str, Fmt], ...] = (("user_add", "docx"), ("fee_increase", "rtf"))
    for code, fmt in cases:
        path = tmp_path / f"{code}.{fmt}"
        path.write_bytes(
            render_form(code, fmt, sample_values(code) | {"signed_date": "01.01.2020"})
        )
        paths.append(path)
    result = runner.invoke(app, ["forms", "parse", *map(str, paths)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [line["path"] for line in lines] == [str(p) for p in paths]
    assert [line["form_type"] for line in lines] == ["user_add", "fee_increase"]
    assert lines[0]["fields"]["users"][0]["email"] == "user0.0@ozols.lv"
    assert lines[1]["warnings"][0]["code"] == "old_date"


def test_parse_exit_one_when_a_file_has_errors(tmp_path: Path) -> None:
    """One bad file among good ones makes the exit status 1; every file is still printed."""
    good = tmp_path / "good.rtf"
    good.write_bytes(render_form("einvoice_access", "rtf", sample_values("einvoice_access")))
    bad = tmp_path / "scan.pdf"
    bad.write_bytes(b"%PDF-1.5\n")
    result = runner.invoke(app, ["forms", "parse", str(good), str(bad)])
    assert result.exit_code == 1
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert lines[0]["errors"] == []
    assert lines[1]["errors"][0]["code"] == "unsupported_format"


def test_parse_missing_file_is_usage_error(tmp_path: Path) -> None:
    """A path that does not exist exits 2."""
    assert runner.invoke(app, ["forms", "parse", str(tmp_path / "none.docx")]).exit_code == 2


def test_list_shows_the_catalogue() -> None:
    """`forms list` shows all seven forms; `--json` gives fields with both labels."""
    text = runner.invoke(app, ["forms", "list"])
    assert text.exit_code == 0
    assert all(code in text.output for code in FORM_CODES)
    catalogue = json.loads(runner.invoke(app, ["forms", "list", "--json"]).output)
    assert [form["code"] for form in catalogue] == list(FORM_CODES)
    reg_no = catalogue[0]["fields"][1]
    assert reg_no == {
        "key": "reg_no",
        "label_lv": "Reģistrācijas numurs",
        "label_en": "Registration number",
        "required": True,
    }
