"""What staff see and may answer: the Decision schema, the review text, the decision records."""

from __future__ import annotations

from typing import Any

import pytest
from markdown_it import MarkdownIt
from prefect._internal.pydantic.v2_schema import create_v2_schema
from prefect.utilities.schema_tools.validation import ValidationError, validate
from sqlmodel import select

from flows.review import Decision, decision_model, decision_problem, review_markdown
from handlers import decisions
from handlers.db import UnitOfWork
from handlers.models import Application, ApplicationStatus, Contract, OutboxMessage
from tests.support.books import seed_contract


def _server_accepts(model: type[Decision], run_input: dict[str, Any]) -> bool:
    """Whether the Prefect server's resume validation would accept this input."""
    schema = create_v2_schema(model.__name__, model_base=model)
    try:
        validate(run_input, schema, raise_on_error=True)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize(
    ("run_input", "accepted"),
    [
        ({"decision": "approve", "staff": "Ilze"}, True),
        ({"decision": "reject", "staff": "Ilze", "comment": "Nav paraksta"}, True),
        ({"decision": "reject", "staff": "Ilze"}, False),
        ({"decision": "reject", "staff": "Ilze", "comment": "  "}, False),
        ({"decision": "approve", "staff": "   "}, False),
        ({"decision": "maybe", "staff": "Ilze"}, False),
        ({"decision": True, "staff": "Ilze"}, False),
    ],
)
def test_the_server_refuses_a_decision_that_breaks_the_rules(
    run_input: dict[str, Any], accepted: bool
) -> None:
    """The schema staff answer with needs a choice, a name, and a comment to reject."""
    assert _server_accepts(Decision, run_input) is accepted


def test_the_second_approval_cannot_come_from_the_first_approver() -> None:
    """For four-eyes requests the schema refuses the first approver's name as the second."""
    second = decision_model(first_staff="Ilze")
    assert not _server_accepts(second, {"decision": "approve", "staff": "Ilze"})
    assert _server_accepts(second, {"decision": "approve", "staff": "Māris"})
    assert _server_accepts(second, {"decision": "reject", "staff": "Ilze", "comment": "Kļūda"})


def test_the_decision_is_checked_again_after_resume() -> None:
    """A name differing only in case or spaces is still the same approver."""
    same = Decision(decision="approve", staff=" ilze ")
    assert decision_problem(same, first_staff="Ilze") is not None
    assert decision_problem(Decision(decision="approve", staff="Māris"), first_staff="Ilze") is None
    assert decision_problem(Decision(decision="reject", staff="Ilze", comment=" ")) is not None


def test_the_decision_renders_as_a_drop_down_not_a_toggle() -> None:
    """`decision` is an enum of approve/reject, so the UI shows a drop-down."""
    schema = create_v2_schema("Decision", model_base=Decision)
    assert schema["properties"]["decision"]["enum"] == ["approve", "reject"]
    assert set(schema["required"]) == {"decision", "staff"}


def _application(**overrides: Any) -> Application:
    values: dict[str, Any] = {
        "id": 7,
        "reference": "LUR-2026-000123",
        "filename": "iesniegums.docx",
        "document_sha256": "a" * 64,
        "form_type": "user_add",
        "reg_no": "40003056133",
        "sender": "anna@ozols.lv",
        "fields": {
            "customer_name": 'SIA "Ozols | Bērzs"',
            "reg_no": "40003056133",
            "users": [{"first_name": "Jānis", "last_name": "Bērziņš", "email": "j@ozols.lv"}],
        },
        "warnings": [
            {"field": "signed_date", "code": "old", "message_lv": "Vecs", "message_en": "Old"}
        ],
    }
    values.update(overrides)
    return Application(**values)


def test_review_shows_fields_with_both_labels_warnings_sender_and_document(
    tmp_path: Any,
) -> None:
    """Staff read the parsed form as a LV/EN table with the warnings and where the file is."""
    text = review_markdown(_application(), home=tmp_path)
    assert '- **Pasūtītāja nosaukums / Customer name:** SIA "Ozols \\| Bērzs"' in text
    assert "Jaunie lietotāji / New users" in text
    assert "1. Vārds / First name: Jānis · Uzvārds / Surname: Bērziņš" in text
    assert "- Vecs / Old" in text
    assert "anna\\@ozols.lv" in text
    assert "LUR-2026-000123" in text
    assert str(tmp_path / "messages" / ("a" * 64)) in text


HOSTILE = {
    "link": "[click](javascript:alert(1))",
    "emphasis": "**APPROVED BY ADMIN**",
    "image": "![p](http://127.0.0.1:9/p.png)",
    "html": '<img src="http://127.0.0.1:9/p.png">',
    "heading": "Ozols\n# heading",
}


def test_review_of_hostile_values_has_no_markup_of_the_clients(tmp_path: Any) -> None:
    """Links, images, emphasis, headings and HTML a client typed render as plain text."""
    application = _application(
        filename="x`` ![p](http://127.0.0.1:9/p.png) ``.docx",
        sender="[me](http://127.0.0.1:9/)@ozols.lv",
        fields={
            "customer_name": HOSTILE["emphasis"],
            "contract_no": HOSTILE["link"],
            "submitter_name": HOSTILE["image"],
            "submitter_position": HOSTILE["html"],
            "reg_no": HOSTILE["heading"],
            "users": [{"first_name": HOSTILE["link"], "email": HOSTILE["image"]}],
        },
        warnings=[{"field": None, "code": "x", "message_lv": HOSTILE["html"], "message_en": "-"}],
    )
    html = MarkdownIt("commonmark").render(review_markdown(application, home=tmp_path))
    for tag in ("<a ", "<img", "<h1", "<h2", "<em>"):
        assert tag not in html
    assert html.count("<h3>") == 1
    assert "<strong>APPROVED" not in html
    assert "**APPROVED BY ADMIN**" in html
    assert "<code>x`` ![p](http://127.0.0.1:9/p.png) ``.docx</code>" in html


def _stored(uow: UnitOfWork, status: ApplicationStatus, contact: str = "valde@ozols.lv") -> int:
    with uow:
        contract_id = uow.session.exec(select(Contract.id)).first()
    if contract_id is None:
        people = (("Anna", "anna@ozols.lv"), ("Valde", "valde@ozols.lv"))
        contract_id = seed_contract(uow, authorized=people, users=()).contract_id
    with uow:
        reference = f"LUR-2026-{uow.next_number('reference-2026'):06d}"
        row = _application(id=None, status=status, reference=reference, contract_id=contract_id)
        row.fields = {**row.fields, "submitter_email": contact}
        uow.session.add(row)
        uow.commit()
        assert row.id is not None
        return row.id


def test_rejection_mails_the_comment_to_sender_and_contact(uow: UnitOfWork) -> None:
    """A rejection writes one `request_rejected` mail to the sender, the contact in copy."""
    application_id = _stored(uow, ApplicationStatus.awaiting_approval)
    for _ in range(2):
        decisions.reject_application(
            application_id, uow=uow, comment="Nav paraksta", titles=("LV", "EN")
        )
    with uow:
        mail = list(uow.session.exec(select(OutboxMessage)))
        assert [(m.template, m.recipient, m.cc) for m in mail] == [
            ("request_rejected", "anna@ozols.lv", ["valde@ozols.lv"])
        ]
        assert mail[0].context["comment"] == "Nav paraksta"
    assert decisions.get_application(application_id, uow=uow).status == (  # type: ignore[union-attr]
        ApplicationStatus.rejected
    )


def test_a_contact_only_the_form_names_gets_no_copy(uow: UnitOfWork) -> None:
    """The form's contact e-mail is copied only when the books hold it for the contract."""
    application_id = _stored(uow, ApplicationStatus.awaiting_approval, "attacker@evil.lv")
    decisions.reject_application(application_id, uow=uow, comment="Nē", titles=("LV", "EN"))
    with uow:
        mail = list(uow.session.exec(select(OutboxMessage)))
        assert [(m.recipient, m.cc) for m in mail] == [("anna@ozols.lv", [])]


def test_review_marks_an_unverified_sender(tmp_path: Any) -> None:
    """An application read without proof of its sender says so at the top of the review."""
    assert "Sender not verified" not in review_markdown(_application(), home=tmp_path)
    text = review_markdown(_application(sender_verified=False), home=tmp_path)
    assert "Sūtītājs nav pārbaudīts / Sender not verified" in text


def test_only_a_waiting_application_expires(uow: UnitOfWork) -> None:
    """Expiry tells the client once, and never touches an application already decided."""
    waiting = _stored(uow, ApplicationStatus.awaiting_approval)
    applied = _stored(uow, ApplicationStatus.applied)
    assert decisions.expire_application(waiting, uow=uow, titles=("LV", "EN"))
    assert not decisions.expire_application(waiting, uow=uow, titles=("LV", "EN"))
    assert not decisions.expire_application(applied, uow=uow, titles=("LV", "EN"))
    with uow:
        templates = [m.template for m in uow.session.exec(select(OutboxMessage))]
    assert templates == ["request_expired"]
