"""`docintake forms`: Blank forms and reading filled ones."""

from __future__ import annotations

import json
import sys
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from forms.catalogue import FieldDef

# The form modules are imported inside the commands: `docintake --help` must not pay for them.
# Submodules, not the package root: the editable install can import `forms` as a namespace
# package in the console script, and then forms/__init__.py never runs.

app = typer.Typer(help="Blank forms and reading filled ones.", no_args_is_help=True)


class Format(StrEnum):
    """The formats blank forms are written in."""

    docx = "docx"
    rtf = "rtf"


def _field_json(field: FieldDef) -> dict[str, str | bool]:
    return {
        "key": field.key,
        "label_lv": field.label_lv,
        "label_en": field.label_en,
        "required": field.required,
    }


@app.command("list")
def list_forms(
    as_json: Annotated[bool, typer.Option("--json", help="The catalogue as JSON.")] = False,
) -> None:
    """The seven forms: code, titles and fields."""
    from forms.catalogue import FORMS

    if as_json:
        catalogue = [
            {
                "code": form.code,
                "title_lv": form.title_lv,
                "title_en": form.title_en,
                "fields": [_field_json(f) for f in form.fields],
                "table": None
                if form.table is None
                else {
                    "key": form.table.key,
                    "columns": [_field_json(c) for c in form.table.columns],
                },
            }
            for form in FORMS
        ]
        typer.echo(json.dumps(catalogue, ensure_ascii=False, indent=2))
        return
    for form in FORMS:
        typer.echo(f"{form.code:<18} {form.title}")
        for field in form.specific_fields:
            mark = "*" if field.required else " "
            typer.echo(f"  {mark} {field.key:<22} {field.label}")
        if form.table is not None:
            columns = ", ".join(c.key for c in form.table.columns)
            typer.echo(
                f"  * {form.table.key:<22} {form.table.title_lv} / {form.table.title_en}: {columns}"
            )


@app.command("blank")
def blank(
    form_type: Annotated[str | None, typer.Argument(help="Form code, see `forms list`.")] = None,
    fmt: Annotated[Format | None, typer.Option("--format", help="docx or rtf.")] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="File to write; `-` for stdout.")
    ] = None,
    all_dir: Annotated[
        Path | None, typer.Option("--all", help="Write every form into this folder.")
    ] = None,
) -> None:
    """Write the blank form a client downloads and fills in."""
    from flows.settings import Settings
    from forms.blank import render_form
    from forms.catalogue import FORM_CODES, FORMS, form_by_code

    send_to = Settings().intake_address
    if all_dir is not None:
        if form_type is not None or output is not None:
            raise typer.BadParameter("--all takes no form type and no --output")
        all_dir.mkdir(parents=True, exist_ok=True)
        formats = [fmt] if fmt else list(Format)
        for form in FORMS:
            for each in formats:
                path = all_dir / f"{form.code}.{each.value}"
                path.write_bytes(render_form(form.code, each.value, send_to=send_to))
                typer.echo(str(path))
        return
    if form_type is None:
        raise typer.BadParameter("give a form type or --all DIR")
    if form_by_code(form_type) is None:
        codes = ", ".join(FORM_CODES)
        raise typer.BadParameter(f"unknown form type {form_type!r}; one of: {codes}")
    chosen = fmt or Format.docx
    data = render_form(form_type, chosen.value, send_to=send_to)
    if output is not None and str(output) == "-":
        sys.stdout.buffer.write(data)
        return
    path = output or Path(f"{form_type}.{chosen.value}")
    path.write_bytes(data)
    typer.echo(str(path))


@app.command("parse")
def parse(
    files: Annotated[
        list[Path], typer.Argument(exists=True, dir_okay=False, readable=True, help="Filled forms.")
    ],
) -> None:
    """Read filled forms; one JSON object per file (exit 1 when any has errors)."""
    from forms.parse import parse_document

    failed = False
    today = date.today()
    for path in files:
        result = parse_document(path.name, path.read_bytes(), today=today)
        failed = failed or bool(result.errors) or result.form_type is None
        line = {"path": str(path), **result.model_dump(mode="json")}
        typer.echo(json.dumps(line, ensure_ascii=False))
    if failed:
        raise typer.Exit(1)
