"""The clients' portal served by a real uvicorn on a free loopback port, and a client for it.

with serve_portal(database_url=url, home=home, sink=sink) as portal:
    client = PortalClient(portal.base_url)
    client.sign_in("anna", "…")
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from handlers.credentials import hash_password
from handlers.db import UnitOfWork
from handlers.models import (
    AuthorizedPerson,
    Contract,
    Customer,
    CustomerDetails,
    LedgerEntry,
    User,
    UserRole,
)
from notifications.smtp import transport_from
from portal.config import PortalConfig
from portal.server import PortalThread
from tests.support.smtp_sink import SmtpSink, free_port

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class RunningPortal:
    """A portal being served: its configuration and address."""

    config: PortalConfig
    thread: PortalThread

    @property
    def base_url(self) -> str:
        """The portal's address, e.g. http://127.0.0.1:41234."""
        return self.config.address


def portal_config(
    *, database_url: str, home: Path, sink: SmtpSink | None = None, **overrides: Any
) -> PortalConfig:
    """A test portal's configuration on a free port; mail to the sink (or .eml files)."""
    port = free_port()

    def transport() -> Any:
        if sink is None:
            return transport_from(outbox_dir=home / "outbox")
        return transport_from(host=sink.host, port=sink.port, starttls=False)

    base = f"http://127.0.0.1:{port}"
    config = PortalConfig(
        database_url=database_url,
        home=home,
        transport_factory=transport,
        port=port,
        public_url=base,
        login_url=f"{base}/login",
        reset_url=f"{base}/password/reset",
        secure_cookies=False,
    )
    return replace(config, **overrides)


@contextmanager
def serve_portal(config: PortalConfig) -> Iterator[RunningPortal]:
    """Serve the portal in a thread for the block."""
    thread = PortalThread(config).start()
    try:
        yield RunningPortal(config=config, thread=thread)
    finally:
        thread.stop()


class PortalClient:
    """An httpx client that fills the CSRF token in the way a browser's form does."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, follow_redirects=True, timeout=60)
        self.csrf = ""

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        """GET a page, remembering the CSRF token its forms carry."""
        response = self.http.get(path, **kwargs)
        found = _CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    def post(self, path: str, data: dict[str, str], *, csrf: bool = True) -> httpx.Response:
        """POST a form (with this browser's CSRF token unless told not to)."""
        body = {**data, "csrf": self.csrf} if csrf else data
        response = self.http.post(path, data=body)
        found = _CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    def sign_in(self, identifier: str, password: str) -> httpx.Response:
        """Open the sign-in page and sign in."""
        self.get("/login")
        return self.post("/login", {"identifier": identifier, "password": password})

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()


@dataclass(frozen=True)
class PortalBooks:
    """A contract with a user (known password, a balance) and an authorized person."""

    contract_no: str
    username: str
    user_email: str
    password: str
    person_email: str


def seed_portal_books(
    uow: UnitOfWork,
    *,
    tag: str,
    password: str = "Sakuma-parole-42",  # noqa: S107 (a test login)
    customer_name: str = 'SIA "Ozols"',
    must_change_password: bool = False,
    balance: Decimal = Decimal("25.00"),
) -> PortalBooks:
    """Put a customer, a contract, one user with a password and one authorized person in."""
    with uow:
        session = uow.session
        customer = Customer(reg_no=f"4{abs(hash(tag)) % 10**10:010d}")
        session.add(customer)
        session.flush()
        assert customer.id is not None
        session.add(
            CustomerDetails(
                customer_id=customer.id, valid_from=date(2020, 1, 1), name=customer_name
            )
        )
        contract = Contract(
            number=f"L-{tag}",
            customer_id=customer.id,
            base_fee=Decimal("100.00"),
            per_user_fee=Decimal("10.00"),
        )
        session.add(contract)
        session.flush()
        assert contract.id is not None
        user = User(
            contract_id=contract.id,
            username=f"u{tag}",
            first_name="Anna",
            last_name="Kalniņa",
            email=f"u{tag}@ozols.lv",
            role=UserRole.user,
            password_hash=hash_password(password),
            must_change_password=must_change_password,
        )
        session.add(user)
        session.flush()
        assert user.id is not None
        session.add(LedgerEntry(user_id=user.id, amount=balance, kind="opening"))
        person_email = f"valde.{tag}@ozols.lv"
        session.add(
            AuthorizedPerson(contract_id=contract.id, name="Jānis Bērziņš", email=person_email)
        )
        uow.commit()
    return PortalBooks(
        contract_no=f"L-{tag}",
        username=f"u{tag}",
        user_email=f"u{tag}@ozols.lv",
        password=password,
        person_email=person_email,
    )
