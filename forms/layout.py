"""The blank forms' layout, shared by the DOCX and RTF writers.

Layout: title (LV, then EN), the `Veidlapas kods / Form code:` line, a two-column table
(label | value) for the common block, another for the form's own fields, the users table with
empty rows where the form has one, the suspend/resume tick boxes, a signature line and a note
on how to fill the form and where to send it. Labels print LV on one line and EN under it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, Literal

from forms.catalogue import ACTION_CHOICES, COMMON_FIELDS, FieldDef, FormDef
from forms.values import fold_text

LabelStyle = Literal["both", "lv", "en", "plain"]
TICKED, UNTICKED = "☒", "☐"

SIGNATURE = "Paraksts / Signature: ______________________________"
FILL_NOTE_LV = (
    "Aizpildiet tabulu labās puses ailes, kreiso aili nemainot. Saglabājiet veidlapu kā DOCX vai"
    " RTF failu un nosūtiet to e-pastā kā pielikumu"
)
FILL_NOTE_EN = (
    "Fill in the right-hand column of the tables without changing the left one. Save the form"
    " as a DOCX or RTF file and e-mail it as an attachment"
)
ROWS_NOTE = "Ja vajag, pievienojiet rindas (līdz {n}). / Add rows if needed (up to {n})."


def label_lines(lv: str, en: str, style: LabelStyle) -> list[str]:
    """The lines a label prints as in this style: LV then EN, one of them, or LV plain."""
    if style == "lv":
        return [lv]
    if style == "en":
        return [en]
    if style == "plain":
        return [fold_text(lv).capitalize(), en]
    return [lv, en]


def cell_text(value: Any) -> str:
    """A value as typed into a form: dates as DD.MM.YYYY, None as empty."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    return str(value)


def choice_lines(value: Any) -> list[str]:
    """The suspend/resume tick boxes, the given choice ticked; other text as it is."""
    chosen = str(value or "")
    if chosen and chosen not in {key for key, _, _ in ACTION_CHOICES}:
        # Anything but a choice key is written as given (tests write what clients type).
        return chosen.split("\n")
    return [
        f"{TICKED if key == chosen else UNTICKED} {lv} / {en}" for key, lv, en in ACTION_CHOICES
    ]


def send_note(send_to: str | None) -> tuple[str, str]:
    """How to fill and send the form, in Latvian and English."""
    suffix = f" uz {send_to}." if send_to else "."
    suffix_en = f" to {send_to}." if send_to else "."
    return FILL_NOTE_LV + suffix, FILL_NOTE_EN + suffix_en


def value_lines(definition: FieldDef, values: Mapping[str, Any]) -> list[str]:
    """The value cell's lines for one field."""
    if definition.kind == "action":
        return choice_lines(values.get(definition.key))
    return [cell_text(values.get(definition.key))]


def user_rows(form: FormDef, values: Mapping[str, Any]) -> list[list[str]]:
    """The users table's rows: the given ones, then empty ones up to the blank count."""
    assert form.table is not None  # noqa: S101 - called for table forms only
    given: Sequence[Mapping[str, Any]] = values.get(form.table.key) or []
    rows = [[cell_text(row.get(c.key)) for c in form.table.columns] for row in given]
    while len(rows) < form.table.blank_rows:
        rows.append([""] * len(form.table.columns))
    return rows


def sections(form: FormDef) -> list[tuple[str, tuple[FieldDef, ...]]]:
    """The form's two-column tables: the common block, then the form's own fields."""
    sections = [("Pasūtītājs / Customer", form.fields[: len(COMMON_FIELDS)])]
    if form.specific_fields:
        sections.append(("Iesnieguma dati / Application details", form.specific_fields))
    return sections
