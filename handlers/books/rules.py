"""The value rules of a books file: each field's label and normalizer, and rules across a row.

Values are checked with the forms' own normalizers (`forms.values`), so a file and a form
accept the same things; problems are named in Latvian and English.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Any

from forms import values as v
from handlers.books.formats import Kind
from handlers.books.records import Location, Problem
from handlers.models import BlockReason, ContractStatus, UserRole, UserStatus

Normalizer = Callable[[str], Any]


def _choice(kind: type[enum.StrEnum], value: str) -> enum.StrEnum:
    try:
        return kind(value.strip().casefold())
    except ValueError:
        allowed = " / ".join(member.value for member in kind)
        raise v.InvalidValue("invalid_choice", f"jābūt {allowed}", f"must be {allowed}") from None


def _username(value: str) -> str:
    text = value.strip()
    if not text or any(ch.isspace() for ch in text) or len(text) > 64:
        raise v.InvalidValue(
            "invalid_username",
            "jābūt līdz 64 zīmēm bez atstarpēm",
            "must be up to 64 characters without spaces",
        )
    return text


@dataclass(frozen=True, slots=True)
class Rule:
    """How one field of a books row is labelled, normalized and whether it must be given."""

    label_lv: str
    label_en: str
    normalize: Normalizer
    required: bool = False
    default: Any = None


_text = partial(v.normalize_text, max_length=200)
_number = partial(v.normalize_text, max_length=32)

_DETAILS: dict[str, Rule] = {
    "name": Rule("Pasūtītāja nosaukums", "Customer name", _text, True),
    "address": Rule("Juridiskā adrese", "Legal address", v.normalize_text),
    "vat_no": Rule("PVN maksātāja numurs", "VAT number", v.normalize_vat_no),
    "bank": Rule("Banka", "Bank", _text),
    "swift": Rule("SWIFT/BIC kods", "SWIFT/BIC code", v.normalize_swift),
    "iban": Rule("Konta numurs (IBAN)", "Account number (IBAN)", v.normalize_iban),
}
_VALID_FROM = Rule("Spēkā no", "Valid from", v.parse_date, True)

RULES: dict[Kind, dict[str, Rule]] = {
    "customer": {
        "reg_no": Rule("Reģistrācijas numurs", "Registration number", v.normalize_reg_no, True),
        **_DETAILS,
    },
    "details_change": {"valid_from": _VALID_FROM, **_DETAILS},
    "fee_change": {
        "valid_from": _VALID_FROM,
        "base_fee": Rule("Abonentmaksa", "Subscription fee", v.parse_money, True),
    },
    "contract": {
        "number": Rule("Līguma numurs", "Contract number", _number, True),
        "status": Rule(
            "Līguma statuss",
            "Contract status",
            partial(_choice, ContractStatus),
            default=ContractStatus.active,
        ),
        "base_fee": Rule("Abonentmaksa", "Subscription fee", v.parse_money, True),
        "per_user_fee": Rule("Maksa par lietotāju", "Fee per user", v.parse_money, True),
        "suspended_until": Rule("Pārtraukts līdz", "Suspended until", v.parse_date),
        "suspended_from": Rule("Pārtraukts no", "Suspended from", v.parse_date),
    },
    "authorized_person": {
        "name": Rule("Pilnvarotā persona", "Authorized person", _text, True),
        "email": Rule("E-pasts", "E-mail", v.normalize_email, True),
    },
    "user": {
        "username": Rule("Lietotājvārds", "Username", _username, True),
        "first_name": Rule("Vārds", "First name", _text, True),
        "last_name": Rule("Uzvārds", "Surname", _text, True),
        "personal_code": Rule("Personas kods", "Personal code", v.normalize_personal_code),
        "position": Rule("Amats", "Position", _text),
        "email": Rule("E-pasts", "E-mail", v.normalize_email, True),
        "phone": Rule("Tālrunis", "Phone", v.normalize_phone),
        "role": Rule("Loma", "Role", partial(_choice, UserRole), default=UserRole.user),
        "status": Rule(
            "Statuss", "Status", partial(_choice, UserStatus), default=UserStatus.active
        ),
        "balance": Rule(
            "Konta atlikums",
            "Account balance",
            partial(v.parse_money, allow_negative=True),
            default=Decimal("0.00"),
        ),
        "block_from": Rule("Bloķēt no", "Block from", v.parse_date),
        "blocked_reason": Rule(
            "Bloķēšanas iemesls", "Reason for the block", partial(_choice, BlockReason)
        ),
    },
}
PARENT_RULE: dict[str, Rule] = {
    "reg_no": RULES["customer"]["reg_no"],
    "contract_number": RULES["contract"]["number"],
}


def problem_at(where: Location, fld: str | None, code: str, lv: str, en: str) -> Problem:
    """A problem at a row of a file."""
    return Problem(
        file=where.file, row=where.row, field=fld, code=code, message_lv=lv, message_en=en
    )


def contract_rules(values: dict[str, Any], where: Location, problems: list[Problem]) -> bool:
    """Rules across a contract's fields: a suspension's dates fit the contract's status.

    A suspended contract may say when it ends; an active one may have a suspension scheduled
    (`suspended_from`, and optionally its end).
    """
    suspended = values["status"] == ContractStatus.suspended
    since: date | None = values["suspended_from"]
    until: date | None = values["suspended_until"]
    if since is not None and suspended:
        return _refuse(
            problems,
            where,
            "suspended_from",
            "already_suspended",
            "Pārtraukts no: norāda tikai ieplānotam pārtraukumam (status active)",
            "Suspended from: only for a suspension still to come (status active)",
        )
    if until is not None and not suspended and since is None:
        return _refuse(
            problems,
            where,
            "suspended_until",
            "not_suspended",
            "Pārtraukts līdz: norāda tikai pārtrauktam līgumam (status suspended) vai kopā ar "
            '"Pārtraukts no"',
            "Suspended until: only for a suspended contract (status suspended) or together "
            'with "Suspended from"',
        )
    if since is not None and until is not None and until <= since:
        return _refuse(
            problems,
            where,
            "suspended_until",
            "date_to_before_from",
            'Pārtraukts līdz: jābūt pēc "Pārtraukts no"',
            'Suspended until: must be after "Suspended from"',
        )
    return True


def user_rules(values: dict[str, Any], where: Location, problems: list[Problem]) -> bool:
    """Rules across a user's fields: a block to come for an active user, a reason for a blocked."""
    if values["block_from"] is not None and values["status"] != UserStatus.active:
        return _refuse(
            problems,
            where,
            "block_from",
            "not_active",
            "Bloķēt no: norāda tikai aktīvam lietotājam (status active)",
            "Block from: only for an active user (status active)",
        )
    if values["blocked_reason"] is not None and values["status"] != UserStatus.blocked:
        return _refuse(
            problems,
            where,
            "blocked_reason",
            "not_blocked",
            "Bloķēšanas iemesls: norāda tikai bloķētam lietotājam (status blocked)",
            "Reason for the block: only for a blocked user (status blocked)",
        )
    return True


def _refuse(
    problems: list[Problem], where: Location, fld: str, code: str, lv: str, en: str
) -> bool:
    problems.append(problem_at(where, fld, code, lv, en))
    return False
