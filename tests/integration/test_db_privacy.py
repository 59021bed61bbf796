"""Database errors must not carry personal data into logs."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from handlers.db import UnitOfWork
from handlers.models import Contract, Customer, User


def _user(contract_id: int) -> User:
    return User(
        contract_id=contract_id,
        username="jberzins",
        first_name="Jānis",
        last_name="Bērziņš-Privāts",
        email="janis.privats@ozols.lv",
        personal_code="010190-12345",
    )


def test_database_error_does_not_quote_personal_values(engine: Engine) -> None:
    """A failed insert names the statement, never the names, e-mails or codes it carried."""
    with UnitOfWork(engine) as uow:
        customer = Customer(reg_no="40003056133")
        uow.session.add(customer)
        uow.session.flush()
        assert customer.id is not None
        contract = Contract(
            number="L-1",
            customer_id=customer.id,
            base_fee=Decimal("100.00"),
            per_user_fee=Decimal("20.00"),
        )
        uow.session.add(contract)
        uow.session.flush()
        assert contract.id is not None
        contract_id = contract.id
        uow.session.add(_user(contract_id))
        uow.commit()
    with UnitOfWork(engine) as uow:
        uow.session.add(_user(contract_id))
        with pytest.raises(IntegrityError) as caught:
            uow.commit()
    message = str(caught.value)
    assert "app_user" in message
    for personal in ("Bērziņš-Privāts", "janis.privats@ozols.lv", "010190-12345"):
        assert personal not in message
