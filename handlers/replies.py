"""One way to build a reply about an application: who hears, the title, the error lines.

Every reply to a client (receipt, rejection, confirmation, failure, expiry) takes its
recipients from `handlers.senders.reply_addresses`, its form titles from the catalogue
(`forms.catalogue.form_titles`) and its error lines from `error_lines`, so the rule for each
is written once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from forms.catalogue import field_labels, form_titles
from handlers.db import UnitOfWork
from handlers.models import Application, ApplicationStatus, utcnow
from handlers.outbox import enqueue
from handlers.results import OperationResult
from handlers.threads import thread_of_application


def error_lines(form_type: str | None, errors: Iterable[dict[str, Any]]) -> list[dict[str, str]]:
    """Errors as the templates show them: each message with its field's printed labels.

    The templates say a label only when the message does not already name it (the form's
    own rules start every message with the label, FORMS.md's message contract).
    """
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


def fail_application(
    uow: UnitOfWork, application: Application, reply_to: tuple[str, ...], result: OperationResult
) -> None:
    """Mark the application failed with the result's reason and tell each reply address why."""
    issue = result.as_issue().model_dump()
    application.status = ApplicationStatus.failed
    application.errors = [*application.errors, issue]
    application.updated_at = utcnow()
    uow.session.add(application)
    title_lv, title_en = form_titles(application.form_type)
    context = {
        "reference": application.reference,
        "form_title_lv": title_lv,
        "form_title_en": title_en,
        "comment": None,
        "errors": error_lines(application.form_type, [issue]),
    }
    for recipient in reply_to:
        enqueue(
            uow.session,
            template="request_rejected",
            recipient=recipient,
            context=context,
            dedupe_key=application.reference,
            application_id=application.id,
            thread=thread_of_application(uow.session, application.id),
        )
