"""The demo: its books (flows/demo_data/books.json) and the filled sample e-mails it sends.

Everything here builds values and bytes; the e2e tests reuse `form_values` and `form_email`
against contracts of their own, so the demo and the tests send the same kind of mail.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal

from forms import render_form
from forms.catalogue import FORM_CODES
from handlers import views
from handlers.books import ImportReport, Progress, import_file
from handlers.db import UnitOfWork
from handlers.portal_people import issue_demo_passwords
from intake.sources.dropdir import deliver

DEMO_BOOKS = Path(__file__).parent / "demo_data" / "books.json"
INTAKE_ADDRESS = "pieteikumi@example.lv"
DOCX_TYPE = ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document")
RTF_TYPE = ("application", "rtf")
FORM_TYPES = FORM_CODES  # one sample per form, in the catalogue's order


@dataclass(frozen=True)
class ContractRef:
    """What a filled form needs to know about a contract in the books."""

    customer_name: str
    reg_no: str
    contract_no: str
    person_name: str
    person_email: str
    # (username, "First Last") of active users with the role `user`, in the books' order.
    users: tuple[tuple[str, str], ...]
    base_fee: str
    domain: str


@dataclass(frozen=True)
class SampleMail:
    """One sample e-mail: what it carries and its raw bytes."""

    name: str
    form_type: str
    valid: bool
    raw: bytes


# Which demo customer sends which request: the demo shows all seven on three contracts.
DEMO_SENDERS: dict[str, str] = {
    "user_change": "L-2019/0123",
    "user_add": "L-2019/0123",
    "user_block": "L-2019/0123",
    "fee_increase": "L-2021/0456",
    "requisites_change": "L-2021/0456",
    "einvoice_access": "L-2021/0456",
    "contract_suspend": "L-2023/0789",
}
# Word for some, RTF for others: the demo shows both formats are read.
DEMO_FORMATS: dict[str, Literal["docx", "rtf"]] = {
    "user_change": "docx",
    "user_add": "docx",
    "user_block": "rtf",
    "fee_increase": "rtf",
    "requisites_change": "docx",
    "contract_suspend": "rtf",
    "einvoice_access": "docx",
}


def demo_contracts(path: Path = DEMO_BOOKS) -> dict[str, ContractRef]:
    """The demo books' contracts, by number."""
    data = json.loads(path.read_text(encoding="utf-8"))
    found: dict[str, ContractRef] = {}
    for customer in data["customers"]:
        for contract in customer["contracts"]:
            person = contract["authorized_persons"][0]
            users = tuple(
                (u["username"], f"{u['first_name']} {u['last_name']}")
                for u in contract["users"]
                if u["role"] == "user" and u["status"] == "active"
            )
            found[contract["number"]] = ContractRef(
                customer_name=customer["name"],
                reg_no=customer["reg_no"],
                contract_no=contract["number"],
                person_name=person["name"],
                person_email=person["email"],
                users=users,
                base_fee=contract["base_fee"],
                domain=person["email"].rsplit("@", 1)[1],
            )
    return found


def _first_of_next_month(today: date) -> date:
    return (today.replace(day=1) + timedelta(days=32)).replace(day=1)


def _raised(fee: str) -> str:
    return str((Decimal(fee) * Decimal("1.25")).quantize(Decimal("0.01")))


def common_values(contract: ContractRef, *, today: date) -> dict[str, Any]:
    """The common block of every form, filled for this contract's authorized person."""
    return {
        "customer_name": contract.customer_name,
        "reg_no": contract.reg_no,
        "contract_no": contract.contract_no,
        "submitter_name": contract.person_name,
        "submitter_position": "Valdes loceklis",
        "submitter_email": contract.person_email,
        "submitter_phone": "+37129123456",
        "signed_date": (today - timedelta(days=1)).isoformat(),
    }


def form_values(
    form_type: str, contract: ContractRef, *, today: date, tag: str = ""
) -> dict[str, Any]:
    """A valid filling of `form_type` for the contract; `tag` keeps new e-mails unique."""
    domain = contract.domain

    def mail(name: str) -> str:
        return f"{name}{tag}@{domain}"

    values = common_values(contract, today=today)
    if form_type == "user_change":
        username, full_name = contract.users[0]
        values |= {
            "old_username": username,
            "old_user_name": full_name,
            "new_first_name": "Marta",
            "new_last_name": "Egle",
            "new_personal_code": None,
            "new_position": "Juriste",
            "new_email": mail("marta.egle"),
            "new_phone": "+37126000001",
        }
    elif form_type == "user_add":
        values["users"] = [
            {
                "first_name": first,
                "last_name": last,
                "personal_code": None,
                "position": position,
                "email": mail(f"{first}.{last}".lower()),
                "phone": None,
            }
            for first, last, position in (("Toms", "Kalns", "Analītiķis"), ("Zane", "Priede", None))
        ]
    elif form_type == "user_block":
        username, full_name = contract.users[-1]
        values |= {"block_from": None, "users": [{"name": full_name, "username": username}]}
    elif form_type == "fee_increase":
        values |= {
            "current_fee": contract.base_fee,
            "new_fee": _raised(contract.base_fee),
            "effective_from": _first_of_next_month(today).isoformat(),
        }
    elif form_type == "requisites_change":
        values |= {
            "new_name": None,
            "new_address": "Krišjāņa Valdemāra iela 21, Rīga, LV-1010",
            "new_vat_no": None,
            "new_bank": "Swedbank",
            "new_swift": "HABALV22",
            "new_iban": "LV87HABA0551012345678",
            "effective_from": None,
        }
    elif form_type == "contract_suspend":
        values |= {
            "action": "suspend",
            "date_from": None,
            "date_to": (today + timedelta(days=90)).isoformat(),
        }
    elif form_type == "einvoice_access":
        values |= {
            "accountant_first_name": "Inese",
            "accountant_last_name": "Bērziņa",
            "accountant_email": mail("gramatvediba"),
            "accountant_phone": "+37167000000",
        }
    else:
        raise ValueError(f"unknown form type {form_type!r}")
    return values


def invalid_reg_no(reg_no: str) -> str:
    """The registration number with a wrong check digit (the form then fails its checksum)."""
    return reg_no[:-1] + str((int(reg_no[-1]) + 1) % 10)


def form_email(
    *,
    sender: str,
    attachments: list[tuple[str, bytes]],
    message_id: str,
    subject: str = "Iesniegums / Application",
    to: str = INTAKE_ADDRESS,
    body: str = "Labdien! Pielikumā aizpildīts iesniegums.\n\nHello, the filled form is attached.",
) -> bytes:
    """A client's e-mail with the given attachments (file name, bytes), as it travels (CRLF)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message.set_content(body)
    for filename, data in attachments:
        if filename.endswith(".docx"):
            maintype, subtype = DOCX_TYPE
        elif filename.endswith(".rtf"):
            maintype, subtype = RTF_TYPE
        else:
            maintype, subtype = "application", "octet-stream"
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


def form_attachment(
    form_type: str, values: dict[str, Any], fmt: Literal["docx", "rtf"] = "docx"
) -> tuple[str, bytes]:
    """The filled form as a file: its name and bytes, made by forms.render_form."""
    return (f"iesniegums-{form_type}.{fmt}", render_form(form_type, fmt, values))


def sample_mails(*, today: date, batch: str = "1") -> list[SampleMail]:
    """One filled e-mail per request type from the demo contracts, and one with a bad reg. no.

    Message-IDs depend on `batch` only, so sending the same batch twice is taken once.
    """
    contracts = demo_contracts()
    mails: list[SampleMail] = []
    for form_type in FORM_TYPES:
        contract = contracts[DEMO_SENDERS[form_type]]
        values = form_values(form_type, contract, today=today)
        raw = form_email(
            sender=contract.person_email,
            attachments=[form_attachment(form_type, values, DEMO_FORMATS[form_type])],
            message_id=f"<demo-{batch}-{form_type}@docintake.demo>",
        )
        mails.append(SampleMail(form_type, form_type, True, raw))
    contract = contracts["L-2023/0789"]
    values = form_values("user_add", contract, today=today)
    values["reg_no"] = invalid_reg_no(contract.reg_no)
    raw = form_email(
        sender=contract.person_email,
        attachments=[form_attachment("user_add", values, "docx")],
        message_id=f"<demo-{batch}-bad-reg-no@docintake.demo>",
    )
    mails.append(SampleMail("user_add (invalid registration number)", "user_add", False, raw))
    return mails


def drop_mails(inbox: Path, mails: list[SampleMail]) -> list[Path]:
    """Put the mails into the drop folder, each atomically; the files written."""
    inbox.mkdir(parents=True, exist_ok=True)
    return [deliver(inbox, mail.raw) for mail in mails]


def books_empty(*, uow: UnitOfWork) -> bool:
    """True when the accounts database holds no customer yet."""
    return views.customer_count(uow=uow) == 0


# Demo logins with a password to try in the portal: a user and an accountant the samples leave
# alone, and the authorized person whose contract the samples write to.
DEMO_PORTAL_USERS = ("lozola", "ivitola")
DEMO_PORTAL_PEOPLE = ("anna.kalnina@ozols.lv",)


def portal_users(*, uow: UnitOfWork) -> list[dict[str, str]]:
    """New passwords for the demo's portal logins (`username`, `password`, `role` each)."""
    return issue_demo_passwords(DEMO_PORTAL_USERS, DEMO_PORTAL_PEOPLE, uow=uow)


def seed(*, uow: UnitOfWork, today: date, progress: Progress | None = None) -> ImportReport:
    """Import the demo books through the books import; a second run changes nothing."""
    return import_file(DEMO_BOOKS, uow=uow, today=today, progress=progress)
