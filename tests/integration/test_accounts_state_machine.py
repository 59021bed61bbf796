"""Any sequence of operations keeps every balance equal to what a simple model expects."""

from __future__ import annotations

import shutil
import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import func
from sqlmodel import select

from handlers.accounts import top_up
from handlers.commands import (
    AddUsers,
    BlockUsers,
    ChangeUser,
    NewUser,
    ResumeContract,
    SuspendContract,
    TopUp,
)
from handlers.db import UnitOfWork, create_all, make_engine
from handlers.models import LedgerEntry, User, UserStatus
from handlers.operations import (
    add_users,
    block_users,
    change_user,
    resume_contract,
    suspend_contract,
)
from tests.support import balance_now, give_balances
from tests.support.books import OZOLS_CONTRACT, seed_contract

TODAY = date(2026, 11, 25)
AMOUNTS = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("500"), places=2)


class Books(RuleBasedStateMachine):
    """The books beside a dictionary model: username -> expected balance, and who is active."""

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="books-"))
        self.engine = make_engine(f"sqlite:///{self.folder / 'books.db'}")
        create_all(self.engine)
        seed_contract(self.uow())
        give_balances(self.uow(), Decimal("10.00"))
        self.expected = {"jberzins": Decimal("10.00"), "lozola": Decimal("10.00")}
        self.active = {"jberzins", "lozola"}
        self.suspended = False
        self.blocked_by_suspension: set[str] = set()
        self.topped_up = Decimal(0)
        self.step = 0

    def uow(self) -> UnitOfWork:
        """A fresh unit of work on this example's database."""
        return UnitOfWork(self.engine)

    def key(self) -> str:
        """A new request key per step."""
        self.step += 1
        return f"step-{self.step}"

    def teardown(self) -> None:
        """Drop the example's database."""
        self.engine.dispose()
        shutil.rmtree(self.folder, ignore_errors=True)

    @rule(user=st.sampled_from(["jberzins", "lozola", "iliepa", "pklavins"]), amount=AMOUNTS)
    def top_up(self, user: str, amount: Decimal) -> None:
        """Top up: accepted only for active users; a replay changes nothing."""
        key = self.key()
        cmd = TopUp(request_key=key, username=user, amount=amount)
        result = top_up(cmd, uow=self.uow(), today=TODAY)
        assert result.ok == (user in self.active), result
        if result.ok:
            self.expected[user] += amount
            self.topped_up += amount
        # The same request again changes nothing.
        assert top_up(cmd, uow=self.uow(), today=TODAY).ok == result.ok

    @precondition(lambda self: "iliepa" not in self.expected and not self.suspended)
    @rule()
    def add_user(self) -> None:
        """Register a new user with no money."""
        person = NewUser(first_name="Ieva", last_name="Liepa", email="ieva@ozols.lv")
        cmd = AddUsers(request_key=self.key(), contract_no=OZOLS_CONTRACT, users=(person,))
        assert add_users(cmd, uow=self.uow(), today=TODAY).ok
        self.expected["iliepa"] = Decimal(0)
        self.active.add("iliepa")

    @precondition(lambda self: "jberzins" in self.active and "pklavins" not in self.expected)
    @rule()
    def change_user(self) -> None:
        """Replace jberzins: the whole balance moves to the new user."""
        person = NewUser(first_name="Pēteris", last_name="Kļaviņš", email="p@ozols.lv")
        cmd = ChangeUser(
            request_key=self.key(),
            contract_no=OZOLS_CONTRACT,
            old_username="jberzins",
            new_user=person,
        )
        result = change_user(cmd, uow=self.uow(), today=TODAY)
        assert result.ok, result
        self.expected["pklavins"] = self.expected["jberzins"]
        self.expected["jberzins"] = Decimal(0)
        self.active = (self.active - {"jberzins"}) | {"pklavins"}

    @rule(user=st.sampled_from(["jberzins", "lozola", "iliepa", "pklavins"]))
    def block(self, user: str) -> None:
        """Block one user: refused for the last active one or an inactive one."""
        cmd = BlockUsers(request_key=self.key(), contract_no=OZOLS_CONTRACT, usernames=(user,))
        result = block_users(cmd, uow=self.uow(), today=TODAY)
        assert result.ok == (user in self.active and len(self.active) > 1), result
        if result.ok:
            self.active.discard(user)

    @rule()
    def suspend_or_resume(self) -> None:
        """Suspend (everyone blocked) or resume (exactly those unblocked)."""
        uow = self.uow()
        if self.suspended:
            cmd = ResumeContract(request_key=self.key(), contract_no=OZOLS_CONTRACT)
            assert resume_contract(cmd, uow=uow, today=TODAY).ok
            self.active = set(self.blocked_by_suspension)
        else:
            self.blocked_by_suspension = set(self.active)
            cmd2 = SuspendContract(request_key=self.key(), contract_no=OZOLS_CONTRACT)
            assert suspend_contract(cmd2, uow=uow, today=TODAY).ok
            self.active = set()
        self.suspended = not self.suspended

    @invariant()
    def balances_match_the_model_and_the_entries(self) -> None:
        """Each balance as modelled; the total is openings plus top-ups; the right users active."""
        uow = self.uow()
        for username, expected in self.expected.items():
            assert balance_now(username, uow=uow) == expected
        with uow:
            total = uow.session.exec(select(func.sum(LedgerEntry.amount))).one()
            active = {
                u.username
                for u in uow.session.exec(select(User)).all()
                if u.status == UserStatus.active
            }
        assert Decimal(total) == Decimal("20.00") + self.topped_up
        assert active == self.active


Books.TestCase.settings = settings(
    max_examples=8,
    database=None,
    stateful_step_count=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestBooks = Books.TestCase
TestBooks.__doc__ = "Random sequences of operations keep balances and totals exact (SQLite)."
