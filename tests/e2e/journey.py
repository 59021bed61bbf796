"""What a client and a member of staff do end to end, and what they then see.

A `Journey` wraps the tier's shared services (tests/e2e/conftest.py): it seeds a contract of
its own for each request, mails forms the way a client does (SMTP to the intake listener, or
into the Dovecot mailbox), approves through the CLI, and reads the replies the SMTP sink got.
"""

from __future__ import annotations

import io
import re
import smtplib
import zipfile
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any, ClassVar

from sqlmodel import select
from typer.testing import CliRunner

from flows.cli import app
from flows.demo import DEMO_FORMATS, ContractRef, form_attachment, form_email, form_values
from flows.deployments import FOUR_EYES
from forms import render_form
from handlers.credentials import verify_password
from handlers.models import (
    Application,
    ApplicationStatus,
    Contract,
    ContractFee,
    CustomerDetails,
    LedgerEntry,
    User,
)
from tests.support.prefect_env import PrefectEnv, SeededContract, seed_contract
from tests.support.smtp_sink import SmtpSink
from tests.support.staff import fresh_code

OPENING_BALANCE = Decimal("30.00")
cli = CliRunner()


def contract_ref(books: SeededContract) -> ContractRef:
    """The seeded contract as flows.demo fills forms for it."""
    return ContractRef(
        customer_name=books.customer_name,
        reg_no=books.reg_no,
        contract_no=books.contract_no,
        person_name=books.person_name,
        person_email=books.person_email,
        users=tuple(
            (username, f"Anna Kalniņa{number}")
            for number, username in enumerate(books.usernames, start=1)
        ),
        base_fee="100.00",
        domain=books.person_email.rsplit("@", 1)[1],
    )


@dataclass(frozen=True)
class Request:
    """One client's request in flight: its contract, the form's values and the raw e-mail."""

    form_type: str
    books: SeededContract
    values: dict[str, Any]
    raw: bytes

    @property
    def sender(self) -> str:
        """The authorized person who sends it."""
        return self.books.person_email


def text_of(message: EmailMessage) -> str:
    """The plain-text body of a reply."""
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    content: str = part.get_content()
    return content


def password_in(message: EmailMessage) -> str:
    """The temporary password a credentials e-mail carries."""
    found = re.search(r"Temporary password: (\S+)", text_of(message))
    assert found is not None, text_of(message)
    return found.group(1)


def zip_bomb_docx() -> bytes:
    """A real generated form whose document part inflates from ~40 KB to 40 MB of spaces."""
    source = zipfile.ZipFile(io.BytesIO(render_form("user_add", "docx")))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bomb:
        for item in source.infolist():
            if item.filename == "word/document.xml":
                bomb.writestr(item.filename, b" " * (40 * 1024 * 1024))
            else:
                bomb.writestr(item.filename, source.read(item))
    return buffer.getvalue()


@dataclass
class Journey:
    """The tier's served deployments, reply sink and intake listener, with a client's moves."""

    env: PrefectEnv
    sink: SmtpSink
    listen_port: int
    intake_address: ClassVar[str] = "pieteikumi@example.lv"

    # --- the client -------------------------------------------------------------------------

    def new_request(self, form_type: str) -> Request:
        """A fresh contract (3 users, the first with a balance) and its filled form by e-mail."""
        books = seed_contract(self.env, users=3)
        with self.env.uow() as uow:
            first = uow.session.exec(select(User).where(User.username == books.usernames[0])).one()
            assert first.id is not None
            uow.session.add(LedgerEntry(user_id=first.id, amount=OPENING_BALANCE, kind="opening"))
            uow.commit()
        tag = "." + books.contract_no.removeprefix("L-")
        values = form_values(form_type, contract_ref(books), today=date.today(), tag=tag)
        raw = form_email(
            sender=books.person_email,
            attachments=[form_attachment(form_type, values, DEMO_FORMATS[form_type])],
            message_id=make_msgid(domain="client.test"),
        )
        return Request(form_type, books, values, raw)

    def send_smtp(self, raw: bytes, sender: str) -> None:
        """Send an e-mail to the intake listener over SMTP, as the client's mail server does."""
        with smtplib.SMTP("127.0.0.1", self.listen_port, timeout=30) as client:
            client.sendmail(sender, [self.intake_address], raw)

    # --- the books --------------------------------------------------------------------------

    def applications(self, contract_no: str) -> list[Application]:
        """Every application naming the contract, oldest first."""
        with self.env.uow() as uow:
            rows = list(
                uow.session.exec(
                    select(Application)
                    .where(Application.contract_no == contract_no)
                    .order_by(Application.id)  # type: ignore[arg-type]
                )
            )
            uow.session.expunge_all()  # read after the unit of work ends
        return rows

    def application_of(self, request: Request) -> Application:
        """Wait for the one application the request's e-mail became."""
        found: list[Application] = self.env.wait_for(
            lambda: self.applications(request.books.contract_no),
            timeout=120,
            what=f"the {request.form_type} application",
        )
        (application,) = found
        return application

    def contract_state(self, contract_id: int) -> tuple[Any, ...]:
        """Everything a request could change about one contract, to compare before and after."""
        with self.env.uow() as uow:
            session = uow.session
            contract = session.get(Contract, contract_id)
            assert contract is not None
            users = sorted(
                (u.username, u.email, str(u.status), str(u.role))
                for u in session.exec(select(User).where(User.contract_id == contract_id))
            )
            fees = sorted(
                (str(f.valid_from), str(f.base_fee))
                for f in session.exec(
                    select(ContractFee).where(ContractFee.contract_id == contract_id)
                )
            )
            details = session.exec(
                select(CustomerDetails).where(CustomerDetails.customer_id == contract.customer_id)
            ).all()
            return (str(contract.status), contract.base_fee, users, fees, len(details))

    # --- staff ------------------------------------------------------------------------------

    def approve(self, application: Application, staff: str = "ilze") -> None:
        """Approve from the CLI (`docintake requests approve`), twice for four-eyes requests."""
        first = ["requests", "approve", application.reference, "--staff", staff]
        result = cli.invoke(app, [*first, "--code", fresh_code(staff)])
        assert result.exit_code == 0, result.output
        if application.form_type in FOUR_EYES:
            assert application.id is not None
            self.env.wait_for_resuspended(application.id, "decision-2")
            second = ["requests", "approve", application.reference, "--staff", "maris"]
            result = cli.invoke(app, [*second, "--code", fresh_code("maris")])
            assert result.exit_code == 0, result.output

    # --- the replies ------------------------------------------------------------------------

    def mail_to(self, address: str, subject_part: str, *, timeout: float = 120) -> EmailMessage:
        """Wait for a reply to `address` whose subject contains `subject_part`."""

        def arrived() -> EmailMessage | None:
            for message in self.sink.messages_to(address):
                if subject_part in str(message["Subject"]):
                    return message
            return None

        found: EmailMessage = self.env.wait_for(
            arrived, timeout=timeout, what=f"an e-mail to {address} about {subject_part!r}"
        )
        return found

    def user(self, **where: str) -> User:
        """The one user matching the given column values."""
        with self.env.uow() as uow:
            query = select(User)
            for column, value in where.items():
                query = query.where(getattr(User, column) == value)
            row = uow.session.exec(query).one()
            uow.session.expunge_all()
        return row

    def assert_logs_in(self, email: str) -> None:
        """The credentials e-mail to `email` carries a password that matches the stored hash."""
        message = self.mail_to(email, "Your login details")
        username = re.search(r"\(([^)]+)\)", str(message["Subject"]))
        assert username is not None
        user = self.user(username=username.group(1))
        assert user.email == email
        assert verify_password(user.password_hash, password_in(message))
        assert not verify_password(user.password_hash, password_in(message) + "x")

    def assert_carried_out(self, request: Request) -> None:
        """The application is applied, the books show it, and every reply arrived."""
        application = self.application_of(request)
        assert application.id is not None
        done = self.env.wait_for_status(
            application.id, ApplicationStatus.applied, ApplicationStatus.failed
        )
        assert done.status == ApplicationStatus.applied, (request.form_type, done.errors)
        reference = application.reference
        receipt = self.mail_to(request.sender, f"{reference}: iesniegums saņemts")
        assert reference in text_of(receipt)
        self.mail_to(request.sender, f"{reference}: iesniegums izpildīts")
        check_books(self, request)


def balance(journey: Journey, user_id: int) -> Decimal:
    """A user's balance: the sum of its ledger entries."""
    with journey.env.uow() as uow:
        entries = uow.session.exec(select(LedgerEntry).where(LedgerEntry.user_id == user_id))
        return sum((entry.amount for entry in entries), Decimal("0"))


def check_books(journey: Journey, request: Request) -> None:
    """The books changed as FORMS.md says the request does."""
    books, values, today = request.books, request.values, date.today()
    with journey.env.uow() as uow:
        contract = uow.session.get(Contract, books.contract_id)
        assert contract is not None
        uow.session.expunge_all()
    form_type = request.form_type
    if form_type == "user_change":
        old = journey.user(username=books.usernames[0])
        new = journey.user(email=values["new_email"])
        assert (str(old.status), str(old.blocked_reason)) == ("blocked", "own")
        assert (str(new.status), new.contract_id) == ("active", books.contract_id)
        assert new.id is not None
        assert old.id is not None
        assert (balance(journey, old.id), balance(journey, new.id)) == (Decimal(0), OPENING_BALANCE)
        journey.assert_logs_in(values["new_email"])
    elif form_type == "user_add":
        for row in values["users"]:
            added = journey.user(email=row["email"])
            assert (added.contract_id, str(added.role)) == (books.contract_id, "user")
            journey.assert_logs_in(row["email"])
    elif form_type == "user_block":
        blocked = journey.user(username=books.usernames[-1])
        assert (str(blocked.status), blocked.blocked_from) == ("blocked", today)
        assert str(journey.user(username=books.usernames[0]).status) == "active"
    elif form_type == "fee_increase":
        with journey.env.uow() as uow:
            fees = uow.session.exec(
                select(ContractFee).where(ContractFee.contract_id == books.contract_id)
            ).all()
            assert {(f.valid_from.isoformat(), f.base_fee) for f in fees} >= {
                (values["effective_from"], Decimal(values["new_fee"]))
            }
    elif form_type == "requisites_change":
        with journey.env.uow() as uow:
            details = uow.session.exec(
                select(CustomerDetails)
                .where(CustomerDetails.customer_id == contract.customer_id)
                .order_by(CustomerDetails.version)  # type: ignore[arg-type]
            ).all()
            latest = details[-1]
            assert len(details) == 2
            assert (latest.address, latest.iban) == (values["new_address"], values["new_iban"])
            assert latest.valid_from == today
            assert details[0].iban != latest.iban
    elif form_type == "contract_suspend":
        assert str(contract.status) == "suspended"
        assert contract.suspended_until is not None
        assert contract.suspended_until.isoformat() == values["date_to"]
        for username in books.usernames:
            user = journey.user(username=username)
            assert (str(user.status), str(user.blocked_reason)) == ("blocked", "suspension")
    elif form_type == "einvoice_access":
        accountant = journey.user(email=values["accountant_email"])
        assert (str(accountant.role), accountant.contract_id) == ("accountant", books.contract_id)
        journey.assert_logs_in(values["accountant_email"])
    else:
        raise AssertionError(f"no check for {form_type}")
