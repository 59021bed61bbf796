"""The request-type registry: who must approve, and that only it lists the request types."""

from __future__ import annotations

import pytest

from flows.deployments import REQUEST_FLOWS
from forms.catalogue import FORM_CODES
from handlers.request_types import REQUEST_TYPES, needs_two_approvals


@pytest.mark.parametrize("code", sorted(FORM_CODES))
def test_an_unverified_sender_always_needs_two_approvers(code: str) -> None:
    """Mail read at verification `flag` without proof of its sender needs two staff, any type."""
    assert needs_two_approvals(code, sender_verified=False)


def test_only_money_and_bank_details_need_two_approvers_from_a_verified_sender() -> None:
    """A verified sender's request needs a second approver only for fee and details changes."""
    two = {code for code in FORM_CODES if needs_two_approvals(code, sender_verified=True)}
    assert two == {"fee_increase", "requisites_change"}


def test_an_unknown_form_type_needs_no_approval_rule() -> None:
    """No request type, no approvals: such an application never reaches staff."""
    assert not needs_two_approvals("not_a_form", sender_verified=False)


def test_each_request_type_has_its_own_flow_named_by_its_code() -> None:
    """Deployments come from the registry: one flow per type, in flows/<code>.py, named <code>."""
    assert list(REQUEST_FLOWS) == list(REQUEST_TYPES)
    for code, request_flow in REQUEST_FLOWS.items():
        assert request_flow.name == code
        assert request_flow.fn.__module__ == f"flows.{code}"
