"""Replies as clients read them, from a real SMTP server: words, formats, threads, invoices."""

from __future__ import annotations

import asyncio
import itertools
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from flows.cli import app as cli
from flows.common import deliver_due_mail
from flows.review import review_markdown
from flows.settings import Settings
from handlers.accounts import top_up
from handlers.commands import TopUp
from handlers.db import UnitOfWork, create_all, make_engine
from handlers.models import (
    Application,
    ApplicationStatus,
    CustomerDetails,
    InboundMessage,
    MessageStatus,
)
from handlers.operations import apply_application
from handlers.threads import client_answers
from handlers.views import review_view
from intake.pipeline import process_message
from tests.support import cheap_hashing, give_balances
from tests.support.books import (
    ANNA,
    MX_TRUST,
    OZOLS_CONTRACT,
    OZOLS_REG_NO,
    STAFF_ADDRESS,
    Seeded,
    fee_increase_values,
    form_rtf,
    make_message,
    seed_contract,
)
from tests.support.smtp_sink import SmtpSink

TODAY = date(2026, 11, 25)
COMMON = {
    "customer_name": "sia ozols",  # the client's spelling; the books say SIA "Ozols"
    "reg_no": OZOLS_REG_NO,
    "contract_no": OZOLS_CONTRACT,
    "submitter_name": "Anna Kalniņa",
    "submitter_email": ANNA[1],
    "signed_date": "2026-11-20",
}
_NUMBERS = itertools.count(1)


@dataclass
class Office:
    """The books, the settings pointing at the SMTP sink, and the sink itself."""

    uow: UnitOfWork
    settings: Settings
    sink: SmtpSink
    seeded: Seeded

    def deliver(self) -> list[EmailMessage]:
        """Send what the outbox holds, as serve does; every message the sink has so far."""
        report = asyncio.run(deliver_due_mail(self.settings))
        assert report.failed == 0, report.errors
        return self.sink.messages

    def process(self, raw: bytes) -> Any:
        """Take one raw e-mail through the intake, as the drop folder would."""
        return process_message(
            raw,
            source="test",
            uow_factory=lambda: UnitOfWork(self.uow.engine),
            home=self.settings.home,
            today=TODAY,
            staff_email=STAFF_ADDRESS,
            trust=MX_TRUST,
        )


@pytest.fixture
def office(tmp_path: Path, smtp_sink: SmtpSink) -> Iterator[Office]:
    """SIA "Ozols" in a fresh SQLite book (50,00 EUR on each user), mail to a real SMTP sink."""
    url = f"sqlite:///{tmp_path / 'books.db'}"
    engine = make_engine(url)
    create_all(engine)
    uow = UnitOfWork(engine)
    seeded = seed_contract(uow)
    give_balances(uow)
    settings = Settings(
        home=tmp_path / "var",
        database_url=url,
        smtp_host=smtp_sink.host,
        smtp_port=smtp_sink.port,
        smtp_starttls=False,
        staff_email=STAFF_ADDRESS,
        login_url="https://abonenti.example.lv/ienakt",
    )
    settings.home.mkdir()
    with cheap_hashing():
        yield Office(uow, settings, smtp_sink, seeded)
    engine.dispose()


def _text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def _halves(message: EmailMessage) -> tuple[str, str]:
    lv, _, en = _text(message).partition("\n---\n")
    return lv, en


def _received(office: Office, form_type: str, **fields: Any) -> tuple[int, str]:
    """An approved application that came in a client's message; its id and that Message-ID."""
    number = next(_NUMBERS)
    client_message_id = f"<client-{number}@ozols.lv>"
    with office.uow:
        message = InboundMessage(
            sha256=f"{number:064d}",
            message_id=client_message_id,
            source="test",
            from_addr=ANNA[1],
            status=MessageStatus.done,
        )
        office.uow.session.add(message)
        office.uow.session.flush()
        row = Application(
            reference=f"LUR-2026-{900000 + number:06d}",
            message_id=message.id,
            document_sha256="0" * 64,
            form_type=form_type,
            fields={**COMMON, **fields},
            sender=ANNA[1],
            status=ApplicationStatus.approved,
        )
        office.uow.session.add(row)
        office.uow.commit()
        assert row.id is not None
        return row.id, client_message_id


def _confirmation(office: Office, form_type: str, **fields: Any) -> tuple[EmailMessage, str]:
    application_id, client_message_id = _received(office, form_type, **fields)
    result = apply_application(application_id, uow=office.uow, today=TODAY, actor="staff:ilze")
    assert result.ok, result
    office.deliver()
    [mail] = [m for m in office.sink.messages_to(ANNA[1]) if "izpildīts" in str(m["Subject"])][-1:]
    return mail, client_message_id


# (form type, fields, Latvian lines, English lines) — each says before → after.
CONFIRMATIONS = [
    (
        "user_change",
        {
            "old_username": "jberzins",
            "old_user_name": "Jānis Bērziņš",
            "new_first_name": "Inese",
            "new_last_name": "Kalna",
            "new_email": "inese.kalna@ozols.lv",
        },
        [
            "Lietotājs jberzins (Jānis Bērziņš): aktīvs → bloķēts no 25.11.2026.",
            "Jauns lietotājs ikalna (Inese Kalna): reģistrēts; lietotāja rekvizīti nosūtīti uz"
            " inese.kalna@ozols.lv",
            "jberzins 50,00 EUR → 0,00 EUR, ikalna 0,00 EUR → 50,00 EUR",
        ],
        ["User jberzins (Jānis Bērziņš): active → blocked from 25 November 2026"],
    ),
    (
        "user_add",
        {"users": [{"first_name": "Ieva", "last_name": "Liepa", "email": "ieva@ozols.lv"}]},
        [
            "Jauns lietotājs iliepa (Ieva Liepa): reģistrēts",
            "Ikmēneša rēķina summa no 25.11.2026.: 140,00 EUR → 160,00 EUR.",
        ],
        ["Monthly invoice amount from 25 November 2026: 140.00 EUR → 160.00 EUR."],
    ),
    (
        "user_block",
        {"users": [{"name": "Līga Ozola", "username": "lozola"}], "block_from": "2026-12-01"},
        [
            "Lietotājs lozola (Līga Ozola): aktīvs → bloķēts no 01.12.2026.",
            "Ikmēneša rēķina summa no 01.12.2026.: 140,00 EUR → 120,00 EUR.",
            "Līdz 01.12.2026. šie lietotāji var turpināt darbu.",
        ],
        ["User lozola (Līga Ozola): active → blocked from 1 December 2026."],
    ),
    (
        "fee_increase",
        {"new_fee": "200.00", "effective_from": None},
        [
            "Abonentmaksa mēnesī no 01.12.2026.: 100,00 EUR → 200,00 EUR.",
            "Ikmēneša rēķina summa no 01.12.2026.: 240,00 EUR",
        ],
        ["Monthly subscription fee from 1 December 2026: 100.00 EUR → 200.00 EUR."],
    ),
    (
        "requisites_change",
        {"new_name": 'SIA "Ozols un Bērzs"', "new_address": "Dzirnavu iela 5, Rīga"},
        [
            'Jaunais nosaukums: SIA "Ozols" → SIA "Ozols un Bērzs"',
            "Jaunā juridiskā adrese: Brīvības iela 1, Rīga, LV-1010 → Dzirnavu iela 5, Rīga",
            "Jaunie rekvizīti ir spēkā no 25.11.2026.",
        ],
        ['New name: SIA "Ozols" → SIA "Ozols un Bērzs"'],
    ),
    (
        "contract_suspend",
        {"action": "suspend", "date_from": None, "date_to": "2027-01-31"},
        [
            "Līgums Nr. L-2019/0123: aktīvs → darbība pārtraukta no 25.11.2026. līdz 31.01.2027.",
            "Līguma darbības pārtraukšanas dēļ bloķēti lietotāji: jberzins, lozola.",
            "31.01.2027. līguma darbība tiks atjaunota automātiski, un šie lietotāji tiks"
            " atbloķēti.",
        ],
        ["Contract No. L-2019/0123: active → suspended from 25 November 2026 until"],
    ),
    (
        "einvoice_access",
        {
            "accountant_first_name": "Inese",
            "accountant_last_name": "Grāmata",
            "accountant_email": "gramatvede@ozols.lv",
        },
        [
            "Jauns lietotājs igramata (Inese Grāmata) ar lomu „grāmatvedis”: reģistrēts",
            "turpmāk paziņojumi par rēķiniem tiks sūtīti arī uz šo adresi",
        ],
        ["with the accountant role"],
    ),
]


@pytest.mark.parametrize(
    ("form_type", "fields", "lines_lv", "lines_en"),
    CONFIRMATIONS,
    ids=[c[0] for c in CONFIRMATIONS],
)
def test_each_confirmation_says_before_and_after_in_latvian_formats(
    office: Office,
    form_type: str,
    fields: dict[str, Any],
    lines_lv: list[str],
    lines_en: list[str],
) -> None:
    """The confirmation names the company as the books do and says what changed and what follows."""
    mail, client_message_id = _confirmation(office, form_type, **fields)
    lv, en = _halves(mail)
    for line in lines_lv:
        assert line in lv, (line, lv)
    for line in lines_en:
        assert line in en, (line, en)
    books_name = fields.get("new_name", 'SIA "Ozols"')  # a new name is in force from today
    assert f"{books_name}, līgums Nr. L-2019/0123" in lv
    assert "sia ozols" not in lv
    assert mail["In-Reply-To"] == client_message_id
    assert client_message_id in str(mail["References"])


def test_resume_confirms_the_users_unblocked(office: Office) -> None:
    """Resuming says suspended → active and names exactly the users the suspension blocked."""
    _confirmation(office, "contract_suspend", action="suspend", date_from=None, date_to=None)
    mail, _ = _confirmation(office, "contract_suspend", action="resume")
    lv, en = _halves(mail)
    assert "Līgums Nr. L-2019/0123: darbība pārtraukta → aktīvs" in lv
    assert "Atbloķēti lietotāji: jberzins, lozola." in lv
    assert "Users unblocked: jberzins, lozola." in en


def test_credentials_name_provider_company_contract_login_and_the_password_change(
    office: Office,
) -> None:
    """The new user learns who the provider is, for which company and contract, and where."""
    _confirmation(
        office,
        "einvoice_access",
        accountant_first_name="Inese",
        accountant_last_name="Grāmata",
        accountant_email="gramatvede@ozols.lv",
    )
    [mail] = office.sink.messages_to("gramatvede@ozols.lv")
    lv, en = _halves(mail)
    assert office.settings.provider_name in lv
    assert 'uzņēmuma SIA "Ozols" līgumā Nr. L-2019/0123' in lv
    assert "ar lomu „grāmatvedis”" in lv
    assert "Pieslēgties: https://abonenti.example.lv/ienakt" in lv
    assert "Pirmajā pieslēgšanās reizē pagaidu parole ir jānomaina" in lv
    assert "lietotāja rekvizīti" in lv.casefold()
    assert "must change the temporary password" in en
    assert "Grāmatvedim" not in lv


def test_a_fee_that_does_not_rise_is_refused_quoting_the_amount_in_latvian(office: Office) -> None:
    """The refusal writes 50,00 EUR in Latvian (as the client wrote it), 50.00 EUR in English."""
    application_id, _ = _received(office, "fee_increase", new_fee="50.00")
    result = apply_application(application_id, uow=office.uow, today=TODAY, actor="staff:ilze")
    assert result.code == "fee_not_higher"
    [mail] = office.deliver()
    lv, en = _halves(mail)
    assert "Jaunā abonentmaksa 50,00 EUR nav lielāka par pašreizējo (100,00 EUR)" in lv
    assert "50.00" not in lv
    assert "The new fee, 50.00 EUR, is not higher than the current one (100.00 EUR)" in en


def test_a_form_error_says_the_label_once_and_the_receipt_threads(office: Office) -> None:
    """A bad registration number is named once per language; the reply answers the client's mail."""
    raw = make_message(
        message_id="<bad-reg@ozols.lv>",
        attachments=(("forma.rtf", form_rtf("fee_increase", fee_increase_values(reg_no="123"))),),
    )
    office.process(raw)
    [mail] = office.deliver()
    lv, en = _halves(mail)
    assert lv.count("Reģistrācijas numurs") == 1, lv
    assert en.count("Registration number") == 1, en
    assert mail["In-Reply-To"] == "<bad-reg@ozols.lv>"
    assert mail["References"] == "<bad-reg@ozols.lv>"


def test_the_receipt_greets_the_company_by_the_books_name(office: Office) -> None:
    """A form typed "sia ozols" gets "Labdien, SIA "Ozols"!", in the client's thread."""
    values = fee_increase_values(customer_name="sia ozols")
    office.process(make_message(attachments=(("forma.rtf", form_rtf("fee_increase", values)),)))
    [mail] = office.deliver()
    assert _text(mail).startswith('Labdien, SIA "Ozols"!')
    assert "iesniegumu" in _text(mail)
    assert mail["In-Reply-To"]


def _receipt_then_answer(office: Office, answer: bytes) -> tuple[EmailMessage, Any]:
    office.process(
        make_message(attachments=(("forma.rtf", form_rtf("fee_increase", fee_increase_values())),))
    )
    [receipt] = office.deliver()
    outcome = office.process(answer)
    return receipt, outcome


def test_a_clients_answer_without_a_form_reaches_staff_and_not_the_client(office: Office) -> None:
    """An answer to our receipt goes to staff with its text, is kept with the application."""
    office.process(
        make_message(attachments=(("forma.rtf", form_rtf("fee_increase", fee_increase_values())),))
    )
    [receipt] = office.deliver()
    reference = str(receipt["Subject"]).split(":")[0]
    answer = make_message(
        subject="Re: jautājums",
        headers=(("In-Reply-To", str(receipt["Message-ID"])),),
        body="Vai varat to izpildīt līdz piektdienai? Paldies, Anna",
    )
    outcome = office.process(answer)
    assert outcome.status is MessageStatus.done
    office.deliver()
    [to_staff] = office.sink.messages_to(STAFF_ADDRESS)
    assert reference in str(to_staff["Subject"])
    assert "Vai varat to izpildīt līdz piektdienai?" in _text(to_staff)
    assert len(office.sink.messages_to(ANNA[1])) == 1  # the receipt only: no "no form"
    with office.uow:
        application = office.uow.session.exec(select(Application)).one()
        application_id = application.id
        office.uow.session.expunge(application)
    assert application_id is not None
    [kept] = client_answers(application_id, uow=office.uow)
    assert kept.from_addr == ANNA[1]
    view = review_view(application_id, uow=office.uow, today=date.today())
    review = review_markdown(view, answers=[kept])
    assert "Klienta atbildes / Client's answers" in review
    assert "Vai varat to izpildīt līdz piektdienai?" in review


def test_an_answer_quoting_the_reference_is_matched_and_shown_by_requests_show(
    office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no thread headers, "LUR-…" in the subject finds the application; staff see it."""
    office.process(
        make_message(attachments=(("forma.rtf", form_rtf("fee_increase", fee_increase_values())),))
    )
    [receipt] = office.deliver()
    reference = str(receipt["Subject"]).split(":")[0]
    office.process(make_message(subject=f"Par {reference}", body="Lūdzu, [klikšķiniet](x)"))
    office.deliver()
    assert len(office.sink.messages_to(STAFF_ADDRESS)) == 1
    assert len(office.sink.messages_to(ANNA[1])) == 1
    monkeypatch.setenv("DOCINTAKE_HOME", str(office.settings.home))
    monkeypatch.setenv("DOCINTAKE_DATABASE_URL", office.settings.resolved_database_url)
    shown = CliRunner().invoke(cli, ["requests", "show", reference])
    assert shown.exit_code == 0, shown.output
    assert "Lūdzu, [klikšķiniet](x)" in shown.output


def test_a_stranger_quoting_someone_elses_reference_still_gets_no_form(office: Office) -> None:
    """A user of another contract cannot attach text to Ozols' application by its number."""
    seed_contract(
        office.uow,
        reg_no="40103564678",
        name='SIA "Cits"',
        contract_no="L-2020/0001",
        authorized=(("Pēteris Cits", "peteris@cits.lv"),),
        users=(),
    )
    office.process(
        make_message(attachments=(("forma.rtf", form_rtf("fee_increase", fee_increase_values())),))
    )
    [receipt] = office.deliver()
    reference = str(receipt["Subject"]).split(":")[0]
    office.process(
        make_message(
            from_addr="peteris@cits.lv", subject=f"Re: {reference}", message_id="<cits@cits.lv>"
        )
    )
    office.deliver()
    assert office.sink.messages_to(STAFF_ADDRESS) == []
    [reply] = office.sink.messages_to("peteris@cits.lv")
    assert "Vēstulē nav iesnieguma veidlapas" in str(reply["Subject"])
    assert reply["In-Reply-To"] == "<cits@cits.lv>"


def _pdf_text(data: bytes, tmp_path: Path) -> str:
    pdftotext = shutil.which("pdftotext")
    assert pdftotext is not None, "pdftotext (poppler-utils) is needed: make system-deps"
    path = tmp_path / "invoice.pdf"
    path.write_bytes(data)
    done = subprocess.run([pdftotext, "-layout", str(path), "-"], capture_output=True, check=True)
    return done.stdout.decode("utf-8")


def test_top_up_mails_an_invoice_pdf_with_both_parties_vat_and_the_amount_due(
    office: Office, tmp_path: Path
) -> None:
    """The PDF holds both parties (buyer as on its date), 21% VAT, totals and how to pay."""
    _confirmation(
        office,
        "einvoice_access",
        accountant_first_name="Inese",
        accountant_last_name="Grāmata",
        accountant_email="gramatvede@ozols.lv",
    )
    with office.uow:
        # A new name from next month: an invoice dated today keeps today's details.
        office.uow.session.add(
            CustomerDetails(
                customer_id=office.seeded.customer_id,
                valid_from=date(2026, 12, 1),
                name='SIA "Ozols Nākotnē"',
            )
        )
        office.uow.commit()
    office.sink.clear()
    result = top_up(
        TopUp(request_key="t1", username="jberzins", amount=Decimal("100.00")),
        uow=office.uow,
        today=TODAY,
    )
    assert result.ok, result
    office.deliver()
    [mail] = office.sink.messages_to("janis.berzins@ozols.lv")
    lv, en = _halves(mail)
    assert "konta atlikums 50,00 EUR → 150,00 EUR" in lv
    assert "PVN 21%: 21,00 EUR; kopā apmaksai: 121,00 EUR" in lv
    assert "Lūdzam samaksāt līdz 09.12.2026." in lv
    assert "total due: 121.00 EUR" in en
    [pdf] = [p for p in mail.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert pdf.get_filename() == "R-2026-000001.pdf"
    text = _pdf_text(pdf.get_content(), tmp_path)
    settings = office.settings
    for expected in (
        "Rēķins Nr. R-2026-000001",
        "25.11.2026.",
        "09.12.2026.",
        settings.provider_name,
        settings.provider_reg_no,
        settings.provider_vat_no,
        settings.provider_address,
        settings.provider_iban,
        'SIA "Ozols"',
        OZOLS_REG_NO,
        f"LV{OZOLS_REG_NO}",
        "Brīvības iela 1, Rīga, LV-1010",
        "Konta papildināšana",
        "100,00 EUR",
        "PVN 21%",
        "21,00 EUR",
        "Kopā apmaksai",
        "121,00 EUR",
    ):
        assert expected in text, (expected, text)
    assert "Nākotnē" not in text
    [notice] = office.sink.messages_to("gramatvede@ozols.lv")
    assert [p.get_filename() for p in notice.iter_attachments()] == ["R-2026-000001.pdf"]


def test_the_cli_prints_and_downloads_the_same_invoice(
    office: Office, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`invoices show` prints the totals; `invoices pdf` writes the PDF the mail carried."""
    result = top_up(
        TopUp(request_key="t2", username="lozola", amount=Decimal("10.00")),
        uow=office.uow,
        today=TODAY,
    )
    assert result.ok
    [mail] = office.deliver()
    [attached] = list(mail.iter_attachments())
    monkeypatch.setenv("DOCINTAKE_HOME", str(office.settings.home))
    monkeypatch.setenv("DOCINTAKE_DATABASE_URL", office.settings.resolved_database_url)
    shown = CliRunner().invoke(cli, ["invoices", "show", "R-2026-000001"])
    assert shown.exit_code == 0, shown.output
    assert "Kopā apmaksai / Total due: 12,10 EUR" in shown.output
    target = tmp_path / "again.pdf"
    written = CliRunner().invoke(cli, ["invoices", "pdf", "R-2026-000001", "-o", str(target)])
    assert written.exit_code == 0, written.output
    assert target.read_bytes() == attached.get_content()
    missing = CliRunner().invoke(cli, ["invoices", "show", "R-2026-999999"])
    assert missing.exit_code == 1
