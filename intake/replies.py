"""The e-mails and notes the intake writes about a message, in Latvian first, English second."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import forms
from forms.catalogue import FORMS, form_by_code
from handlers.inbound_messages import Reply
from intake import store
from intake.mime import Limits, Refusal

log = logging.getLogger(__name__)

BLANK_FORMS_DIR = "blank_forms"


def blank_form_paths(home: Path) -> list[str]:
    """The blank DOCX and RTF forms under home, written once, to attach to `no_form` replies."""
    folder = home / BLANK_FORMS_DIR
    paths: list[str] = []
    for form in FORMS:
        for fmt in ("docx", "rtf"):
            path = folder / f"{form.code}.{fmt}"
            if not path.exists():
                try:
                    store.write_atomic(path, forms.render_form(form.code, fmt))
                except Exception:  # a reply without attachments beats no reply at all
                    log.exception("blank form %s.%s could not be rendered", form.code, fmt)
                    continue
            paths.append(str(path.resolve()))
    return paths


def field_labels(form_type: str | None, key: str | None) -> tuple[str, str]:
    """The (Latvian, English) label of a result key such as `users[2].email`."""
    form = form_by_code(form_type) if form_type else None
    if form is None or key is None:
        return ("", "")
    base, _, column = key.partition(".")
    base = base.split("[", 1)[0]
    if form.table is not None and base == form.table.key:
        for col in form.table.columns:
            if column and col.key == column:
                return (col.label_lv, col.label_en)
        return (form.table.title_lv, form.table.title_en)
    try:
        spec = form.field(base)
    except KeyError:
        return ("", "")
    return (spec.label_lv, spec.label_en)


def error_lines(form_type: str | None, errors: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Errors as the form_rejected template shows them: label and message, both languages."""
    lines = []
    for error in errors:
        label_lv, label_en = field_labels(form_type, error.get("field"))
        lines.append(
            {
                "field_label_lv": label_lv,
                "field_label_en": label_en,
                "message_lv": str(error.get("message_lv", "")),
                "message_en": str(error.get("message_en", "")),
            }
        )
    return lines


def refusal_context(refused: list[Refusal]) -> dict[str, Any]:
    """The unsupported_attachment template's context for these refusals."""
    return {
        "filenames": [r.filename for r in refused if r.filename],
        "reasons": [
            {"filename": r.filename, "message_lv": r.message_lv, "message_en": r.message_en}
            for r in refused
        ],
    }


def too_large_refusal(limits: Limits) -> Refusal:
    """Why a message over the size limit is not read."""
    mb = limits.max_message_bytes // (1024 * 1024)
    return Refusal(
        0,
        "",
        "message_too_large",
        f"Vēstule ir par lielu (vairāk nekā {mb} MB); sūtiet veidlapas atsevišķās vēstulēs.",
        f"The message is too large (more than {mb} MB); send the forms in separate messages.",
    )


def staff_notice(staff_email: str, message_id: int, from_addr: str | None, reason: str) -> Reply:
    """The `quarantined` notice to staff: which message, from whom, and why."""
    return Reply(
        template="quarantined",
        recipient=staff_email,
        context={
            "reference_or_message": f"#{message_id}",
            "from_addr": from_addr or "(?)",
            "reason": reason,
        },
    )


def unreadable_reply(sender: str) -> Reply:
    """The one answer to a verified client whose message could not be read at all."""
    return Reply(
        template="unsupported_attachment",
        recipient=sender,
        context=refusal_context(
            [
                Refusal(
                    0,
                    "",
                    "unreadable",
                    "Vēstuli neizdevās nolasīt; mūsu darbinieki to pārskatīs. Ja iesniegums "
                    "ir steidzams, nosūtiet to vēlreiz vienkāršā vēstulē ar veidlapu pielikumā.",
                    "The message could not be read; our staff will look at it. If the "
                    "application is urgent, send it again in a plain message with the form "
                    "attached.",
                )
            ]
        ),
    )


def same_message_id_warning(earlier: int) -> dict[str, Any]:
    """The warning staff see on a message whose Message-ID an earlier, other message had."""
    return {
        "field": None,
        "code": "message_id_reused",
        "message_lv": (
            f"Vēstulei ir tāds pats Message-ID kā agrākai vēstulei #{earlier}, bet cits saturs; "
            "pārbaudiet, vai abas ir no šī sūtītāja."
        ),
        "message_en": (
            f"The message has the same Message-ID as earlier message #{earlier} with other "
            "content; check that both come from this sender."
        ),
    }


def no_form_reply(sender: str, home: Path) -> Reply:
    """The no_form answer: the list of forms, with the blank forms attached."""
    return Reply(
        template="no_form",
        recipient=sender,
        context={
            "forms": [
                {"code": f.code, "title_lv": f.title_lv, "title_en": f.title_en} for f in FORMS
            ]
        },
        attachments=tuple(blank_form_paths(home)),
    )
