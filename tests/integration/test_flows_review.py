"""What staff see and may answer: the Decision schema, the review text, the decision records."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyotp
import pytest
from markdown_it import MarkdownIt
from prefect._internal.pydantic.v2_schema import create_v2_schema
from prefect.utilities.schema_tools.validation import ValidationError, validate
from sqlmodel import select

from flows.decisions_given import given_decisions, record_given
from flows.markdown import code_span
from flows.markdown import escape_markdown as md
from flows.review import Decision, decision_model, review_markdown
from handlers import decisions
from handlers.db import UnitOfWork
from handlers.models import Application, ApplicationStatus, Approval, Contract, OutboxMessage
from handlers.request_types import REQUEST_TYPES
from handlers.review_changes import BUILDERS
from handlers.staff import EnrolStaff, enrol_staff, new_key
from handlers.views import review_view
from tests.support import give_balances
from tests.support.books import OZOLS_CONTRACT, OZOLS_NAME, seed_contract


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
        ({"decision": "approve", "staff": "ilze", "code": "123456"}, True),
        ({"decision": "reject", "staff": "ilze", "code": "1", "comment": "Nav paraksta"}, True),
        # Rules are checked by the run after the resume, in words: the form lets these through.
        ({"decision": "reject", "staff": "ilze", "code": "123456"}, True),
        ({"decision": "approve", "staff": "ilze"}, False),
        ({"decision": "approve", "staff": "stranger", "code": "123456"}, False),
        ({"decision": "maybe", "staff": "ilze", "code": "123456"}, False),
        ({"decision": True, "staff": "ilze", "code": "123456"}, False),
    ],
)
def test_the_form_offers_enrolled_staff_and_asks_for_a_code(
    run_input: dict[str, Any], accepted: bool
) -> None:
    """The schema asks for a choice, one of the active staff and a code; nothing more."""
    assert _server_accepts(decision_model(["ilze", "maris"]), run_input) is accepted


def test_staff_and_decision_render_as_drop_downs_and_comment_as_plain_text() -> None:
    """`decision` and `staff` are enums (drop-downs); comment is a str with "" (no None switch)."""
    schema = create_v2_schema("Decision", model_base=decision_model(["ilze", "maris"]))
    assert schema["properties"]["decision"]["enum"] == ["approve", "reject"]
    assert schema["properties"]["staff"]["enum"] == ["ilze", "maris"]
    assert schema["properties"]["comment"] == {
        "default": "",
        "description": "Required to reject; it is sent to the client.",
        "maxLength": 2000,
        "title": "Comment",
        "type": "string",
    }
    assert set(schema["required"]) == {"decision", "staff", "code"}


def test_a_stored_decision_still_reads_after_its_staff_left_the_list() -> None:
    """The drop-down lives in the schema only: a replayed answer of a disabled staff loads."""
    model = decision_model(["maris"])
    loaded = model.model_validate({"decision": "approve", "staff": "ilze", "code": "1"})
    assert loaded.staff == "ilze"


def test_every_request_type_says_what_it_changes() -> None:
    """The before → after builders cover exactly the registry's request types."""
    assert set(BUILDERS) == set(REQUEST_TYPES)


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


def _review(uow: UnitOfWork, form_type: str, fields: dict[str, Any], **kw: Any) -> str:
    """The review text of a new application of this type on the seeded Ozols contract."""
    with uow:
        reference = f"LUR-2026-{uow.next_number('reference-2026'):06d}"
        row = _application(
            id=None,
            reference=reference,
            form_type=form_type,
            sender_verified=kw.get("sender_verified", True),
        )
        row.fields = {"contract_no": OZOLS_CONTRACT, "customer_name": OZOLS_NAME, **fields}
        uow.session.add(row)
        uow.commit()
        assert row.id is not None
        application_id = row.id
    for staff in kw.get("approved_by", ()):
        decisions.record_decision(
            application_id, uow=uow, decision="approve", staff=staff, comment=None, final=False
        )
    view = review_view(application_id, uow=uow, today=date(2026, 11, 30))
    return review_markdown(view)


def test_review_shows_the_contract_now_and_whose_balance_moves(uow: UnitOfWork) -> None:
    """A user change shows the contract's users with balances and the balance that moves."""
    seed_contract(uow)
    give_balances(uow)
    text = _review(
        uow,
        "user_change",
        {
            "old_username": "jberzins",
            "new_first_name": "Pēteris",
            "new_last_name": "Liepa",
            "new_email": "peteris@ozols.lv",
        },
    )
    assert f"**Līgums tagad / Contract now:** {md('L-2019/0123')} · active" in text
    assert "mēneša maksa / monthly 140.00 EUR" in text
    assert f"1. {code_span('jberzins')} — {md('Jānis Bērziņš')} (user) · 50.00 EUR" in text
    moves = f"{md('50.00 EUR — jberzins')} → **{md('50.00 EUR — Pēteris Liepa')}** ✱"
    assert f"- Atlikums pāriet / Balance moves: {moves}" in text
    assert "sha256 `" + "a" * 64 + "`" in text
    assert f"{md('anna@ozols.lv')} (✅ pārbaudīts / verified)" in text


def test_review_marks_changed_company_details_and_says_two_approvals_up_front(
    uow: UnitOfWork,
) -> None:
    """Requisites: current beside new, changed lines marked; four-eyes progress is on top."""
    seed_contract(uow)
    text = _review(
        uow,
        "requisites_change",
        {"new_name": 'SIA "Ozols"', "new_iban": "LV80BANK0000435195001"},
        approved_by=["ilze"],
    )
    name = md('SIA "Ozols"')
    assert f"- Nosaukums / Name: {name} → {name}\n" in text
    assert f"- IBAN / IBAN: — → **{md('LV80BANK0000435195001')}** ✱" in text
    top = text.split("**Līgums tagad")[0]
    assert "Needs two approvals, by two different staff members" in top
    assert f"1 no 2 / of 2: {code_span('ilze')}" in top


def test_review_escapes_what_the_client_wrote(uow: UnitOfWork) -> None:
    """A client's Markdown link, image or HTML in a field shows as text, never as markup."""
    seed_contract(uow)
    text = _review(
        uow,
        "user_add",
        {"users": [{"first_name": "![x](http://evil/a.png)", "last_name": "<b>B</b>"}]},
    )
    html = MarkdownIt("commonmark").render(text)
    assert "<img" not in html
    assert "![x](http://evil/a.png)" in html
    assert "<b>" not in html
    assert "&lt;b&gt;B&lt;/b&gt;" in html
    assert f"- Lietotāju skaits / Users: {md('2')} → **{md('3 (+1)')}** ✱" in text
    monthly = f"{md('140.00 EUR')} → **{md('160.00 EUR')}** ✱"
    assert f"- Mēneša maksa / Monthly amount: {monthly}" in text


HOSTILE = {
    "link": "[click](javascript:alert(1))",
    "emphasis": "**APPROVED BY ADMIN**",
    "image": "![p](http://127.0.0.1:9/p.png)",
    "html": '<img src="http://127.0.0.1:9/p.png">',
    "heading": "Ozols\n# heading",
}


def test_review_of_hostile_values_has_no_markup_of_the_clients(uow: UnitOfWork) -> None:
    """Links, images, emphasis, headings and HTML a client typed render as plain text."""
    seed_contract(uow)
    with uow:
        row = _application(
            id=None,
            filename="x`` ![p](http://127.0.0.1:9/p.png) ``.docx",
            sender="[me](http://127.0.0.1:9/)@ozols.lv",
            fields={
                "customer_name": HOSTILE["emphasis"],
                "contract_no": OZOLS_CONTRACT,
                "submitter_name": HOSTILE["image"],
                "submitter_position": HOSTILE["html"],
                "reg_no": HOSTILE["heading"],
                "users": [{"first_name": HOSTILE["link"], "email": HOSTILE["image"]}],
            },
            warnings=[
                {"field": None, "code": "x", "message_lv": HOSTILE["html"], "message_en": "-"}
            ],
        )
        uow.session.add(row)
        uow.commit()
        assert row.id is not None
        application_id = row.id
    view = review_view(application_id, uow=uow, today=date(2026, 11, 30))
    html = MarkdownIt("commonmark").render(review_markdown(view))
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


def test_decisions_are_recorded_once_and_set_the_status(uow: UnitOfWork) -> None:
    """A first of two approvals keeps waiting; the final one approves; a retry adds nothing."""
    application_id = _stored(uow, ApplicationStatus.awaiting_approval)
    decisions.record_decision(
        application_id, uow=uow, decision="approve", staff="Ilze", comment=None, final=False
    )
    assert decisions.get_application(application_id, uow=uow).status == (  # type: ignore[union-attr]
        ApplicationStatus.awaiting_approval
    )
    ids = {
        decisions.record_decision(
            application_id, uow=uow, decision="approve", staff="Māris", comment=None, final=True
        ).id
        for _ in range(2)
    }
    assert len(ids) == 1, "the retry returns the recorded row, readable after its session"
    with uow:
        staff = [a.staff for a in uow.session.exec(select(Approval))]
    assert staff == ["Ilze", "Māris"]
    assert decisions.get_application(application_id, uow=uow).status == (  # type: ignore[union-attr]
        ApplicationStatus.approved
    )


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


def test_review_marks_an_unverified_sender_and_asks_for_two_approvals(uow: UnitOfWork) -> None:
    """An application read without proof of its sender says so and needs two approvers."""
    seed_contract(uow)
    users = {"users": [{"first_name": "A", "last_name": "B"}]}
    verified = _review(uow, "user_add", users)
    assert "(✅ pārbaudīts / verified)" in verified
    assert "Needs two approvals" not in verified
    text = _review(uow, "user_add", users, sender_verified=False)
    assert "⚠️ NAV pārbaudīts / NOT verified" in text
    assert "Needs two approvals" in text.split("**Līgums tagad")[0]


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


def test_a_captured_decision_obeys_the_same_four_eyes_rule_as_the_flow(uow: UnitOfWork) -> None:
    """A decision copied from Prefect leaves an unverified sender's request waiting for a second."""
    verified = _stored(uow, ApplicationStatus.awaiting_approval)
    unverified = _stored(uow, ApplicationStatus.awaiting_approval)
    with uow:
        row = uow.session.get(Application, unverified)
        assert row is not None
        row.sender_verified = False
        uow.session.add(row)
        uow.commit()
    key = new_key()
    codes = {
        name: pyotp.TOTP(
            enrol_staff(
                EnrolStaff(username=name, full_name=name.title(), email=f"{name}@example.lv"),
                uow=uow,
                key=key,
            ).secret
        ).now()
        for name in ("ilze", "maris")
    }

    def given(name: str) -> Any:
        answer = {"decision": "approve", "staff": name, "code": codes[name]}
        return given_decisions({"suspended-decision-1-1-response": answer})

    assert record_given(verified, given("ilze"), flow_run_id="run-a", uow=uow, key=key) == 1
    assert record_given(unverified, given("maris"), flow_run_id="run-b", uow=uow, key=key) == 1
    again = record_given(unverified, given("maris"), flow_run_id="run-b", uow=uow, key=key)
    assert again == 0, "copied once"
    statuses = {
        i: decisions.get_application(i, uow=uow).status  # type: ignore[union-attr]
        for i in (verified, unverified)
    }
    assert statuses == {
        verified: ApplicationStatus.approved,
        unverified: ApplicationStatus.awaiting_approval,
    }


def test_a_decision_copied_from_prefect_without_a_valid_code_is_never_recorded(
    uow: UnitOfWork,
) -> None:
    """A forged resume (no code, a wrong one, an unknown person) leaves the application waiting."""
    waiting = _stored(uow, ApplicationStatus.awaiting_approval)
    key = new_key()
    enrol_staff(
        EnrolStaff(username="ilze", full_name="Ilze", email="ilze@example.lv"), uow=uow, key=key
    )
    forged = given_decisions(
        {
            "suspended-decision-1-1-response": {"decision": "approve", "staff": "ilze", "code": ""},
            "suspended-decision-1-2-response": {
                "decision": "approve",
                "staff": "ilze",
                "code": "000000",
            },
            "suspended-decision-1-3-response": {
                "decision": "approve",
                "staff": "boss",
                "code": "123456",
            },
        }
    )
    assert record_given(waiting, forged, flow_run_id="run-f", uow=uow, key=key) == 0
    assert decisions.approvals_for(waiting, uow=uow) == []
    status = decisions.get_application(waiting, uow=uow)
    assert status is not None
    assert status.status == ApplicationStatus.awaiting_approval


def test_a_code_is_judged_when_the_decision_was_given_not_when_a_run_gets_to_it(
    uow: UnitOfWork,
) -> None:
    """A decision stored 5 minutes ago with the code valid then stands; judged now it would not."""
    late = _stored(uow, ApplicationStatus.awaiting_approval)
    key = new_key()
    secret = enrol_staff(
        EnrolStaff(username="ilze", full_name="Ilze", email="ilze@example.lv"), uow=uow, key=key
    ).secret
    given_at = datetime.now(UTC) - timedelta(minutes=5)
    answer = {"decision": "approve", "staff": "ilze", "code": pyotp.TOTP(secret).at(given_at)}
    inputs = {"suspended-decision-1-1-response": answer}

    judged_now = given_decisions(inputs)
    assert record_given(late, judged_now, flow_run_id="run-now", uow=uow, key=key) == 0

    judged_when_given = given_decisions(inputs, {"suspended-decision-1-1-response": given_at})
    assert record_given(late, judged_when_given, flow_run_id="run-l", uow=uow, key=key) == 1
    assert [a.staff for a in decisions.approvals_for(late, uow=uow)] == ["ilze"]
