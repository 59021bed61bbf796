"""What staff see and answer on a waiting run: the Decision input and its Markdown description.

The Prefect UI renders `Decision` as the form of the Resume dialog (the description above it);
the CLI sends the same input through the API. The schema only shapes the form — a drop-down of
the decisions, a drop-down of the active staff built when the run suspends, a one-time code, a
comment — and keeps no rules of its own: the server would show a rule broken as a JSON-schema
error. The flow checks every decision after the resume (`handlers.staff.verify_decision`) and
says what was wrong in staff's words at the top of the description.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Literal

from prefect.input import RunInput
from pydantic import Field, create_model

from flows.markdown import code_span, escape_markdown
from forms.catalogue import form_by_code
from forms.catalogue import form_titles as catalogue_titles
from handlers.threads import ClientAnswerView
from handlers.views import ReviewView


class Decision(RunInput):
    """A staff decision on one application: approve or reject, who, their code, and why."""

    # A Literal renders as a drop-down in the Prefect UI; a bool would be a toggle.
    decision: Literal["approve", "reject"] = Field(
        description="approve: apply the change · reject: answer the client with the comment"
    )
    staff: str = Field(description="Jūs / You (enrolled staff)")
    code: str = Field(description="Vienreizējais kods / One-time code (authenticator app)")
    # A plain str with a default: `str | None` would render as a None/str switch.
    comment: str = Field(
        default="", max_length=2000, description="Required to reject; it is sent to the client."
    )


def decision_model(staff: list[str]) -> type[Decision]:
    """The Decision input with `staff` a drop-down of these usernames (built at each wait).

    The drop-down lives in the JSON schema only: a stored answer is read back as a plain str,
    so a run replaying an earlier wait still reads it after someone left the list.
    """
    extra: dict[str, Any] = {"enum": staff} if staff else {}
    field = Field(description="Jūs / You (enrolled staff)", json_schema_extra=extra)
    model: type[Decision] = create_model(
        "Decision", __base__=Decision, __module__=__name__, staff=(str, field)
    )
    return model


def _cell(value: Any) -> str:
    # Client text is data: escaped so it renders as itself, never as a link, image or heading.
    return "—" if value in (None, "") else escape_markdown(str(value))


def _code(value: str) -> str:
    return code_span(value)


def form_titles(form_type: str | None) -> tuple[str, str]:
    """The form's Latvian and English titles (the code itself when the catalogue lacks it)."""
    return catalogue_titles(form_type) if form_type else ("?", "?")


def _eur(amount: Decimal) -> str:
    return f"{amount:.2f} EUR"


def approvals_line(view: ReviewView) -> str | None:
    """`needs two approvals — 1 of 2 given by ilze`, for four-eyes requests."""
    if view.approvals_needed < 2:
        return None
    given = view.approvals_given
    names = ", ".join(_code(g) for g in given)
    by = f" — {len(given)} no 2 / of 2: {names}" if given else " — 0 no 2 / of 2"
    return (
        "**Vajadzīgi divi apstiprinājumi, no diviem dažādiem darbiniekiem / "
        f"Needs two approvals, by two different staff members**{by}"
    )


def _sender(view: ReviewView) -> str:
    if view.sender_verified:
        return f"{_cell(view.sender)} (✅ pārbaudīts / verified)"
    # Read without proof of the sender (DOCINTAKE_SENDER_VERIFICATION=flag): two approvers.
    return (
        f"{_cell(view.sender)} (⚠️ NAV pārbaudīts / NOT verified — "
        "vajag divus apstiprinātājus / two approvers needed)"
    )


def _contract_lines(view: ReviewView) -> list[str]:
    contract = view.contract
    if contract is None:
        return ["**Līgums / Contract:** nav atrasts / not found", ""]
    status = contract.status
    if contract.suspended_from:
        status += f" ({contract.suspended_from:%d.%m.%Y}–{contract.suspended_until or ''})"
    lines = [
        f"**Līgums tagad / Contract now:** {_cell(contract.number)} · {status} · "
        f"mēneša maksa / monthly {_eur(contract.monthly_amount)} "
        f"(abonentmaksa / base {_eur(contract.base_fee)} + "
        f"{_eur(contract.per_user_fee)} × lietotājs / user)",
        "",
        "Aktīvie lietotāji / Active users:",
        "",
    ]
    lines.extend(
        f"{n}. {_code(u.username)} — {_cell(u.name)} ({u.role}) · {_eur(u.balance)}"
        for n, u in enumerate(contract.users, start=1)
    )
    if not contract.users:
        lines.append("- nav / none")
    return [*lines, ""]


def _change_lines(view: ReviewView) -> list[str]:
    if not view.changes:
        return []
    lines = ["**Izmaiņas: pirms → pēc / Changes: before → after** (✱ = mainās / changes)", ""]
    for change in view.changes:
        mark = " ✱" if change.changed else ""
        after = f"**{_cell(change.after)}**" if change.changed else _cell(change.after)
        lines.append(
            f"- {change.label_lv} / {change.label_en}: {_cell(change.before)} → {after}{mark}"
        )
    return [*lines, ""]


def _field_lines(view: ReviewView) -> list[str]:
    form = form_by_code(view.form_type or "")
    fields = view.fields
    lines = ["**Veidlapas lauki, kā nolasīti / Form fields as read**", ""]
    # A bullet per field, not a table: the Resume dialog is narrow and a table's value column
    # ends up out of sight behind long bilingual labels; bullets wrap.
    if form is not None:
        lines.extend(
            f"- **{field.label_lv} / {field.label_en}:** {_cell(fields.get(field.key))}"
            for field in form.fields
        )
    else:
        lines.extend(f"- **{_cell(key)}:** {_cell(value)}" for key, value in fields.items())
    rows = fields.get("users") if form is not None and form.table is not None else None
    if form is not None and form.table is not None and isinstance(rows, list) and rows:
        lines += ["", f"**{form.table.title_lv} / {form.table.title_en}**", ""]
        # One numbered item per row (rows counted from 1, as errors name them): a six-column
        # table would not fit the dialog either.
        for number, row in enumerate(rows, start=1):
            cells = " · ".join(
                f"{c.label_lv} / {c.label_en}: {_cell(row.get(c.key))}" for c in form.table.columns
            )
            lines.append(f"{number}. {cells}")
    return [*lines, ""]


def review_markdown(
    view: ReviewView, *, notice: str | None = None, answers: Sequence[ClientAnswerView] = ()
) -> str:
    """The whole picture staff read before deciding, the reason a decision was refused first."""
    title_lv, title_en = form_titles(view.form_type)
    lines: list[str] = []
    if notice:
        lines += [f"> **Lēmums netika pieņemts / Decision refused:** {escape_markdown(notice)}", ""]
    lines += [f"### {view.reference} · {title_lv} / {title_en}", ""]
    needs_two = approvals_line(view)
    if needs_two:
        lines += [needs_two, ""]
    if view.decisions:
        lines += ["**Lēmumi līdz šim / Decisions so far**", ""]
        lines.extend(
            f"- {d.decision} · {_code(d.staff)} · {d.decided_at:%d.%m.%Y %H:%M} UTC"
            + (f" · {_cell(d.comment)}" if d.comment else "")
            for d in view.decisions
        )
        lines.append("")
    lines += [f"- **Sūtītājs / Sender:** {_sender(view)}", ""]
    lines += _contract_lines(view)
    lines += _change_lines(view)
    lines += _field_lines(view)
    lines += ["**Brīdinājumi / Warnings**", ""]
    if view.warnings:
        lines.extend(
            f"- {_cell(w.get('message_lv'))} / {_cell(w.get('message_en'))}" for w in view.warnings
        )
    else:
        lines.append("- nav / none")
    if answers:
        lines += ["", "**Klienta atbildes / Client's answers**", ""]
        lines.extend(
            f"- {a.received_at:%Y-%m-%d %H:%M} UTC · {_cell(a.from_addr)} · "
            f"{_cell(a.subject or '')}: {_cell(a.text[:500])}"
            for a in answers
        )
    lines += [
        "",
        f"**Dokuments / Document:** {code_span(view.filename or '—')} · "
        f"sha256 `{view.document_sha256}`",
    ]
    return "\n".join(lines)
