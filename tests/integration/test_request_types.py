"""Each request type's rules: the check before approval and the apply step agree.

A request that passes the check and is then approved must not fail the same rule at apply unless
the books changed in between; a request the check refuses is refused at apply for the same
reason. One passing and one refused filling per request type (the suspension form twice).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import select

from forms.catalogue import FORM_CODES
from handlers.checks import check_application
from handlers.commands import IncreaseFee
from handlers.db import UnitOfWork
from handlers.models import Contract, ContractFee, User
from handlers.operations import apply_application, increase_fee
from handlers.request_types import REQUEST_TYPES
from tests.support.books import ANNA, FORM_COMMON, OZOLS_CONTRACT, application_row

TODAY = date(2026, 11, 25)
COMMON = FORM_COMMON


def _nothing(uow: UnitOfWork) -> None:
    """Books as seeded."""


def _fee_set_for_next_month(uow: UnitOfWork) -> None:
    """An approved increase to 150.00 from 1 December is already in the books."""
    result = increase_fee(
        IncreaseFee(
            request_key="earlier-increase",
            contract_no=OZOLS_CONTRACT,
            new_fee=Decimal("150.00"),
            effective_from=date(2026, 12, 1),
        ),
        uow=uow,
        today=TODAY,
    )
    assert result.ok, result


_NEW = {"first_name": "Ieva", "last_name": "Liepa", "email": "ieva@ozols.lv"}

# (request type, fields, books before, the code expected: "ok" or the refusal's code)
CASES: list[tuple[str, dict[str, Any], Callable[[UnitOfWork], None], str]] = [
    (
        "user_change",
        {
            "old_username": "jberzins",
            "new_first_name": "Ieva",
            "new_last_name": "Liepa",
            "new_email": "ieva@ozols.lv",
        },
        _nothing,
        "ok",
    ),
    (
        "user_change",
        {
            "old_username": "nobody",
            "new_first_name": "Ieva",
            "new_last_name": "Liepa",
            "new_email": "ieva@ozols.lv",
        },
        _nothing,
        "user_not_found",
    ),
    ("user_add", {"users": [_NEW]}, _nothing, "ok"),
    (
        "user_add",
        {"users": [{**_NEW, "email": "liga.ozola@ozols.lv"}]},
        _nothing,
        "email_already_active",
    ),
    ("user_block", {"users": [{"username": "jberzins"}]}, _nothing, "ok"),
    (
        "user_block",
        {"users": [{"username": "jberzins"}, {"username": "lozola"}]},
        _nothing,
        "block_all_users",
    ),
    ("fee_increase", {"new_fee": "120.00"}, _nothing, "ok"),
    # Today's fee is 100.00 but 150.00 is already set from December: 120.00 from December
    # would lower it. A check that compared with today's fee alone passed this one.
    (
        "fee_increase",
        {"new_fee": "120.00", "effective_from": "2026-12-01"},
        _fee_set_for_next_month,
        "fee_not_higher",
    ),
    ("requisites_change", {"new_address": "Rīgas iela 2, Rīga, LV-1050"}, _nothing, "ok"),
    ("requisites_change", {}, _nothing, "no_details_given"),
    ("contract_suspend", {"action": "suspend", "date_from": "2026-12-01"}, _nothing, "ok"),
    (
        "contract_suspend",
        {"action": "suspend", "date_from": "2026-12-10", "date_to": "2026-12-01"},
        _nothing,
        "date_to_before_from",
    ),
    ("contract_suspend", {"action": "resume"}, _nothing, "contract_not_suspended"),
    (
        "einvoice_access",
        {
            "accountant_first_name": "Inese",
            "accountant_last_name": "Grāmata",
            "accountant_email": "inese@ozols.lv",
        },
        _nothing,
        "ok",
    ),
    (
        "einvoice_access",
        {
            "accountant_first_name": "Jānis",
            "accountant_last_name": "Bērziņš",
            "accountant_email": "janis.berzins@ozols.lv",
        },
        _nothing,
        "email_already_active",
    ),
]


def _approved_application(uow: UnitOfWork, form_type: str, fields: dict[str, Any]) -> int:
    return application_row(uow, form_type, **fields)


def _state(uow: UnitOfWork) -> tuple[Any, ...]:
    with uow:
        users = sorted((u.username, str(u.status)) for u in uow.session.exec(select(User)).all())
        contract = uow.session.exec(select(Contract)).one()
        fees = sorted(
            (f.valid_from, f.base_fee) for f in uow.session.exec(select(ContractFee)).all()
        )
        return (tuple(users), str(contract.status), contract.suspended_from, tuple(fees))


@pytest.mark.parametrize(
    ("form_type", "fields", "prepare", "expected"),
    CASES,
    ids=[f"{case[0]}-{case[3]}" for case in CASES],
)
def test_check_and_apply_agree(
    books: UnitOfWork,
    form_type: str,
    fields: dict[str, Any],
    prepare: Callable[[UnitOfWork], None],
    expected: str,
) -> None:
    """What the check before approval says is what applying the approved request does."""
    prepare(books)
    check = check_application(
        form_type, {**COMMON, **fields}, uow=books, sender=ANNA[1], today=TODAY
    )
    check_code = check.errors[0].code if check.errors else "ok"
    assert check_code == expected, check.errors

    before = _state(books)
    application_id = _approved_application(books, form_type, fields)
    result = apply_application(application_id, uow=books, today=TODAY, actor="staff:ilze")
    assert (result.ok, result.code) == (expected == "ok", expected)
    assert (check.errors[0].field if check.errors else None) == result.field
    if expected != "ok":
        assert _state(books) == before, "a refused request changed the books"


def test_a_request_checked_then_outpaced_by_the_books_fails_with_what_changed(
    books: UnitOfWork,
) -> None:
    """A fee increase that passed its check fails at apply when a higher fee landed meanwhile."""
    fields = {"new_fee": "120.00", "effective_from": "2026-12-01"}
    check = check_application(
        "fee_increase", {**COMMON, **fields}, uow=books, sender=ANNA[1], today=TODAY
    )
    assert check.ok
    application_id = _approved_application(books, "fee_increase", fields)
    _fee_set_for_next_month(books)  # another request was applied in between
    result = apply_application(application_id, uow=books, today=TODAY, actor="staff:ilze")
    assert (result.ok, result.code) == (False, "fee_not_higher")
    assert "150.00" in result.message_en


def test_every_form_is_a_request_type_with_rules() -> None:
    """The registry names exactly the catalogue's forms, and each action has rules to pass."""
    assert set(REQUEST_TYPES) == set(FORM_CODES)
    for request_type in REQUEST_TYPES.values():
        assert request_type.form.code == request_type.code
        for action in request_type.actions:
            assert action.rules, action.operation
    assert {code for code, t in REQUEST_TYPES.items() if t.four_eyes} == {
        "fee_increase",
        "requisites_change",
    }
