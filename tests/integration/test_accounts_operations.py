"""Each operation on real SQLite and PostgreSQL: its effect, its refusals, and applying once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from sqlmodel import col, func, select

from handlers.accounts import balance, statement, top_up
from handlers.commands import (
    AddUsers,
    BlockUsers,
    ChangeDetails,
    ChangeUser,
    GrantEinvoiceAccess,
    IncreaseFee,
    NewUser,
    ResumeContract,
    SuspendContract,
    TopUp,
    UpdateContact,
)
from handlers.contracts import apply_due_contract_dates, resume_due_contracts
from handlers.db import UnitOfWork
from handlers.lookups import monthly_amount
from handlers.models import (
    AuditEvent,
    BlockReason,
    Contract,
    ContractStatus,
    CustomerDetails,
    Invoice,
    LedgerEntry,
    OutboxMessage,
    User,
    UserRole,
    UserStatus,
)
from handlers.operations import (
    add_users,
    block_users,
    change_details,
    change_user,
    grant_einvoice_access,
    increase_fee,
    resume_contract,
    suspend_contract,
)
from handlers.results import OperationResult
from handlers.selfservice import update_contact
from handlers.views import Statement
from tests.support import balance_now
from tests.support.books import OZOLS_CONTRACT

TODAY = date(2026, 11, 25)
NEW = NewUser(first_name="Pēteris", last_name="Kļaviņš", email="peteris@Ozols.LV")


def _statement(uow: UnitOfWork, username: str) -> Statement:
    """The user's whole statement (the user must exist)."""
    found = statement(username, uow=uow)
    assert isinstance(found, Statement), found
    return found


def _user(uow: UnitOfWork, username: str) -> dict[str, Any]:
    with uow:
        return uow.session.exec(select(User).where(User.username == username)).one().model_dump()


def _count(uow: UnitOfWork, model: type) -> int:
    with uow:
        return int(uow.session.exec(select(func.count()).select_from(model)).one())


def _outbox(uow: UnitOfWork) -> list[tuple[str, str]]:
    with uow:
        rows = uow.session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all()
        return [(r.template, r.recipient) for r in rows]


def _monthly(uow: UnitOfWork) -> Decimal:
    with uow:
        contract = uow.session.exec(select(Contract)).one()
        return monthly_amount(uow, contract, TODAY)


def test_change_user_moves_balance_blocks_old_and_queues_credentials(books: UnitOfWork) -> None:
    """The new user gets the old balance (two ledger entries), the old is blocked, mail queued."""
    cmd = ChangeUser(
        application_id=None,
        request_key="r1",
        reference="LUR-2026-000001",
        reply_to=("anna.kalnina@ozols.lv",),
        contract_no=OZOLS_CONTRACT,
        old_username="jberzins",
        new_user=NEW,
    )
    result = change_user(cmd, uow=books, today=TODAY)
    assert result.ok, result
    assert result.data["new_username"] == "pklavins"
    assert result.data["moved_amount"] == "50.00"
    assert str(balance_now("pklavins", uow=books)) == "50.00"
    assert str(balance_now("jberzins", uow=books)) == "0.00"
    old = _user(books, "jberzins")
    assert (old["status"], old["blocked_reason"]) == (UserStatus.blocked, BlockReason.own)
    assert _user(books, "pklavins")["email"] == "peteris@ozols.lv"
    kinds = [e.kind for e in _statement(books, "jberzins").entries]
    assert kinds == ["opening", "transfer_out"]
    assert ("credentials", "peteris@ozols.lv") in _outbox(books)
    assert ("confirmation", "anna.kalnina@ozols.lv") in _outbox(books)


def test_each_operation_run_twice_applies_once(books: UnitOfWork) -> None:
    """A second run with the same key returns the first result and changes nothing."""
    runs: list[Callable[[], OperationResult]] = [
        lambda: change_user(
            ChangeUser(
                request_key="a", contract_no=OZOLS_CONTRACT, old_username="jberzins", new_user=NEW
            ),
            uow=books,
            today=TODAY,
        ),
        lambda: add_users(
            AddUsers(
                request_key="b",
                contract_no=OZOLS_CONTRACT,
                users=(NewUser(first_name="Ieva", last_name="Liepa", email="ieva@ozols.lv"),),
            ),
            uow=books,
            today=TODAY,
        ),
        lambda: block_users(
            BlockUsers(request_key="c", contract_no=OZOLS_CONTRACT, usernames=("lozola",)),
            uow=books,
            today=TODAY,
        ),
        lambda: increase_fee(
            IncreaseFee(request_key="d", contract_no=OZOLS_CONTRACT, new_fee=Decimal("130")),
            uow=books,
            today=TODAY,
        ),
        lambda: change_details(
            ChangeDetails(request_key="e", contract_no=OZOLS_CONTRACT, name="SIA Ozols un Co"),
            uow=books,
            today=TODAY,
        ),
        lambda: top_up(
            TopUp(request_key="f", username="pklavins", amount=Decimal("10.00")),
            uow=books,
            today=TODAY,
        ),
        lambda: grant_einvoice_access(
            GrantEinvoiceAccess(
                request_key="g",
                contract_no=OZOLS_CONTRACT,
                first_name="Grēta",
                last_name="Skaitle",
                email="gramatvede@ozols.lv",
            ),
            uow=books,
            today=TODAY,
        ),
        lambda: suspend_contract(
            SuspendContract(request_key="h", contract_no=OZOLS_CONTRACT), uow=books, today=TODAY
        ),
        lambda: resume_contract(
            ResumeContract(request_key="i", contract_no=OZOLS_CONTRACT), uow=books, today=TODAY
        ),
    ]
    runs.append(
        lambda: update_contact(
            UpdateContact(request_key="j", username="lozola", phone="+37129000000"),
            uow=books,
            today=TODAY,
        )
    )
    tables = (User, LedgerEntry, AuditEvent, OutboxMessage, Invoice, CustomerDetails)
    for run in runs:
        first = run()
        assert first.ok, first
        counts = [_count(books, t) for t in tables]
        second = run()
        assert second.replayed
        assert second.data == first.data
        assert [_count(books, t) for t in tables] == counts, first.operation


def test_add_users_raises_monthly_amount_and_refuses_active_email(books: UnitOfWork) -> None:
    """Each new user adds the per-user fee; an active user's e-mail is refused, nothing added."""
    assert _monthly(books) == Decimal("140.00")
    ok = add_users(
        AddUsers(
            request_key="x",
            contract_no=OZOLS_CONTRACT,
            users=(
                NewUser(first_name="Ieva", last_name="Liepa", email="ieva@ozols.lv"),
                NewUser(first_name="Jānis", last_name="Bērziņš", email="janis2@ozols.lv"),
            ),
        ),
        uow=books,
        today=TODAY,
    )
    assert ok.data["usernames"] == ["iliepa", "jberzins2"]
    assert _monthly(books) == Decimal("180.00")
    users_before = _count(books, User)
    refused = add_users(
        AddUsers(
            request_key="y",
            contract_no=OZOLS_CONTRACT,
            users=(
                NewUser(first_name="Jauns", last_name="Cilvēks", email="jauns@ozols.lv"),
                NewUser(first_name="Līga", last_name="Ozola", email="LIGA.OZOLA@ozols.lv"),
            ),
        ),
        uow=books,
        today=TODAY,
    )
    assert not refused.ok
    assert refused.code == "email_already_active"
    assert refused.field == "users[2].email"
    assert "jau pieder" in refused.message_lv
    assert _count(books, User) == users_before


def test_blocking_every_active_user_is_refused_with_a_hint(books: UnitOfWork) -> None:
    """Blocking all users is refused and suggests suspension; blocking one lowers the amount."""
    refused = block_users(
        BlockUsers(request_key="b1", contract_no=OZOLS_CONTRACT, usernames=("jberzins", "lozola")),
        uow=books,
        today=TODAY,
    )
    assert refused.code == "block_all_users"
    assert "suspension" in refused.message_en
    assert _user(books, "jberzins")["status"] == UserStatus.active
    ok = block_users(
        BlockUsers(request_key="b2", contract_no=OZOLS_CONTRACT, usernames=("lozola",)),
        uow=books,
        today=TODAY,
    )
    assert ok.ok
    assert _monthly(books) == Decimal("120.00")


def test_fee_may_only_rise_and_applies_from_next_month(books: UnitOfWork) -> None:
    """A lower fee is refused; a higher one applies from the next billing month."""
    lower = increase_fee(
        IncreaseFee(request_key="f1", contract_no=OZOLS_CONTRACT, new_fee=Decimal("99.99")),
        uow=books,
        today=TODAY,
    )
    assert (lower.ok, lower.code) == (False, "fee_not_higher")
    higher = increase_fee(
        IncreaseFee(request_key="f2", contract_no=OZOLS_CONTRACT, new_fee=Decimal("150.00")),
        uow=books,
        today=TODAY,
    )
    assert higher.data["effective_from"] == "2026-12-01"
    with books:
        contract = books.session.exec(select(Contract)).one()
        assert monthly_amount(books, contract, TODAY) == Decimal("140.00")
        assert monthly_amount(books, contract, date(2026, 12, 1)) == Decimal("190.00")


def test_details_change_is_a_dated_version_and_old_invoices_keep_theirs(books: UnitOfWork) -> None:
    """An invoice before the change keeps the old name; one after carries the new."""
    top_up(
        TopUp(request_key="t1", username="jberzins", amount=Decimal("5")), uow=books, today=TODAY
    )
    result = change_details(
        ChangeDetails(
            request_key="d1",
            contract_no=OZOLS_CONTRACT,
            name="SIA Jaunais",
            iban="LV97HABA0012345678910",
        ),
        uow=books,
        today=TODAY,
    )
    assert result.data["changed"] == ["iban", "name"]
    top_up(
        TopUp(request_key="t2", username="jberzins", amount=Decimal("5")), uow=books, today=TODAY
    )
    with books:
        invoices = books.session.exec(select(Invoice).order_by(col(Invoice.sequence))).all()
        assert [i.customer_details["name"] for i in invoices] == ['SIA "Ozols"', "SIA Jaunais"]
        assert invoices[1].customer_details["address"] == "Brīvības iela 1, Rīga, LV-1010"
        assert [i.number for i in invoices] == ["R-2026-000001", "R-2026-000002"]


def test_suspend_then_resume_unblocks_exactly_the_suspended_users(books: UnitOfWork) -> None:
    """A user blocked on their own stays blocked when the suspension ends."""
    add_users(
        AddUsers(
            request_key="s0",
            contract_no=OZOLS_CONTRACT,
            users=(NewUser(first_name="Ieva", last_name="Liepa", email="ieva@ozols.lv"),),
        ),
        uow=books,
        today=TODAY,
    )
    block_users(
        BlockUsers(request_key="s1", contract_no=OZOLS_CONTRACT, usernames=("lozola",)),
        uow=books,
        today=TODAY,
    )
    suspended = suspend_contract(
        SuspendContract(request_key="s2", contract_no=OZOLS_CONTRACT, date_to=date(2026, 12, 31)),
        uow=books,
        today=TODAY,
    )
    assert suspended.data["blocked"] == ["jberzins", "iliepa"]
    again = suspend_contract(
        SuspendContract(request_key="s3", contract_no=OZOLS_CONTRACT), uow=books, today=TODAY
    )
    assert again.code == "contract_already_suspended"
    assert resume_due_contracts(uow=books, today=date(2026, 12, 30)) == []
    [resumed] = resume_due_contracts(uow=books, today=date(2026, 12, 31))
    assert resumed.data["unblocked"] == ["jberzins", "iliepa"]
    assert _user(books, "lozola")["status"] == UserStatus.blocked
    with books:
        assert books.session.exec(select(Contract)).one().status == ContractStatus.active
    not_suspended = resume_contract(
        ResumeContract(request_key="s4", contract_no=OZOLS_CONTRACT), uow=books, today=TODAY
    )
    assert not_suspended.code == "contract_not_suspended"


def test_top_up_issues_invoice_to_user_and_accountant(books: UnitOfWork) -> None:
    """A top-up credits at once, makes an invoice, and mails the user and the accountant."""
    grant_einvoice_access(
        GrantEinvoiceAccess(
            request_key="g1",
            contract_no=OZOLS_CONTRACT,
            first_name="Grēta",
            last_name="Skaitle",
            email="gramatvede@ozols.lv",
        ),
        uow=books,
        today=TODAY,
    )
    assert _user(books, "gskaitle")["role"] == UserRole.accountant
    result = top_up(
        TopUp(request_key="t1", username="jberzins", amount=Decimal("25.50")),
        uow=books,
        today=TODAY,
    )
    assert result.data == {
        "username": "jberzins",
        "amount": "25.50",
        "balance": "75.50",
        "invoice_number": "R-2026-000001",
    }
    outbox = _outbox(books)
    assert ("topup_invoice", "janis.berzins@ozols.lv") in outbox
    assert ("invoice_notice", "gramatvede@ozols.lv") in outbox
    for bad in (Decimal("0"), Decimal("-5"), Decimal("1.001")):
        refused = top_up(
            TopUp(request_key=f"bad{bad}", username="jberzins", amount=bad), uow=books, today=TODAY
        )
        assert refused.code == "amount_not_positive"
    assert str(balance_now("jberzins", uow=books)) == "75.50"


def test_every_change_writes_an_audit_event_with_before_and_after(books: UnitOfWork) -> None:
    """Blocking a user leaves an audit event with its status before and after."""
    block_users(
        BlockUsers(
            application_id=None,
            request_key="a1",
            actor="staff:ilze",
            contract_no=OZOLS_CONTRACT,
            usernames=("lozola",),
        ),
        uow=books,
        today=TODAY,
    )
    with books:
        event = books.session.exec(
            select(AuditEvent).where(AuditEvent.action == "user.block")
        ).one()
        actor, before, after = event.actor, event.before, event.after
    assert actor == "staff:ilze"
    assert (before or {}).get("status") == "active"
    assert (after or {}).get("status") == "blocked"


def test_unknown_contract_and_user_are_refused_in_both_languages(books: UnitOfWork) -> None:
    """Missing rows are results with Latvian and English text, not exceptions."""
    result = change_user(
        ChangeUser(request_key="u", contract_no="L-0000", old_username="x", new_user=NEW),
        uow=books,
        today=TODAY,
    )
    assert (result.ok, result.code, result.field) == (False, "contract_not_found", "contract_no")
    assert "nav atrasts" in result.message_lv
    assert "was not found" in result.message_en
    missing = balance("nobody", uow=books)
    assert isinstance(missing, OperationResult)
    assert missing.code == "user_not_found"


def test_a_suspension_from_a_later_day_starts_on_that_day(books: UnitOfWork) -> None:
    """Before date_from nothing is blocked; the daily job starts it, then ends it on date_to."""
    scheduled = suspend_contract(
        SuspendContract(
            request_key="p1",
            contract_no=OZOLS_CONTRACT,
            date_from=date(2026, 12, 1),
            date_to=date(2027, 1, 1),
        ),
        uow=books,
        today=TODAY,
    )
    assert scheduled.data["scheduled"] is True
    assert _user(books, "jberzins")["status"] == UserStatus.active
    assert apply_due_contract_dates(uow=books, today=date(2026, 11, 30)) == []
    [started] = apply_due_contract_dates(uow=books, today=date(2026, 12, 1))
    assert started.data["blocked"] == ["jberzins", "lozola"]
    assert apply_due_contract_dates(uow=books, today=date(2026, 12, 2)) == []
    [ended] = apply_due_contract_dates(uow=books, today=date(2027, 1, 1))
    assert ended.data["unblocked"] == ["jberzins", "lozola"]
    assert _user(books, "lozola")["status"] == UserStatus.active


def test_a_block_from_a_later_day_starts_on_that_day(books: UnitOfWork) -> None:
    """A user blocked "from" a later day works until then; the daily job blocks them on it."""
    scheduled = block_users(
        BlockUsers(
            request_key="sb1",
            contract_no=OZOLS_CONTRACT,
            usernames=("lozola",),
            block_from=date(2026, 12, 1),
        ),
        uow=books,
        today=TODAY,
    )
    assert scheduled.ok
    assert _user(books, "lozola")["status"] == UserStatus.active
    assert _monthly(books) == Decimal("140.00")
    assert apply_due_contract_dates(uow=books, today=date(2026, 11, 30)) == []
    [started] = apply_due_contract_dates(uow=books, today=date(2026, 12, 1))
    assert started.data["blocked"] == ["lozola"]
    assert _user(books, "lozola")["status"] == UserStatus.blocked
    assert apply_due_contract_dates(uow=books, today=date(2026, 12, 2)) == []
