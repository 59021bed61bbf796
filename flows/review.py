"""What staff see and answer on a waiting run: the Decision input and its Markdown description.

The Prefect UI renders `Decision` as the form of the Resume dialog (the description above it);
the CLI sends the same input through the API. The JSON schema carries the rules the server can
check before it resumes (a choice, a staff name, a comment to reject, a second approver who is
not the first); `decision_problem` checks them again after the resume, since the schema is only
as strong as the server's validator.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from prefect.input import RunInput
from pydantic import ConfigDict, Field

from flows.markdown import code_span, escape_markdown
from forms.catalogue import form_by_code
from forms.catalogue import form_titles as catalogue_titles
from handlers.models import Application, Approval
from handlers.threads import ClientAnswerView

# A rejection without a reason leaves the client guessing: the schema refuses it.
_REJECT_NEEDS_COMMENT: dict[str, Any] = {
    "if": {"properties": {"decision": {"const": "reject"}}, "required": ["decision"]},
    "then": {
        "required": ["comment"],
        "properties": {"comment": {"type": "string", "minLength": 1, "pattern": r"\S"}},
    },
}


class Decision(RunInput):
    """A staff decision on one application: approve or reject, who, and why."""

    model_config = ConfigDict(json_schema_extra={"allOf": [_REJECT_NEEDS_COMMENT]})

    # A Literal renders as a drop-down in the Prefect UI; a bool would be a toggle.
    decision: Literal["approve", "reject"] = Field(
        description="approve: apply the change · reject: answer the client with the comment"
    )
    staff: str = Field(
        min_length=1, max_length=100, pattern=r"\S", description="Your name (recorded)."
    )
    comment: str | None = Field(
        default=None,
        max_length=2000,
        description="Required to reject; it is sent to the client.",
    )


def decision_model(*, first_staff: str | None = None) -> type[Decision]:
    """The Decision input; for a second approval, one the first approver cannot give."""
    if first_staff is None:
        return Decision
    other_approver: dict[str, Any] = {
        "if": {"properties": {"decision": {"const": "approve"}}, "required": ["decision"]},
        "then": {"properties": {"staff": {"not": {"const": first_staff}}}},
    }
    extra: dict[str, Any] = {"allOf": [_REJECT_NEEDS_COMMENT, other_approver]}
    return type(
        "Decision",
        (Decision,),
        {"model_config": ConfigDict(json_schema_extra=extra), "__module__": __name__},
    )


def _same_person(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def decision_problem(decision: Decision, *, first_staff: str | None = None) -> str | None:
    """Why a resumed decision cannot stand (None when it can)."""
    if not decision.staff.strip():
        return "staff name is required"
    if decision.decision == "reject" and not (decision.comment or "").strip():
        return "a comment is required to reject"
    if (
        decision.decision == "approve"
        and first_staff is not None
        and _same_person(first_staff, decision.staff)
    ):
        return f"the second approval must come from someone other than {first_staff}"
    return None


def _cell(value: Any) -> str:
    # Client text is data: escaped so it renders as itself, never as a link, image or heading.
    return "—" if value in (None, "") else escape_markdown(str(value))


def _markdown_text(text: str) -> str:
    # A client's text may hold links, images or emphasis: shown as typed, never rendered.
    return re.sub(r"([\\`*_{}\[\]()<>#+!|~-])", r"\\\1", " ".join(text.split())[:500])


def form_titles(form_type: str | None) -> tuple[str, str]:
    """The form's Latvian and English titles (the code itself when the catalogue lacks it)."""
    return catalogue_titles(form_type) if form_type else ("?", "?")


def review_markdown(
    application: Application,
    *,
    home: Path,
    approvals: list[Approval] | None = None,
    second_approval: bool = False,
    answers: Sequence[ClientAnswerView] = (),
) -> str:
    """The parsed application as staff should read it before deciding."""
    form = form_by_code(application.form_type or "")
    title_lv, title_en = form_titles(application.form_type)
    lines = [
        f"### {application.reference} · {title_lv} / {title_en}",
        "",
        f"- **Sūtītājs / Sender:** {_cell(application.sender)}",
        *(
            []
            if application.sender_verified
            else [
                "- **⚠ Sūtītājs nav pārbaudīts / Sender not verified** — "
                "vajag divus apstiprinātājus / two approvers needed"
            ]
        ),
        f"- **Atsauce / Reference:** {application.reference}",
        f"- **Dokuments / Document:** {code_span(application.filename or '—')} stored at "
        f"{code_span(str((home / 'messages' / application.document_sha256).resolve()))}",
        "",
        "**Veidlapas lauki / Form fields**",
        "",
    ]
    # A bullet per field, not a table: the Resume dialog is narrow and a table's value column
    # ends up out of sight behind long bilingual labels; bullets wrap.
    fields = application.fields
    if form is not None:
        lines.extend(
            f"- **{field.label_lv} / {field.label_en}:** {_cell(fields.get(field.key))}"
            for field in form.fields
        )
    else:
        lines.extend(f"- **{_cell(key)}:** {_cell(value)}" for key, value in fields.items())
    rows = fields.get("users") if form is not None and form.table is not None else None
    if form is not None and form.table is not None and isinstance(rows, list) and rows:
        columns = form.table.columns
        lines += [
            "",
            f"**{form.table.title_lv} / {form.table.title_en}**",
            "",
        ]
        # One numbered item per row (rows counted from 1, as errors name them): a six-column
        # table would not fit the dialog either.
        for number, row in enumerate(rows, start=1):
            cells = " · ".join(
                f"{c.label_lv} / {c.label_en}: {_cell(row.get(c.key))}" for c in columns
            )
            lines.append(f"{number}. {cells}")
    lines += ["", "**Brīdinājumi / Warnings**", ""]
    if application.warnings:
        lines.extend(
            f"- {_cell(w.get('message_lv'))} / {_cell(w.get('message_en'))}"
            for w in application.warnings
        )
    else:
        lines.append("- nav / none")
    if answers:
        lines += ["", "**Klienta atbildes / Client's answers**", ""]
        lines.extend(
            f"- {a.received_at:%Y-%m-%d %H:%M} UTC · {_markdown_text(a.from_addr)} · "
            f"{_markdown_text(a.subject or '')}: {_markdown_text(a.text)}"
            for a in answers
        )
    if approvals:
        lines += ["", "**Lēmumi / Decisions**", ""]
        lines.extend(
            f"- {a.decision} · {_cell(a.staff)} · {a.decided_at:%Y-%m-%d %H:%M} UTC"
            + (f" · {_cell(a.comment)}" if a.comment else "")
            for a in approvals
        )
    if second_approval:
        lines += [
            "",
            "**Vajadzīgs otrs apstiprinājums / A second approval is required** "
            "by a different staff member.",
        ]
    return "\n".join(lines)
