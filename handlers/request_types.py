"""The request types: one declaration each, read by the checks, the apply step and the flows.

A request type is one of FORMS.md's seven forms seen as a change to the books: its code (the
form's), whether two different staff must approve it, and its action — how the form's fields
become a command, the rules the command must pass (before approval and again inside the apply
transaction), the warnings staff are shown, and the operation that applies it. The suspension
form carries two actions (suspend, or resume when the form says so).

Nothing else lists the seven types: `flows.deployments` makes a deployment per entry, the
titles come from the form catalogue, and a test keeps this table and the catalogue equal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from forms.catalogue import FORM_CODES, FormDef, form_by_code
from handlers import contracts, users
from handlers.commands import (
    AddUsers,
    BlockUsers,
    ChangeDetails,
    ChangeUser,
    Command,
    GrantEinvoiceAccess,
    IncreaseFee,
    NewUser,
    ResumeContract,
    SuspendContract,
)
from handlers.db import UnitOfWork
from handlers.lookups import find_contract
from handlers.request_rules import (
    Rule,
    RuleContext,
    accountant_email_is_free,
    blocked_user_names_match,
    contract_can_be_suspended,
    contract_is_active,
    contract_is_suspended,
    details_are_given,
    enforce,
    fee_rises,
    new_user_email_is_free,
    new_users_emails_are_free,
    old_user_is_active_in_contract,
    old_user_name_matches,
    reg_no_matches,
    sender_is_authorized,
    some_user_stays_active,
    stated_fee_matches,
    submitter_is_authorized,
    suspension_ends_after_it_starts,
    users_are_given,
    users_to_block_are_active_in_contract,
)

# Fields → command. `base` carries what every command of an application has (its id, the
# actor, the reference and where replies go).
Builder = Callable[[Mapping[str, Any], dict[str, Any]], Command]
# The in-transaction change itself; the rules have passed when it is called.
Applier = Callable[[Any, UnitOfWork, date], dict[str, Any]]

# Every form is signed by an authorized person of the contract it names.
_SIGNED: tuple[Rule, ...] = (reg_no_matches, submitter_is_authorized)
# The intake already refuses a sender who is not an authorized person of the contract the
# form names (handlers/senders.py); the warning stays for applications filed before that rule.
_WARN: tuple[Rule, ...] = (sender_is_authorized,)


@dataclass(frozen=True)
class Action:
    """One change a request type can make: command, rules, warnings and the operation."""

    operation: str
    command: type[Command]
    build: Builder
    rules: tuple[Rule, ...]
    apply: Applier
    warnings: tuple[Rule, ...] = ()
    # Changes to the contract row itself lock it (PostgreSQL) before the rules read it, so two
    # fee increases cannot both pass "the fee rises"; user changes lock their user rows instead.
    locks_contract: bool = False


@dataclass(frozen=True)
class RequestType:
    """One of FORMS.md's forms as a change to the books."""

    code: str
    actions: tuple[Action, ...]
    four_eyes: bool = False
    # Which action a form asks for, when there is more than one (default: the first).
    choose: Callable[[Mapping[str, Any]], int] = lambda fields: 0

    @property
    def form(self) -> FormDef:
        """The form's catalogue entry: titles, labels."""
        form = form_by_code(self.code)
        if form is None:  # pragma: no cover - a test keeps the catalogue and this table equal
            raise LookupError(self.code)
        return form

    def action_for(self, fields: Mapping[str, Any]) -> Action:
        """The action these form fields ask for."""
        return self.actions[self.choose(fields)]


def _date(value: Any) -> date | None:
    return date.fromisoformat(str(value)) if value else None


def _text(fields: Mapping[str, Any], key: str) -> str:
    # Required values are guaranteed by the form's own validation; an absent one reads as empty
    # and is then caught by the rule that needs it.
    return str(fields.get(key) or "").strip()


def _new_user(row: Mapping[str, Any], prefix: str = "") -> NewUser:
    return NewUser(
        first_name=_text(row, f"{prefix}first_name"),
        last_name=_text(row, f"{prefix}last_name"),
        email=_text(row, f"{prefix}email"),
        personal_code=row.get(f"{prefix}personal_code"),
        position=row.get(f"{prefix}position"),
        phone=row.get(f"{prefix}phone"),
    )


def _common(fields: Mapping[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    return {**base, "contract_no": _text(fields, "contract_no")}


def _rows(fields: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(fields.get("users") or [])


REQUEST_TYPES: dict[str, RequestType] = {
    request_type.code: request_type
    for request_type in (
        RequestType(
            code="user_change",
            actions=(
                Action(
                    operation="change_user",
                    command=ChangeUser,
                    build=lambda f, base: ChangeUser(
                        **_common(f, base),
                        old_username=_text(f, "old_username"),
                        new_user=_new_user(f, "new_"),
                    ),
                    rules=(
                        *_SIGNED,
                        contract_is_active,
                        old_user_is_active_in_contract,
                        new_user_email_is_free,
                    ),
                    warnings=(*_WARN, old_user_name_matches),
                    apply=users.apply_change_user,
                ),
            ),
        ),
        RequestType(
            code="user_add",
            actions=(
                Action(
                    operation="add_users",
                    command=AddUsers,
                    build=lambda f, base: AddUsers(
                        **_common(f, base), users=tuple(_new_user(row) for row in _rows(f))
                    ),
                    rules=(
                        *_SIGNED,
                        contract_is_active,
                        users_are_given,
                        new_users_emails_are_free,
                    ),
                    warnings=_WARN,
                    apply=users.apply_add_users,
                ),
            ),
        ),
        RequestType(
            code="user_block",
            actions=(
                Action(
                    operation="block_users",
                    command=BlockUsers,
                    build=lambda f, base: BlockUsers(
                        **_common(f, base),
                        usernames=tuple(_text(row, "username") for row in _rows(f)),
                        block_from=_date(f.get("block_from")),
                    ),
                    rules=(
                        *_SIGNED,
                        contract_is_active,
                        users_are_given,
                        users_to_block_are_active_in_contract,
                        some_user_stays_active,
                    ),
                    warnings=(*_WARN, blocked_user_names_match),
                    apply=users.apply_block_users,
                ),
            ),
        ),
        RequestType(
            code="fee_increase",
            four_eyes=True,  # money: a second, different approver confirms
            actions=(
                Action(
                    operation="increase_fee",
                    locks_contract=True,
                    command=IncreaseFee,
                    build=lambda f, base: IncreaseFee(
                        **_common(f, base),
                        new_fee=Decimal(str(f["new_fee"])),
                        effective_from=_date(f.get("effective_from")),
                    ),
                    rules=(*_SIGNED, contract_is_active, fee_rises),
                    warnings=(*_WARN, stated_fee_matches),
                    apply=contracts.apply_increase_fee,
                ),
            ),
        ),
        RequestType(
            code="requisites_change",
            four_eyes=True,  # bank details: where the money goes
            actions=(
                Action(
                    operation="change_details",
                    command=ChangeDetails,
                    build=lambda f, base: ChangeDetails(
                        **_common(f, base),
                        name=f.get("new_name"),
                        address=f.get("new_address"),
                        vat_no=f.get("new_vat_no"),
                        bank=f.get("new_bank"),
                        swift=f.get("new_swift"),
                        iban=f.get("new_iban"),
                        effective_from=_date(f.get("effective_from")),
                    ),
                    rules=(*_SIGNED, contract_is_active, details_are_given),
                    warnings=_WARN,
                    apply=contracts.apply_change_details,
                ),
            ),
        ),
        RequestType(
            code="contract_suspend",
            choose=lambda fields: 1 if fields.get("action") == "resume" else 0,
            actions=(
                Action(
                    operation="suspend_contract",
                    locks_contract=True,
                    command=SuspendContract,
                    build=lambda f, base: SuspendContract(
                        **_common(f, base),
                        date_from=_date(f.get("date_from")),
                        date_to=_date(f.get("date_to")),
                    ),
                    rules=(*_SIGNED, contract_can_be_suspended, suspension_ends_after_it_starts),
                    warnings=_WARN,
                    apply=contracts.apply_suspend,
                ),
                Action(
                    operation="resume_contract",
                    locks_contract=True,
                    command=ResumeContract,
                    build=lambda f, base: ResumeContract(**_common(f, base)),
                    rules=(*_SIGNED, contract_is_suspended),
                    warnings=_WARN,
                    apply=contracts.apply_resume,
                ),
            ),
        ),
        RequestType(
            code="einvoice_access",
            actions=(
                Action(
                    operation="grant_einvoice_access",
                    command=GrantEinvoiceAccess,
                    build=lambda f, base: GrantEinvoiceAccess(
                        **_common(f, base),
                        first_name=_text(f, "accountant_first_name"),
                        last_name=_text(f, "accountant_last_name"),
                        email=_text(f, "accountant_email"),
                        phone=f.get("accountant_phone"),
                    ),
                    rules=(*_SIGNED, contract_is_active, accountant_email_is_free),
                    warnings=_WARN,
                    apply=users.apply_grant_einvoice_access,
                ),
            ),
        ),
    )
}

# The action behind each operation name, for commands given directly (CLI, tests, benches).
ACTIONS: dict[str, Action] = {
    action.operation: action
    for request_type in REQUEST_TYPES.values()
    for action in request_type.actions
}

if set(REQUEST_TYPES) != set(FORM_CODES):  # pragma: no cover - a test says which one drifted
    raise RuntimeError("the request types and the form catalogue must name the same forms")


def request_type(code: str | None) -> RequestType | None:
    """The request type of a form code, None for anything else."""
    return REQUEST_TYPES.get(code or "")


def needs_two_approvals(code: str | None, *, sender_verified: bool = True) -> bool:
    """True when two different staff must approve: a risky request type, or an unproven sender.

    With sender verification at `flag`, mail whose sender could not be verified is still read;
    a second approver is then the safeguard (docs/operations.md, "Sender authentication").
    """
    found = request_type(code)
    return found is not None and (found.four_eyes or not sender_verified)


def apply_checked(
    action: Action,
    command: Command,
    *,
    uow: UnitOfWork,
    today: date,
    fields: Mapping[str, Any] | None = None,
    sender: str | None = None,
) -> dict[str, Any]:
    """Run the action's rules on the books as they are now, then apply; inside an open uow."""
    contract_no = str(getattr(command, "contract_no", ""))
    contract = find_contract(uow, contract_no, lock=action.locks_contract)
    context = RuleContext(
        uow=uow, contract=contract, today=today, fields=fields or {}, sender=sender
    )
    enforce(context, command, action.rules)
    return action.apply(command, uow, today)
