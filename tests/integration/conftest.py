"""The integration tier's shared Prefect server and serving process, one for all its modules."""

from collections.abc import Iterator

import pytest

from handlers.db import UnitOfWork
from tests.support import cheap_hashing, give_balances
from tests.support.books import seed_contract
from tests.support.prefect_env import prefect_env_fixture  # noqa: F401 - the session fixture


@pytest.fixture
def books(uow: UnitOfWork) -> Iterator[UnitOfWork]:
    """The seeded contract (users jberzins and lozola, 50.00 each) with cheap hashing."""
    seed_contract(uow)
    give_balances(uow)
    with cheap_hashing():
        yield uow
