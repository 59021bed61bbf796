"""Seed the books directly with the models: a customer, its contract, people and users.

Tests of any package may use it::

    seeded = seed_contract(uow)  # SIA "Ozols", contract L-2019/0123, one authorized person
"""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import docx

from forms.catalogue import form_by_code
from handlers.db import UnitOfWork
from handlers.models import (
    Application,
    ApplicationStatus,
    AuthorizedPerson,
    Contract,
    Customer,
    CustomerDetails,
    User,
)
from intake.senders import Trust, Verification

OZOLS_REG_NO = "40003056133"
OZOLS_CONTRACT = "L-2019/0123"
OZOLS_NAME = 'SIA "Ozols"'
ANNA = ("Anna Kalniņa", "anna.kalnina@ozols.lv")


@dataclass(frozen=True)
class SeededUser:
    """A user to seed: username, names and e-mail."""

    username: str
    first_name: str
    last_name: str
    email: str


@dataclass
class Seeded:
    """Ids of what was seeded."""

    customer_id: int
    contract_id: int
    authorized_person_ids: list[int] = field(default_factory=list)
    user_ids: list[int] = field(default_factory=list)


DEFAULT_USERS = (
    SeededUser("jberzins", "Jānis", "Bērziņš", "janis.berzins@ozols.lv"),
    SeededUser("lozola", "Līga", "Ozola", "liga.ozola@ozols.lv"),
)


def seed_contract(
    uow: UnitOfWork,
    *,
    reg_no: str = OZOLS_REG_NO,
    name: str = OZOLS_NAME,
    contract_no: str = OZOLS_CONTRACT,
    base_fee: Decimal = Decimal("100.00"),
    per_user_fee: Decimal = Decimal("20.00"),
    authorized: tuple[tuple[str, str], ...] = (ANNA,),
    users: tuple[SeededUser, ...] = DEFAULT_USERS,
    valid_from: date = date(2019, 1, 1),
) -> Seeded:
    """A customer with its details, one active contract, its authorized persons and users."""
    with uow:
        session = uow.session
        customer = Customer(reg_no=reg_no)
        session.add(customer)
        session.flush()
        assert customer.id is not None
        session.add(
            CustomerDetails(
                customer_id=customer.id,
                valid_from=valid_from,
                name=name,
                address="Brīvības iela 1, Rīga, LV-1010",
                vat_no=f"LV{reg_no}",
            )
        )
        contract = Contract(
            number=contract_no,
            customer_id=customer.id,
            base_fee=base_fee,
            per_user_fee=per_user_fee,
        )
        session.add(contract)
        session.flush()
        assert contract.id is not None
        seeded = Seeded(customer_id=customer.id, contract_id=contract.id)
        for person_name, email in authorized:
            person = AuthorizedPerson(contract_id=contract.id, name=person_name, email=email)
            session.add(person)
            session.flush()
            assert person.id is not None
            seeded.authorized_person_ids.append(person.id)
        for spec in users:
            user = User(
                contract_id=contract.id,
                username=spec.username,
                first_name=spec.first_name,
                last_name=spec.last_name,
                email=spec.email,
            )
            session.add(user)
            session.flush()
            assert user.id is not None
            seeded.user_ids.append(user.id)
        uow.commit()
        return seeded


# What every form of SIA "Ozols" carries (FORMS.md, the common block), signed by Anna.
FORM_COMMON: dict[str, Any] = {
    "customer_name": 'SIA "Ozols"',
    "reg_no": OZOLS_REG_NO,
    "contract_no": OZOLS_CONTRACT,
    "submitter_name": "Anna Kalnina",
    "submitter_email": "anna@kontakti.lv",
    "signed_date": "2026-11-20",
}
_REFERENCES = itertools.count(1)


def application_row(
    uow: UnitOfWork,
    form_type: str,
    status: ApplicationStatus = ApplicationStatus.approved,
    **fields: Any,
) -> int:
    """An application of Anna's with the common block and these fields; its id."""
    with uow:
        row = Application(
            reference=f"LUR-2026-{next(_REFERENCES):06d}",
            document_sha256="0" * 64,
            form_type=form_type,
            fields={**FORM_COMMON, **fields},
            sender=ANNA[1],
            status=status,
        )
        uow.session.add(row)
        uow.commit()
        assert row.id is not None
        return row.id


# --- Mail that refers to the books: filled forms and the e-mails carrying them. -------------

INTAKE_ADDRESS = "pieteikumi@example.lv"
# The receiving mail server the tests' intake trusts (DOCINTAKE_TRUSTED_AUTHSERV_IDS).
MX_AUTHSERV_ID = "mx.example.lv"
MX_TRUST = Trust(level=Verification.require, trusted_authserv_ids=(MX_AUTHSERV_ID,))
STAFF_ADDRESS = "staff@example.lv"


def fee_increase_values(**overrides: str) -> dict[str, str]:
    """Field values (by key) of a valid fee-increase form of the seeded contract."""
    values = {
        "customer_name": OZOLS_NAME,
        "reg_no": OZOLS_REG_NO,
        "contract_no": OZOLS_CONTRACT,
        "submitter_name": ANNA[0],
        "submitter_email": ANNA[1],
        "signed_date": "20.11.2026",
        "new_fee": "150,00",
    }
    values.update(overrides)
    return values


def _labelled(code: str, values: dict[str, str]) -> list[tuple[str, str]]:
    form = form_by_code(code)
    assert form is not None
    return [(form.field(key).label, value) for key, value in values.items()]


def form_docx(code: str, values: dict[str, str]) -> bytes:
    """A filled form as Word writes it: the code line, then a label | value table."""
    form = form_by_code(code)
    assert form is not None
    document = docx.Document()
    document.add_paragraph(form.title)
    document.add_paragraph(f"Veidlapas kods / Form code: {code}")
    rows = _labelled(code, values)
    table = document.add_table(rows=len(rows), cols=2)
    for row, (label, value) in zip(table.rows, rows, strict=True):
        row.cells[0].text = label
        row.cells[1].text = value
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _rtf_escape(text: str) -> str:
    out = []
    for char in text:
        if char in "\\{}":
            out.append("\\" + char)
        elif ord(char) > 127:
            out.append(f"\\u{ord(char)}?")
        else:
            out.append(char)
    return "".join(out)


def form_rtf(code: str, values: dict[str, str]) -> bytes:
    """A filled form hand-written in RTF: `Label: value` paragraphs."""
    form = form_by_code(code)
    assert form is not None
    lines = [form.title, f"Veidlapas kods / Form code: {code}"]
    lines += [f"{label}: {value}" for label, value in _labelled(code, values)]
    body = "\\par\n".join(_rtf_escape(line) for line in lines)
    return ("{\\rtf1\\ansi\\deff0 " + body + "\\par\n}").encode("ascii")


DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def make_message(
    *,
    from_addr: str = ANNA[1],
    to: str = INTAKE_ADDRESS,
    subject: str = "Iesniegums",
    attachments: tuple[tuple[str, bytes], ...] = (),
    message_id: str | None = None,
    headers: tuple[tuple[str, str], ...] = (),
    body: str = "Labdien, pielikumā iesniegums.",
    verified: bool = True,
) -> bytes:
    """A raw e-mail with the given attachments (file name, bytes).

    `verified`: the trusted receiving server (MX_AUTHSERV_ID) stamped an aligned DMARC pass
    for the From domain on top, as a provider's MTA does.
    """
    message = EmailMessage()
    message["From"] = from_addr
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = message_id or make_msgid(domain="ozols.lv")
    for name, value in headers:
        message[name] = value
    message.set_content(body)
    for filename, data in attachments:
        if filename.endswith(".docx"):
            maintype, subtype = DOCX_TYPE.split("/")
        else:
            maintype, subtype = "application", "octet-stream"
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    # Mail on the wire has CRLF line ends (SMTP refuses bare-LF "lines" of a whole message).
    raw = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
    if not verified:
        return raw
    # Prepended as the receiving MTA does, above everything the sender wrote.
    domain = from_addr.rpartition("@")[2].strip(" >")
    stamp = f"{MX_AUTHSERV_ID}; dkim=pass header.d={domain}; dmarc=pass header.from={domain}"
    return f"Authentication-Results: {stamp}\r\n".encode() + raw
