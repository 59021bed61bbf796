"""Every validation rule of FORMS.md, seen through a filled form as a client would send it."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

import pytest

from forms import parse_document, render_form
from forms.result import ParseResult
from forms.samples import sample_values

TODAY = date(2026, 11, 25)
Fmt = Literal["docx", "rtf"]


def parse_filled(code: str, fmt: Fmt = "rtf", /, **changes: Any) -> ParseResult:
    """Render `code` filled with the sample values plus changes, and parse it back."""
    values = sample_values(code) | changes
    data = render_form(code, fmt, values)
    return parse_document(f"form.{fmt}", data, today=TODAY)


def codes(result: ParseResult) -> dict[str | None, str]:
    """The errors as {field: code}."""
    return {issue.field: issue.code for issue in result.errors}


def warning_codes(result: ParseResult) -> dict[str | None, str]:
    """The warnings as {field: code}."""
    return {issue.field: issue.code for issue in result.warnings}


@pytest.mark.parametrize("fmt", ["docx", "rtf"])
def test_reg_no_error_message_matches_forms_md(fmt: Fmt) -> None:
    """The registration-number error reads exactly as FORMS.md's example, in LV and EN."""
    result = parse_filled("user_add", fmt, reg_no="4000305613")
    (error,) = result.errors
    assert (error.field, error.code) == ("reg_no", "invalid_reg_no")
    assert error.message_lv == 'Reģistrācijas numurs: "4000305613" — jābūt 11 cipariem'
    assert error.message_en == 'Registration number: "4000305613" — must be 11 digits'
    assert result.fields["reg_no"] is None


def test_personal_code_as_reg_no() -> None:
    """A personal code typed as the registration number is an error."""
    assert codes(parse_filled("user_add", reg_no="161175-19997")) == {
        "reg_no": "personal_code_as_reg_no"
    }


@pytest.mark.parametrize(
    "key", ["customer_name", "reg_no", "contract_no", "submitter_name", "signed_date"]
)
def test_common_required_fields(key: str) -> None:
    """Each required field of the common block, left empty, is a 'required' error on that key."""
    result = parse_filled("einvoice_access", **{key: None})
    assert codes(result) == {key: "required"}
    assert "obligāts" in result.errors[0].message_lv
    assert "required" in result.errors[0].message_en


def test_optional_fields_may_stay_empty() -> None:
    """Position, contact e-mail and phone are optional: leaving them out is no error."""
    result = parse_filled(
        "einvoice_access", submitter_position=None, submitter_email=None, submitter_phone=None
    )
    assert result.errors == []
    assert result.fields["submitter_email"] is None


def test_customer_name_too_long() -> None:
    """A customer name over 200 characters is an error."""
    assert codes(parse_filled("einvoice_access", customer_name="A" * 201)) == {
        "customer_name": "too_long"
    }


def test_contract_no_too_long() -> None:
    """A contract number over 32 characters is an error."""
    assert codes(parse_filled("einvoice_access", contract_no="L" * 33)) == {
        "contract_no": "too_long"
    }


def test_signed_date_in_future_is_error() -> None:
    """A form dated after today is an error."""
    assert codes(parse_filled("einvoice_access", signed_date="26.11.2026")) == {
        "signed_date": "future_date"
    }


def test_signed_date_old_is_warning_only() -> None:
    """A form signed more than 60 days ago gets a warning for staff, not an error."""
    result = parse_filled("einvoice_access", signed_date="2026-09-25")
    assert result.errors == []
    assert warning_codes(result) == {"signed_date": "old_date"}


def test_signed_date_sixty_days_is_fine() -> None:
    """Exactly 60 days old is still no warning."""
    assert parse_filled("einvoice_access", signed_date="2026-09-26").warnings == []


def test_contact_email_and_phone_checked() -> None:
    """The contact e-mail and phone, when given, must be valid."""
    result = parse_filled("einvoice_access", submitter_email="valde@", submitter_phone="123")
    assert codes(result) == {"submitter_email": "invalid_email", "submitter_phone": "invalid_phone"}


def test_user_change_rules() -> None:
    """user_change: required new user's names and e-mail, personal code and phone checked."""
    result = parse_filled(
        "user_change",
        old_username=None,
        new_email="liga@",
        new_personal_code="161375-19997",
        new_phone="12",
        new_last_name=None,
    )
    assert codes(result) == {
        "old_username": "required",
        "new_last_name": "required",
        "new_email": "invalid_email",
        "new_personal_code": "invalid_personal_code",
        "new_phone": "invalid_phone",
    }


def test_user_add_cell_error_names_the_row() -> None:
    """A bad e-mail in the second users row is field users[2].email, message naming the row."""
    users = sample_values("user_add")["users"]
    users[1] = users[1] | {"email": "anna(at)ozols.lv"}
    result = parse_filled("user_add", users=users)
    (error,) = result.errors
    assert (error.field, error.code) == ("users[2].email", "invalid_email")
    assert error.message_lv.startswith('Jaunie lietotāji, 2. rinda, E-pasts: "anna(at)ozols.lv"')
    assert error.message_en.startswith('New users, row 2, E-mail: "anna(at)ozols.lv"')


def test_user_add_row_required_cells() -> None:
    """A users row without first name, surname or e-mail is an error on each missing cell."""
    users = [{"first_name": "Anna"}, {"last_name": "Ozols", "email": "e@ozols.lv"}]
    result = parse_filled("user_add", users=users)
    assert codes(result) == {
        "users[1].last_name": "required",
        "users[1].email": "required",
        "users[2].first_name": "required",
    }


def test_user_add_empty_rows_ignored_but_counted() -> None:
    """Empty rows are skipped; rows keep their place in the table for numbering."""
    user = sample_values("user_add")["users"][0]
    result = parse_filled("user_add", users=[{}, {}, user | {"phone": "1"}])
    assert codes(result) == {"users[3].phone": "invalid_phone"}
    assert len(result.fields["users"]) == 1


def test_user_add_empty_table() -> None:
    """A users table with no user at all is an error on the field users."""
    assert codes(parse_filled("user_add", users=[])) == {"users": "no_users"}


def test_user_add_more_than_twenty() -> None:
    """More than 20 users in one form is an error."""
    users = [{"first_name": "A", "last_name": "B", "email": f"u{i}@ozols.lv"} for i in range(21)]
    assert codes(parse_filled("user_add", users=users)) == {"users": "too_many_users"}


def test_user_add_same_email_twice() -> None:
    """The same e-mail twice in one form is an error on the later row, case ignored."""
    users = sample_values("user_add")["users"]
    users[2] = users[2] | {"email": users[0]["email"].upper()}
    assert codes(parse_filled("user_add", users=users)) == {"users[3].email": "duplicate_email"}


def test_user_add_personal_code_in_row() -> None:
    """A personal code in a users row is checked like any other."""
    users = sample_values("user_add")["users"]
    users[0] = users[0] | {"personal_code": "161175-19990"}
    assert codes(parse_filled("user_add", users=users)) == {
        "users[1].personal_code": "invalid_personal_code"
    }


def test_user_block_rows() -> None:
    """user_block: a username is required in every row, the name is not; block_from is a date."""
    result = parse_filled(
        "user_block", users=[{"name": "Anna Liepiņa"}, {"username": "x1"}], block_from="soon"
    )
    assert codes(result) == {"users[1].username": "required", "block_from": "invalid_date"}


def test_user_block_duplicate_username_warns() -> None:
    """The same username twice is a warning on the later row."""
    users = [{"username": "ozols_anna"}, {"username": "OZOLS_ANNA"}]
    result = parse_filled("user_block", users=users)
    assert result.errors == []
    assert warning_codes(result) == {"users[2].username": "duplicate_username"}


def test_user_block_empty_table() -> None:
    """Blocking nobody is an error on users."""
    assert codes(parse_filled("user_block", users=[])) == {"users": "no_users"}


def test_fee_money_normalized() -> None:
    """Fees written with comma, EUR and a thousands space come out as two-decimal strings."""
    result = parse_filled("fee_increase", current_fee="120 EUR", new_fee="1 250,5 €")
    assert result.errors == []
    assert (result.fields["current_fee"], result.fields["new_fee"]) == ("120.00", "1250.50")


def test_fee_required_and_money_rules() -> None:
    """new_fee is required; three decimals or a dot and comma together are errors."""
    assert codes(parse_filled("fee_increase", new_fee=None)) == {"new_fee": "required"}
    assert codes(parse_filled("fee_increase", new_fee="130,555")) == {"new_fee": "invalid_money"}
    assert codes(parse_filled("fee_increase", current_fee="1.200,00")) == {
        "current_fee": "invalid_money"
    }


def test_fee_decrease_is_error() -> None:
    """A new fee not above the current fee written on the form is an error (an amendment)."""
    assert codes(parse_filled("fee_increase", current_fee="120", new_fee="100")) == {
        "new_fee": "fee_not_increased"
    }
    assert codes(parse_filled("fee_increase", current_fee=None, new_fee="0")) == {
        "new_fee": "fee_not_positive"
    }


def test_fee_effective_month() -> None:
    """A month as the effective date becomes its first day."""
    result = parse_filled("fee_increase", effective_from="02.2027")
    assert result.fields["effective_from"] == "2027-02-01"


def test_requisites_nothing_to_change() -> None:
    """A company-details form with no new value at all is an error."""
    empty = dict.fromkeys(
        ["new_name", "new_address", "new_vat_no", "new_bank", "new_swift", "new_iban"]
    )
    assert codes(parse_filled("requisites_change", **empty)) == {None: "nothing_to_change"}


def test_requisites_bank_needs_iban() -> None:
    """A new bank or SWIFT without the new IBAN is an error on new_iban."""
    assert codes(parse_filled("requisites_change", new_iban=None)) == {"new_iban": "iban_required"}


def test_requisites_codes_checked() -> None:
    """VAT number, SWIFT and IBAN are each checked."""
    result = parse_filled(
        "requisites_change", new_vat_no="LV123", new_swift="HABA", new_iban="LV00HABA0551012345678"
    )
    assert codes(result) == {
        "new_vat_no": "invalid_vat_no",
        "new_swift": "invalid_swift",
        "new_iban": "invalid_iban",
    }


def test_requisites_iban_swift_mismatch_warns() -> None:
    """An LV IBAN whose bank code differs from the SWIFT code is a warning, not an error."""
    result = parse_filled("requisites_change", new_swift="UNLALV2X")
    assert result.errors == []
    assert warning_codes(result) == {"new_swift": "iban_swift_mismatch"}


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("☒ pārtraukt / suspend\n☐ atjaunot / resume", "suspend"),
        ("☐ pārtraukt / suspend\n☒ atjaunot / resume", "resume"),
        ("[x] partraukt  [ ] atjaunot", "suspend"),
        ("pārtraukt X   atjaunot", "suspend"),
        ("ATJAUNOT", "resume"),
        ("resume", "resume"),
    ],
)
def test_suspend_action_choices(written: str, expected: str) -> None:
    """The action reads from a typed word or a ticked box on either side of its word."""
    result = parse_filled("contract_suspend", action=written)
    assert result.errors == []
    assert result.fields["action"] == expected


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("☒ pārtraukt / suspend\n☒ atjaunot / resume", "ambiguous_choice"),
        ("pārtraukt vai atjaunot", "ambiguous_choice"),
        ("☐ pārtraukt / suspend\n☐ atjaunot / resume", "required"),
        ("cancel", "ambiguous_choice"),
    ],
)
def test_suspend_action_unclear(written: str, code: str) -> None:
    """Both ticked, none ticked or neither word is an error, never a guess."""
    result = parse_filled("contract_suspend", action=written)
    assert codes(result) == {"action": code}
    assert result.fields["action"] is None


def test_suspend_date_order() -> None:
    """date_to must come after date_from."""
    result = parse_filled("contract_suspend", date_from="2026-12-01", date_to="2026-12-01")
    assert codes(result) == {"date_to": "date_order"}


def test_suspend_date_to_without_start_must_be_future() -> None:
    """Without date_from, a date_to already past is an error; an open end is fine."""
    assert codes(parse_filled("contract_suspend", date_from=None, date_to="2026-11-25")) == {
        "date_to": "date_order"
    }
    assert parse_filled("contract_suspend", date_from=None, date_to=None).errors == []


def test_einvoice_required() -> None:
    """The accountant's names and e-mail are required."""
    result = parse_filled(
        "einvoice_access", accountant_first_name=None, accountant_email=None, accountant_phone="x"
    )
    assert codes(result) == {
        "accountant_first_name": "required",
        "accountant_email": "required",
        "accountant_phone": "invalid_phone",
    }


def test_defaults_not_applied_in_parse_result() -> None:
    """Fields left out stay null: defaults belong to applying the request, not to reading."""
    result = parse_filled("fee_increase", effective_from=None, current_fee=None)
    assert result.errors == []
    assert result.fields["effective_from"] is None
