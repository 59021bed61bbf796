"""Blank form → filled programmatically → parsed → equal to what was filled, every form."""

from __future__ import annotations

from datetime import date
from typing import Literal

import pytest

from forms import parse_document, render_form
from forms.catalogue import FORM_CODES, FORMS, form_by_code
from forms.layout import LabelStyle
from forms.samples import sample_values

TODAY = date(2026, 11, 25)
Fmt = Literal["docx", "rtf"]


def expected_fields(code: str, variant: int = 0) -> dict[str, object]:
    """Every key of the form, null unless the sample fills it."""
    form = form_by_code(code)
    assert form is not None
    return dict.fromkeys(form.keys) | sample_values(code, variant=variant)


@pytest.mark.parametrize("fmt", ["docx", "rtf"])
@pytest.mark.parametrize("code", FORM_CODES)
def test_round_trip(code: str, fmt: Fmt) -> None:
    """A filled form reads back exactly as filled, with no errors or warnings."""
    data = render_form(code, fmt, sample_values(code, variant=3))
    result = parse_document(f"{code}.{fmt}", data, today=TODAY)
    assert result.form_type == code
    assert result.errors == []
    assert result.warnings == []
    assert result.fields == expected_fields(code, variant=3)


@pytest.mark.parametrize("labels", ["lv", "en", "plain"])
@pytest.mark.parametrize("fmt", ["docx", "rtf"])
def test_round_trip_label_styles(fmt: Fmt, labels: LabelStyle) -> None:
    """Latvian-only, English-only and diacritic-free labels read the same values."""
    data = render_form("user_change", fmt, sample_values("user_change"), labels=labels)
    result = parse_document(f"form.{fmt}", data, today=TODAY)
    assert result.errors == []
    assert result.fields == expected_fields("user_change")


@pytest.mark.parametrize("code", FORM_CODES)
def test_docx_values_in_content_controls(code: str) -> None:
    """Values inside Word content controls are read (python-docx's cell.text misses them)."""
    data = render_form(code, "docx", sample_values(code), content_controls=True)
    result = parse_document("form.docx", data, today=TODAY)
    assert result.errors == []
    assert result.fields == expected_fields(code)


@pytest.mark.parametrize("fmt", ["docx", "rtf"])
@pytest.mark.parametrize("code", FORM_CODES)
def test_blank_form_is_recognized_and_empty(code: str, fmt: Fmt) -> None:
    """A blank form is recognized by its code; only 'required' errors, nothing guessed."""
    result = parse_document(f"blank.{fmt}", render_form(code, fmt), today=TODAY)
    assert result.form_type == code
    assert {issue.code for issue in result.errors} <= {"required", "no_users", "nothing_to_change"}
    assert result.errors
    form = form_by_code(code)
    assert form is not None
    assert all(result.fields[key] in (None, []) for key in form.keys)


def test_blank_forms_print_catalogue_labels() -> None:
    """Every label of every form is printed in its blank RTF form, LV over EN, as in FORMS.md."""
    from forms.readers.rtf import RtfReader

    for form in FORMS:
        text = "\n".join(
            "\n".join(row.cells) for row in RtfReader().extract(render_form(form.code, "rtf"))
        )
        assert f"Veidlapas kods / Form code: {form.code}" in text
        assert form.title_lv in text
        assert form.title_en in text
        columns = form.table.columns if form.table else ()
        for field in (*form.fields, *columns):
            assert f"{field.label_lv}\n{field.label_en}" in text


def test_users_table_has_five_empty_rows() -> None:
    """user_add and user_block blanks carry the users table with 5 empty rows."""
    from forms.readers.docx import DocxReader

    for code in ("user_add", "user_block"):
        rows = DocxReader().extract(render_form(code, "docx"))
        last_table = max(row.table or 0 for row in rows)
        table_rows = [row for row in rows if row.table == last_table]
        assert len(table_rows) == 6
        assert all(not any(cell.strip() for cell in row.cells) for row in table_rows[1:])


def test_more_users_than_blank_rows() -> None:
    """Filling more users than blank rows adds rows; all of them read back."""
    users = [
        {"first_name": "A", "last_name": f"B{i}", "email": f"u{i}@ozols.lv"} for i in range(12)
    ]
    values = sample_values("user_add") | {"users": users}
    formats: tuple[Fmt, ...] = ("docx", "rtf")
    for fmt in formats:
        result = parse_document("f", render_form("user_add", fmt, values), today=TODAY)
        assert result.errors == []
        assert [row["last_name"] for row in result.fields["users"]] == [f"B{i}" for i in range(12)]


def test_render_unknown_form_type() -> None:
    """Rendering an unknown form type is a ValueError naming it."""
    with pytest.raises(ValueError, match="nope"):
        render_form("nope", "docx")


def test_note_names_the_address() -> None:
    """The how-to note names the intake address when one is given."""
    data = render_form("user_add", "rtf", send_to="pieteikumi@example.lv")
    assert b"pieteikumi@example.lv" in data
