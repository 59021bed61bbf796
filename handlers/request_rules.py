"""The rules a request must pass, each one function returning issues.

A rule is run twice: before staff are asked (`handlers.checks`) and again inside the apply
transaction (`handlers.operations`), so a request that passed the check and was approved can only
fail at apply when the books changed in between. A rule reads the books and never writes.

Rules see the command (what would be applied, defaults filled in) and, when the request came on
a form, the form's fields (for what the form states but the command does not carry, such as the
submitter's name or the fee the client believes is current). Fields are keyed as FORMS.md keys
them, so a failure names the form's own field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlmodel import select

from forms.result import Issue
from forms.values import fold_text
from handlers.commands import (
    AddUsers,
    BlockUsers,
    ChangeDetails,
    ChangeUser,
    Command,
    GrantEinvoiceAccess,
    IncreaseFee,
    ResumeContract,
    SuspendContract,
)
from handlers.db import UnitOfWork
from handlers.lookups import active_users, base_fee_on, customer_of, money, row_id
from handlers.messages import message
from handlers.models import (
    AuthorizedPerson,
    Contract,
    ContractStatus,
    User,
    UserRole,
    UserStatus,
)
from handlers.results import RuleViolation


@dataclass(frozen=True)
class RuleContext:
    """What a rule may read: the books (through the unit of work), the contract, the day."""

    uow: UnitOfWork
    contract: Contract
    today: date
    # The form's fields when the request came on a form; empty for a command given directly.
    fields: Mapping[str, Any] = field(default_factory=dict)
    # The address the request came from, when it came by e-mail.
    sender: str | None = None


# A rule: the issues it finds for this command in these books (empty when it is satisfied).
Rule = Callable[[RuleContext, Any], list[Issue]]


def issue(field_key: str | None, code: str, **params: Any) -> Issue:
    """An issue with its LV/EN text from the message catalogue."""
    lv, en = message(code, **params)
    return Issue(field=field_key, code=code, message_lv=lv, message_en=en)


def run_rules(ctx: RuleContext, command: Command, rules: tuple[Rule, ...]) -> list[Issue]:
    """Every issue the rules find, in the order the rules are declared."""
    found: list[Issue] = []
    for rule in rules:
        found.extend(rule(ctx, command))
    return found


def enforce(ctx: RuleContext, command: Command, rules: tuple[Rule, ...]) -> None:
    """Raise the first issue as a rule violation, so the operation is abandoned whole."""
    found = run_rules(ctx, command, rules)
    if found:
        raise RuleViolation.from_issue(found[0])


def name_key(name: str) -> tuple[str, ...]:
    """A person's name compared diacritic- and case-insensitively, in either word order."""
    return tuple(sorted(fold_text(name).replace(",", " ").split()))


def decimal_or_none(value: Any) -> Decimal | None:
    """A form's money value as a Decimal with two places, None when empty or unreadable."""
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None


def next_billing_month(today: date) -> date:
    """The first day of the month after today's."""
    return date(today.year + today.month // 12, today.month % 12 + 1, 1)


# --- rules every request type passes -------------------------------------------------------


def reg_no_matches(ctx: RuleContext, command: Command) -> list[Issue]:
    """The registration number the form gives is the contract's customer's."""
    reg_no = ctx.fields.get("reg_no")
    if reg_no and customer_of(ctx.uow, ctx.contract).reg_no != str(reg_no):
        return [
            issue(
                "reg_no",
                "contract_reg_no_mismatch",
                contract_no=ctx.contract.number,
                reg_no=reg_no,
            )
        ]
    return []


def contract_is_active(ctx: RuleContext, command: Command) -> list[Issue]:
    """Changes other than suspension and resumption need an active contract."""
    if ctx.contract.status == ContractStatus.active:
        return []
    return [
        issue(
            "contract_no",
            "contract_not_active",
            contract_no=ctx.contract.number,
            status=str(ctx.contract.status),
        )
    ]


def submitter_is_authorized(ctx: RuleContext, command: Command) -> list[Issue]:
    """The person who signs the form is one of the contract's authorized persons."""
    submitter = ctx.fields.get("submitter_name")
    if not submitter:
        return []
    people = ctx.uow.session.exec(
        select(AuthorizedPerson).where(AuthorizedPerson.contract_id == ctx.contract.id)
    ).all()
    if name_key(str(submitter)) in {name_key(p.name) for p in people}:
        return []
    return [issue("submitter_name", "submitter_not_authorized", name=submitter)]


def sender_is_authorized(ctx: RuleContext, command: Command) -> list[Issue]:
    """The e-mail came from an authorized person of the contract (warning for staff)."""
    if not ctx.sender:
        return []
    people = ctx.uow.session.exec(
        select(AuthorizedPerson).where(AuthorizedPerson.contract_id == ctx.contract.id)
    ).all()
    if ctx.sender.strip().casefold() in {p.email.casefold() for p in people}:
        return []
    return [issue(None, "sender_not_authorized", sender=ctx.sender)]


# --- users ---------------------------------------------------------------------------------


def _user_problem(ctx: RuleContext, username: str, field_key: str) -> list[Issue]:
    if not username:
        return []
    user = ctx.uow.session.exec(
        select(User).where(User.username == str(username).strip().lower())
    ).first()
    if user is None:
        return [issue(field_key, "user_not_found", username=username)]
    if user.contract_id != ctx.contract.id:
        return [
            issue(
                field_key,
                "user_not_in_contract",
                username=username,
                contract_no=ctx.contract.number,
            )
        ]
    if user.status != UserStatus.active:
        return [issue(field_key, "user_not_active", username=username)]
    return []


def _new_email_problems(ctx: RuleContext, emails: list[tuple[str, str]]) -> list[Issue]:
    active = {u.email.casefold() for u in active_users(ctx.uow, row_id(ctx.contract))}
    seen: set[str] = set()
    found = []
    for field_key, email in emails:
        folded = email.strip().casefold()
        if not folded:
            continue
        if folded in seen:
            found.append(issue(field_key, "email_repeated", email=email))
        elif folded in active:
            found.append(issue(field_key, "email_already_active", email=email))
        seen.add(folded)
    return found


def old_user_is_active_in_contract(ctx: RuleContext, command: ChangeUser) -> list[Issue]:
    """The user to be replaced exists, belongs to this contract and is active."""
    return _user_problem(ctx, command.old_username, "old_username")


def new_user_email_is_free(ctx: RuleContext, command: ChangeUser) -> list[Issue]:
    """The new user's e-mail is not already an active user's of the contract."""
    return _new_email_problems(ctx, [("new_email", command.new_user.email)])


def users_are_given(ctx: RuleContext, command: AddUsers | BlockUsers) -> list[Issue]:
    """At least one user is named."""
    given = command.users if isinstance(command, AddUsers) else command.usernames
    return [] if given else [issue("users", "no_users")]


def new_users_emails_are_free(ctx: RuleContext, command: AddUsers) -> list[Issue]:
    """Each new e-mail is given once and is not already an active user's of the contract."""
    return _new_email_problems(
        ctx, [(f"users[{i}].email", person.email) for i, person in enumerate(command.users, 1)]
    )


def users_to_block_are_active_in_contract(ctx: RuleContext, command: BlockUsers) -> list[Issue]:
    """Each user to block exists, belongs to this contract and is active."""
    found: list[Issue] = []
    for i, username in enumerate(command.usernames, start=1):
        found.extend(_user_problem(ctx, username, f"users[{i}].username"))
    return found


def some_user_stays_active(ctx: RuleContext, command: BlockUsers) -> list[Issue]:
    """Blocking may not leave the contract without an active user (that is a suspension)."""
    named = {str(u).strip().lower() for u in command.usernames}
    users = active_users(ctx.uow, row_id(ctx.contract), role=UserRole.user)
    blocked = [u for u in users if u.username in named]
    if blocked and len(blocked) == len(users):
        return [issue("users", "block_all_users")]
    return []


def accountant_email_is_free(ctx: RuleContext, command: GrantEinvoiceAccess) -> list[Issue]:
    """The accountant's e-mail is not already an active user's of the contract."""
    return _new_email_problems(ctx, [("accountant_email", command.email)])


# --- the contract --------------------------------------------------------------------------


def fee_in_force(ctx: RuleContext, effective: date) -> Decimal:
    """The fee a new fee must beat: what is charged today or already set for that month."""
    return max(
        base_fee_on(ctx.uow, ctx.contract, ctx.today), base_fee_on(ctx.uow, ctx.contract, effective)
    )


def fee_effective_from(ctx: RuleContext, command: IncreaseFee) -> date:
    """The month a fee increase starts: the form's, else the next billing month."""
    return command.effective_from or next_billing_month(ctx.today)


def fee_rises(ctx: RuleContext, command: IncreaseFee) -> list[Issue]:
    """A fee may only rise: above today's and above any fee already set for that month."""
    if command.new_fee <= 0 or money(command.new_fee) != command.new_fee:
        return [issue("new_fee", "amount_not_positive")]
    current = fee_in_force(ctx, fee_effective_from(ctx, command))
    if command.new_fee <= current:
        return [issue("new_fee", "fee_not_higher", new_fee=command.new_fee, current_fee=current)]
    return []


def details_are_given(ctx: RuleContext, command: ChangeDetails) -> list[Issue]:
    """At least one new detail is given."""
    names = ("name", "address", "vat_no", "bank", "swift", "iban")
    return [] if any(getattr(command, n) for n in names) else [issue(None, "no_details_given")]


def contract_can_be_suspended(ctx: RuleContext, command: SuspendContract) -> list[Issue]:
    """Only an active contract can be suspended."""
    if ctx.contract.status == ContractStatus.active:
        return []
    code = (
        "contract_already_suspended"
        if ctx.contract.status == ContractStatus.suspended
        else "contract_not_active"
    )
    return [issue("action", code, contract_no=ctx.contract.number, status=str(ctx.contract.status))]


def suspension_ends_after_it_starts(ctx: RuleContext, command: SuspendContract) -> list[Issue]:
    """An end date, when given, is after the first day of the suspension."""
    date_from = command.date_from or ctx.today
    if command.date_to is not None and command.date_to <= date_from:
        return [issue("date_to", "date_to_before_from")]
    return []


def contract_is_suspended(ctx: RuleContext, command: ResumeContract) -> list[Issue]:
    """Only a suspended contract, or one with a suspension scheduled, can be resumed."""
    scheduled = (
        ctx.contract.status == ContractStatus.active and ctx.contract.suspended_from is not None
    )
    if ctx.contract.status == ContractStatus.suspended or scheduled:
        return []
    return [issue("action", "contract_not_suspended", contract_no=ctx.contract.number)]


# --- warnings for staff: what the form says that the books say otherwise --------------------


def old_user_name_matches(ctx: RuleContext, command: ChangeUser) -> list[Issue]:
    """The old user's name on the form is the one in the books (warning)."""
    return _name_warnings(
        ctx, [("old_user_name", command.old_username, ctx.fields.get("old_user_name"))]
    )


def blocked_user_names_match(ctx: RuleContext, command: BlockUsers) -> list[Issue]:
    """Each blocked user's name on the form is the one in the books (warning)."""
    rows = ctx.fields.get("users") or []
    return _name_warnings(
        ctx,
        [
            (f"users[{i}].name", str(row.get("username") or ""), row.get("name"))
            for i, row in enumerate(rows, start=1)
            if isinstance(row, Mapping)
        ],
    )


def _name_warnings(ctx: RuleContext, named: list[tuple[str, str, Any]]) -> list[Issue]:
    found = []
    for field_key, username, given in named:
        if not given or not username:
            continue
        user = ctx.uow.session.exec(
            select(User).where(User.username == username.strip().lower())
        ).first()
        if user is None or user.contract_id != ctx.contract.id:
            continue
        actual = f"{user.first_name} {user.last_name}"
        if name_key(str(given)) != name_key(actual):
            found.append(
                issue(
                    field_key,
                    "user_name_mismatch",
                    given=given,
                    username=user.username,
                    actual=actual,
                )
            )
    return found


def stated_fee_matches(ctx: RuleContext, command: IncreaseFee) -> list[Issue]:
    """The current fee the form states is the one in the books today (warning)."""
    stated = decimal_or_none(ctx.fields.get("current_fee"))
    books = base_fee_on(ctx.uow, ctx.contract, ctx.today)
    if stated is not None and stated != books:
        return [issue("current_fee", "current_fee_differs", given=stated, books=books)]
    return []
