"""The books: SQLModel tables of customers, contracts, users, money, applications and mail.

Money is Decimal with two places; balances are sums of ledger entries, never a stored number.
Identifiers are English; Latvian lives only in labels and e-mail text.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, Numeric, UniqueConstraint
from sqlalchemy import true as sa_true
from sqlmodel import Field, SQLModel

MONEY = Numeric(12, 2)


def utcnow() -> datetime:
    """The current time in UTC (timezone-aware)."""
    return datetime.now(UTC)


class ContractStatus(enum.StrEnum):
    """Whether a contract's users may use the databases."""

    active = "active"
    suspended = "suspended"


class UserRole(enum.StrEnum):
    """A database user, or an accountant who sees invoices only."""

    user = "user"
    accountant = "accountant"


class UserStatus(enum.StrEnum):
    """Whether the user may log in."""

    active = "active"
    blocked = "blocked"


class BlockReason(enum.StrEnum):
    """Why a user is blocked: on its own, or because the contract is suspended."""

    own = "own"
    suspension = "suspension"


class ApplicationStatus(enum.StrEnum):
    """Where an application stands on its way from the mailbox to the books."""

    received = "received"
    invalid = "invalid"
    awaiting_approval = "awaiting_approval"
    approved = "approved"
    rejected = "rejected"
    applied = "applied"
    failed = "failed"
    expired = "expired"
    # A person cancelled the waiting run in the Prefect UI: the client is told, nothing applied.
    cancelled = "cancelled"


class MessageStatus(enum.StrEnum):
    """Where an incoming e-mail stands; `done`, `rejected` and `quarantined` are final."""

    received = "received"
    done = "done"
    rejected = "rejected"
    quarantined = "quarantined"


class OutboxStatus(enum.StrEnum):
    """Whether an outgoing e-mail has left."""

    pending = "pending"
    sent = "sent"
    failed = "failed"
    # Claimed by one deliverer and being sent; a stale claim (crashed sender) is taken again.
    sending = "sending"


class Customer(SQLModel, table=True):
    """A client company, known by its registration number."""

    id: int | None = Field(default=None, primary_key=True)
    reg_no: str = Field(unique=True, index=True, max_length=11)
    created_at: datetime = Field(default_factory=utcnow)


class CustomerDetails(SQLModel, table=True):
    """One dated version of a customer's name, address, VAT and bank details."""

    __tablename__ = "customer_details"
    __table_args__ = (UniqueConstraint("customer_id", "valid_from", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    version: int = 1
    valid_from: date
    name: str = Field(max_length=200)
    address: str | None = None
    vat_no: str | None = None
    bank: str | None = None
    swift: str | None = None
    iban: str | None = None
    application_id: int | None = Field(default=None, foreign_key="application.id")
    created_at: datetime = Field(default_factory=utcnow)


class Contract(SQLModel, table=True):
    """A subscription contract of a customer."""

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(unique=True, index=True, max_length=32)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    status: ContractStatus = ContractStatus.active
    suspended_from: date | None = None
    suspended_until: date | None = None
    base_fee: Decimal = Field(sa_column=Column(MONEY, nullable=False))
    per_user_fee: Decimal = Field(sa_column=Column(MONEY, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class ContractFee(SQLModel, table=True):
    """A base monthly fee valid from a month on; the newest version not after a date applies."""

    __tablename__ = "contract_fee"
    __table_args__ = (UniqueConstraint("contract_id", "valid_from"),)

    id: int | None = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="contract.id", index=True)
    valid_from: date
    base_fee: Decimal = Field(sa_column=Column(MONEY, nullable=False))
    application_id: int | None = Field(default=None, foreign_key="application.id")
    created_at: datetime = Field(default_factory=utcnow)


class AuthorizedPerson(SQLModel, table=True):
    """Someone who may submit applications for a contract."""

    __tablename__ = "authorized_person"

    id: int | None = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="contract.id", index=True)
    name: str
    email: str = Field(index=True)


class User(SQLModel, table=True):
    """A login of a contract: a database user or an accountant."""

    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="contract.id", index=True)
    username: str = Field(unique=True, index=True, max_length=64)
    first_name: str
    last_name: str
    personal_code: str | None = None
    position: str | None = None
    email: str = Field(index=True)
    phone: str | None = None
    role: UserRole = UserRole.user
    status: UserStatus = UserStatus.active
    blocked_reason: BlockReason | None = None
    blocked_from: date | None = None
    password_hash: str | None = None
    must_change_password: bool = True
    created_at: datetime = Field(default_factory=utcnow)
    application_id: int | None = Field(default=None, foreign_key="application.id")


class LedgerEntry(SQLModel, table=True):
    """One signed movement of money on a user's account; a balance is their sum."""

    __tablename__ = "ledger_entry"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    amount: Decimal = Field(sa_column=Column(MONEY, nullable=False))
    kind: str  # opening, top_up, usage, transfer_in, transfer_out
    description: str | None = None
    application_id: int | None = Field(default=None, foreign_key="application.id")
    request_key: str | None = Field(default=None, index=True)
    created_at: datetime = Field(default_factory=utcnow)


class Invoice(SQLModel, table=True):
    """An invoice, carrying the customer's details as they were when it was issued."""

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(unique=True, index=True)
    year: int
    sequence: int
    kind: str  # subscription, top_up
    contract_id: int = Field(foreign_key="contract.id", index=True)
    user_id: int | None = Field(default=None, foreign_key="app_user.id")
    amount: Decimal = Field(sa_column=Column(MONEY, nullable=False))
    issued_on: date
    customer_details: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    recipients: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # VAT in per cent, fixed when issued; `amount` is the net amount (VAT is added to it).
    vat_rate: Decimal = Field(
        default=Decimal("21.00"), sa_column=Column(Numeric(5, 2), nullable=False, default=21)
    )
    due_on: date | None = None
    created_at: datetime = Field(default_factory=utcnow)

    __table_args__ = (UniqueConstraint("year", "sequence"),)


class InboundMessage(SQLModel, table=True):
    """One e-mail as received; its raw bytes are stored under messages/ by sha256."""

    __tablename__ = "inbound_message"

    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(unique=True, index=True, max_length=64)
    # Not unique: scanners and copiers reuse Message-IDs, and a stranger could take a client's
    # on purpose; only the same bytes make the same message.
    message_id: str | None = Field(default=None, index=True)
    source: str  # dropdir, imap, smtp
    from_addr: str | None = None
    to_addr: str | None = None
    subject: str | None = None
    received_at: datetime = Field(default_factory=utcnow)
    status: MessageStatus = MessageStatus.received
    reason: str | None = None
    size: int = 0
    # Tries to read it; a message that failed MAX_ATTEMPTS times is quarantined (no poison).
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # Whether our boundary vouched for the From address, and on what (for staff).
    sender_verified: bool | None = None
    auth_detail: str | None = None
    # An earlier message with the same Message-ID but other bytes (flagged to staff).
    same_message_id_as: int | None = Field(default=None, foreign_key="inbound_message.id")


class Application(SQLModel, table=True):
    """One form received: parsed fields, where it stands, and the flow run that carries it."""

    __table_args__ = (UniqueConstraint("message_id", "attachment_index"),)

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(unique=True, index=True)  # LUR-2026-000123
    message_id: int | None = Field(default=None, foreign_key="inbound_message.id", index=True)
    attachment_index: int = 0
    filename: str | None = None
    document_sha256: str = Field(index=True, max_length=64)
    form_type: str | None = Field(default=None, index=True)
    reg_no: str | None = Field(default=None, index=True)
    contract_no: str | None = Field(default=None, index=True)
    contract_id: int | None = Field(default=None, foreign_key="contract.id", index=True)
    sender: str | None = None
    # False when the sender was read without proof (DOCINTAKE_SENDER_VERIFICATION=flag): staff
    # see "sender not verified" and the approval takes two of them.
    sender_verified: bool = Field(default=True, sa_column_kwargs={"server_default": sa_true()})
    fields: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    errors: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    warnings: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    status: ApplicationStatus = Field(default=ApplicationStatus.received, index=True)
    duplicate_of: int | None = Field(default=None, foreign_key="application.id")
    flow_run_id: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Approval(SQLModel, table=True):
    """One staff decision on an application."""

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    decision: str  # approve, reject
    staff: str
    comment: str | None = None
    decided_at: datetime = Field(default_factory=utcnow)


class AuditEvent(SQLModel, table=True):
    """Who changed what, with the values before and after."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    actor: str
    action: str
    entity: str
    entity_id: str | None = None
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    application_id: int | None = Field(default=None, foreign_key="application.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)


class OutboxMessage(SQLModel, table=True):
    """An e-mail to send, written in the same transaction as the change it reports.

    It holds the template and its context, never a password: credentials are minted at
    delivery time.
    """

    __tablename__ = "outbox_message"
    __table_args__ = (UniqueConstraint("dedupe_key", "template", "recipient"),)

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str  # application reference or self-service request key
    template: str
    recipient: str
    cc: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    context: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    attachments: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )  # paths under home, e.g. blank forms
    application_id: int | None = Field(default=None, foreign_key="application.id", index=True)
    status: OutboxStatus = Field(default=OutboxStatus.pending, index=True)
    attempts: int = 0
    last_error: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
    claimed_at: datetime | None = None  # when a deliverer took the row (status sending/failed)
    # Threading: our Message-ID (set when first claimed, kept for every retry) and the client's
    # message this one answers (In-Reply-To, References).
    message_id: str | None = Field(default=None, unique=True, index=True, max_length=300)
    in_reply_to: str | None = Field(default=None, max_length=1000)
    thread_references: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )


class ClientAnswer(SQLModel, table=True):
    """A client's e-mail without a form answering one of our mails: kept for staff to read."""

    __tablename__ = "client_answer"

    id: int | None = Field(default=None, primary_key=True)
    inbound_message_id: int = Field(foreign_key="inbound_message.id", unique=True)
    # None when it answers a mail about no application (a "no form" reply, say).
    application_id: int | None = Field(default=None, foreign_key="application.id", index=True)
    from_addr: str
    subject: str | None = None
    text: str = ""
    matched_by: str  # message_id or reference
    received_at: datetime = Field(default_factory=utcnow)


class PasswordResetToken(SQLModel, table=True):
    """A one-time, expiring password reset token, stored only as a hash."""

    __tablename__ = "password_reset_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    token_hash: str = Field(unique=True)
    expires_at: datetime
    used_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class OperationRecord(SQLModel, table=True):
    """The first result of an idempotent operation, keyed by application id or request key."""

    __tablename__ = "operation_record"
    __table_args__ = (UniqueConstraint("operation", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    operation: str
    key: str
    result: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class Counter(SQLModel, table=True):
    """Sequences kept in the database (reference and invoice numbers per year)."""

    name: str = Field(primary_key=True)
    value: int = 0


class ImapMailboxState(SQLModel, table=True):
    """How far the intake has read one IMAP folder: its UIDVALIDITY and the last UID taken."""

    __tablename__ = "imap_mailbox_state"

    id: int | None = Field(default=None, primary_key=True)
    mailbox: str = Field(unique=True, max_length=300)  # user@host:port/folder
    uidvalidity: int
    last_uid: int = 0
    updated_at: datetime = Field(default_factory=utcnow)


class Staff(SQLModel, table=True):
    """A staff member who decides on applications, proving it with a time-based one-time code.

    The TOTP secret is stored encrypted (Fernet, key from settings); `last_time_step` is the
    30-second step of the last code accepted, so each code works once.
    """

    __tablename__ = "staff"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, index=True, max_length=64)
    full_name: str = Field(max_length=200)
    email: str
    totp_secret: str  # encrypted; never logged, never in a Prefect result
    active: bool = True
    failed_codes: int = 0
    locked: bool = False
    last_time_step: int | None = None
    created_at: datetime = Field(default_factory=utcnow)


class PortalCredential(SQLModel, table=True):
    """An authorized person's sign-in to the portal: an argon2 hash, enrolled by a reset link."""

    __tablename__ = "portal_credential"

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="authorized_person.id", unique=True, index=True)
    password_hash: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class PortalToken(SQLModel, table=True):
    """A one-time portal link (an authorized person's password, an e-mail change), as a hash."""

    __tablename__ = "portal_token"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, max_length=64)
    purpose: str  # person_password, email_change
    person_id: int | None = Field(default=None, foreign_key="authorized_person.id", index=True)
    user_id: int | None = Field(default=None, foreign_key="app_user.id", index=True)
    new_email: str | None = None
    expires_at: datetime
    used_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class PortalSession(SQLModel, table=True):
    """A signed-in browser: the cookie's sha256, who it is, and its CSRF token."""

    __tablename__ = "portal_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, max_length=64)
    csrf_token: str = Field(max_length=64)
    # Empty until the role is chosen: then the candidates wait in `choices`.
    principal_kind: str | None = None  # user, person
    principal_id: int | None = None
    choices: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow, index=True)


class PortalThrottle(SQLModel, table=True):
    """Failed sign-ins counted per account or per client address, and the lock they earn."""

    __tablename__ = "portal_throttle"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=200)  # account:<sha256>, address:<ip>
    failures: int = 0
    window_started_at: datetime = Field(default_factory=utcnow)
    locked_until: datetime | None = None
