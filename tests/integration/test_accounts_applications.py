"""Parsed applications against the books: the checks before approval, and applying after it."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import col, select

from handlers.checks import check_application
from handlers.db import UnitOfWork
from handlers.models import (
    Application,
    ApplicationStatus,
    Contract,
    ContractStatus,
    OutboxMessage,
    User,
    UserStatus,
)
from handlers.operations import apply_application
from handlers.selfservice import request_log
from handlers.views import RequestLog
from tests.support.books import ANNA, FORM_COMMON, application_row

TODAY = date(2026, 11, 25)
COMMON = FORM_COMMON


def _check(uow: UnitOfWork, form_type: str, sender: str | None = ANNA[1], **fields: Any) -> Any:
    return check_application(form_type, {**COMMON, **fields}, uow=uow, sender=sender, today=TODAY)


def _codes(issues: list[Any]) -> list[tuple[str | None, str]]:
    return [(i.field, i.code) for i in issues]


_application = application_row


def test_a_clean_user_change_passes_the_books(books: UnitOfWork) -> None:
    """Contract, submitter (without diacritics), user and new e-mail all check out."""
    result = _check(
        books,
        "user_change",
        old_username="jberzins",
        old_user_name="Janis Berzins",
        new_email="jauns@ozols.lv",
    )
    assert result.ok, result.errors
    assert result.warnings == []
    assert result.contract_id is not None


def test_unknown_contract_and_foreign_registration_number_are_errors(books: UnitOfWork) -> None:
    """A contract that does not exist, or belongs to another company, is a field error."""
    missing = _check(books, "fee_increase", contract_no="L-9999", new_fee="150.00")
    assert _codes(missing.errors) == [("contract_no", "contract_not_found")]
    foreign = _check(books, "fee_increase", reg_no="40103564678", new_fee="150.00")
    assert ("reg_no", "contract_reg_no_mismatch") in _codes(foreign.errors)


def test_submitter_must_be_an_authorized_person(books: UnitOfWork) -> None:
    """Someone not named in the contract is refused; an unknown sender is a warning."""
    result = _check(
        books,
        "fee_increase",
        sender="cits@example.lv",
        submitter_name="Ivars Svešais",
        new_fee="150",
    )
    assert ("submitter_name", "submitter_not_authorized") in _codes(result.errors)
    assert (None, "sender_not_authorized") in _codes(result.warnings)


def test_user_change_finds_wrong_user_name_mismatch_and_taken_email(books: UnitOfWork) -> None:
    """Another name for the old user warns; an active user's e-mail as the new one is an error."""
    result = _check(
        books,
        "user_change",
        old_username="jberzins",
        old_user_name="Pēteris Bērziņš",
        new_email="liga.ozola@ozols.lv",
    )
    assert _codes(result.warnings) == [("old_user_name", "user_name_mismatch")]
    assert _codes(result.errors) == [("new_email", "email_already_active")]
    unknown = _check(books, "user_change", old_username="nav", new_email="x@ozols.lv")
    assert _codes(unknown.errors) == [("old_username", "user_not_found")]


def test_user_add_flags_repeated_and_active_emails_by_row(books: UnitOfWork) -> None:
    """Errors name the table cell: users[2].email."""
    rows = [
        {"first_name": "A", "last_name": "B", "email": "new@ozols.lv"},
        {"first_name": "C", "last_name": "D", "email": "janis.berzins@ozols.lv"},
        {"first_name": "E", "last_name": "F", "email": "NEW@ozols.lv"},
    ]
    result = _check(books, "user_add", users=rows)
    assert _codes(result.errors) == [
        ("users[2].email", "email_already_active"),
        ("users[3].email", "email_repeated"),
    ]


def test_blocking_every_user_is_an_error_with_a_hint(books: UnitOfWork) -> None:
    """The check refuses blocking all active users, pointing to suspension."""
    rows = [{"name": "Jānis Bērziņš", "username": "jberzins"}, {"name": None, "username": "lozola"}]
    result = _check(books, "user_block", users=rows)
    assert _codes(result.errors) == [("users", "block_all_users")]
    assert "pārtraukšanu" in result.errors[0].message_lv


def test_fee_must_rise_and_a_different_current_fee_is_a_warning(books: UnitOfWork) -> None:
    """A new fee not above the books is an error; a current fee unlike the books warns."""
    lower = _check(books, "fee_increase", new_fee="90.00", current_fee="100.00")
    assert _codes(lower.errors) == [("new_fee", "fee_not_higher")]
    assert lower.warnings == []
    differs = _check(books, "fee_increase", new_fee="150.00", current_fee="95.00")
    assert differs.ok
    assert _codes(differs.warnings) == [("current_fee", "current_fee_differs")]


def test_resume_needs_a_suspended_contract(books: UnitOfWork) -> None:
    """Resuming an active contract is an error; suspending a suspended one too."""
    resume = _check(books, "contract_suspend", action="resume")
    assert _codes(resume.errors) == [("action", "contract_not_suspended")]
    with books:
        contract = books.session.exec(select(Contract)).one()
        contract.status = ContractStatus.suspended
        books.session.add(contract)
        books.commit()
    assert _check(books, "contract_suspend", action="resume").ok
    suspend = _check(books, "contract_suspend", action="suspend")
    assert _codes(suspend.errors) == [("action", "contract_already_suspended")]


def test_apply_user_add_registers_users_and_replies_once(books: UnitOfWork) -> None:
    """Applying registers users: credentials to them, confirmation only to the books' sender."""
    rows = [{"first_name": "Ieva", "last_name": "Liepa", "email": "ieva@ozols.lv"}]
    application_id = _application(books, "user_add", users=rows)
    result = apply_application(application_id, uow=books, today=TODAY, actor="staff:ilze")
    assert result.ok, result
    again = apply_application(application_id, uow=books, today=TODAY, actor="staff:ilze")
    assert again.replayed
    with books:
        application = books.session.get(Application, application_id)
        assert application is not None
        assert application.status == ApplicationStatus.applied
        assert books.session.exec(select(User).where(User.username == "iliepa")).one()
        outbox = books.session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all()
        mails = sorted((m.template, m.recipient) for m in outbox)
    assert mails == [
        ("confirmation", "anna.kalnina@ozols.lv"),
        ("credentials", "ieva@ozols.lv"),
    ]


def test_apply_defaults_fee_to_next_billing_month(books: UnitOfWork) -> None:
    """A fee increase without a date applies from the first day of next month."""
    application_id = _application(books, "fee_increase", new_fee="150.00", effective_from=None)
    result = apply_application(application_id, uow=books, today=TODAY, actor="staff:ilze")
    assert result.data["effective_from"] == "2026-12-01"


def test_apply_suspend_and_resume_from_one_form_type(books: UnitOfWork) -> None:
    """contract_suspend with action suspend, then resume, blocks and unblocks the users."""
    suspend = _application(books, "contract_suspend", action="suspend", date_from=None)
    assert apply_application(suspend, uow=books, today=TODAY, actor="s").ok
    with books:
        statuses = {u.status for u in books.session.exec(select(User)).all()}
    assert statuses == {UserStatus.blocked}
    resume = _application(books, "contract_suspend", action="resume")
    assert apply_application(resume, uow=books, today=TODAY, actor="s").data["unblocked"] == [
        "jberzins",
        "lozola",
    ]


def test_a_refused_application_is_marked_failed_and_the_client_told(books: UnitOfWork) -> None:
    """A fee that does not rise fails the application with the reason, and a reply is queued."""
    application_id = _application(books, "fee_increase", new_fee="50.00")
    result = apply_application(application_id, uow=books, today=TODAY, actor="staff:ilze")
    assert (result.ok, result.code) == (False, "fee_not_higher")
    with books:
        application = books.session.get(Application, application_id)
        assert application is not None
        assert application.status == ApplicationStatus.failed
        assert application.errors[-1]["code"] == "fee_not_higher"
        replies = books.session.exec(select(OutboxMessage)).all()
        templates = {m.template for m in replies}
        [error] = replies[0].context["errors"]
    assert templates == {"request_rejected"}
    assert error["field_label_lv"] == "Jaunā abonentmaksa (EUR mēnesī)"
    assert "not higher" in error["message_en"]


def test_a_rejected_application_is_never_applied(books: UnitOfWork) -> None:
    """Staff said no: applying is refused and nothing changes."""
    application_id = _application(
        books, "fee_increase", status=ApplicationStatus.rejected, new_fee="150.00"
    )
    result = apply_application(application_id, uow=books, today=TODAY, actor="staff:ilze")
    assert result.code == "application_not_applicable"
    with books:
        assert books.session.exec(select(OutboxMessage)).all() == []


def test_request_log_lists_the_contracts_applications_newest_first(books: UnitOfWork) -> None:
    """A user sees the reference, type and status of each application of their contract."""
    first = _application(books, "fee_increase", new_fee="150.00")
    second = _application(books, "user_add", status=ApplicationStatus.awaiting_approval, users=[])
    with books:
        # Intake links what it receives; applying links the rest.
        row = books.session.get(Application, second)
        assert row is not None
        row.contract_id = books.session.exec(select(Contract)).one().id
        books.session.add(row)
        books.commit()
    apply_application(first, uow=books, today=TODAY, actor="staff:ilze")
    log = request_log("lozola", uow=books)
    assert isinstance(log, RequestLog), log
    assert [(r.form_type, r.status) for r in log.requests] == [
        ("user_add", "awaiting_approval"),
        ("fee_increase", "applied"),
    ]
