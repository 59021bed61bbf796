"""One message from raw bytes to applications and replies, on real SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import select

import forms
from handlers.db import UnitOfWork
from handlers.models import (
    Application,
    ApplicationStatus,
    InboundMessage,
    MessageStatus,
    OutboxMessage,
)
from intake import store
from intake.mime import Limits
from intake.pipeline import MessageOutcome, process_message
from intake.senders import Trust, Verification
from tests.support.books import (
    ANNA,
    MX_TRUST,
    STAFF_ADDRESS,
    fee_increase_values,
    form_docx,
    form_rtf,
    make_message,
    seed_contract,
)

OLE2_DOC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512
Process = Callable[..., MessageOutcome]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """The intake's home folder."""
    folder = tmp_path / "var"
    folder.mkdir()
    return folder


@pytest.fixture
def process(engine: Engine, uow: UnitOfWork, home: Path, today: date) -> Process:
    """process_message wired to the test database, with the books seeded."""
    seed_contract(uow)

    def run(raw: bytes, **kwargs: object) -> MessageOutcome:
        options: dict[str, object] = {
            "source": "test",
            "uow_factory": lambda: UnitOfWork(engine),
            "home": home,
            "today": today,
            "staff_email": STAFF_ADDRESS,
            "trust": MX_TRUST,
        }
        options.update(kwargs)
        return process_message(raw, **options)  # type: ignore[arg-type]

    return run


def _all(engine: Engine, model: type) -> list:  # type: ignore[type-arg]
    with UnitOfWork(engine) as uow:
        rows: list[Any] = list(uow.session.exec(select(model).order_by(model.id)).all())  # type: ignore[attr-defined]
        # Detach them loaded, so that leaving the unit of work (a rollback) does not expire them.
        uow.session.expunge_all()
        return rows


def _outbox(engine: Engine) -> list[OutboxMessage]:
    return _all(engine, OutboxMessage)


def _fee_form(**overrides: str) -> bytes:
    return form_docx("fee_increase", fee_increase_values(**overrides))


def test_a_valid_form_becomes_a_received_application_with_a_receipt(
    process: Process, engine: Engine, home: Path
) -> None:
    """The application carries the parsed form and the contract; the sender gets a receipt."""
    document = _fee_form()
    raw = make_message(attachments=(("iesniegums.docx", document),))
    outcome = process(raw)

    assert outcome.status is MessageStatus.done
    [app] = _all(engine, Application)
    assert outcome.application_ids == [app.id]
    assert outcome.valid_application_ids == [app.id]
    assert app.reference == "LUR-2026-000001"
    assert app.status is ApplicationStatus.received
    assert app.form_type == "fee_increase"
    assert app.reg_no == "40003056133"
    assert app.contract_id is not None
    assert app.fields["new_fee"] == "150.00"
    assert app.sender == ANNA[1]
    assert app.document_sha256 == store.sha256_hex(document)
    # Staff open the original: both the message and the document are in the store.
    assert store.read_bytes(home, app.document_sha256) == document
    assert store.read_bytes(home, outcome.sha256) == raw
    [mail] = _outbox(engine)
    assert (mail.template, mail.recipient, mail.dedupe_key) == ("receipt", ANNA[1], app.reference)
    assert mail.context["reference"] == "LUR-2026-000001"
    assert mail.context["customer_name"] == 'SIA "Ozols"'
    assert mail.context["form_title_en"].startswith("Application for increasing")


def test_an_invalid_form_is_recorded_invalid_and_answered_field_by_field(
    process: Process, engine: Engine
) -> None:
    """A bad registration number gives status invalid and a form_rejected e-mail naming it."""
    raw = make_message(
        attachments=(("form.rtf", form_rtf("fee_increase", fee_increase_values(reg_no="123"))),)
    )
    outcome = process(raw)

    [app] = _all(engine, Application)
    assert app.status is ApplicationStatus.invalid
    assert outcome.valid_application_ids == []
    [mail] = _outbox(engine)
    assert mail.template == "form_rejected"
    [error] = mail.context["errors"]
    assert error["field_label_lv"] == "Reģistrācijas numurs"
    assert error["field_label_en"] == "Registration number"
    assert "11" in error["message_en"]


def test_the_same_message_twice_makes_one_application_and_one_receipt(
    process: Process, engine: Engine
) -> None:
    """Redelivery of the same bytes is recognized: one message, one application, one receipt."""
    raw = make_message(attachments=(("a.docx", _fee_form()),), message_id="<same@ozols.lv>")
    first = process(raw)
    again = process(raw)

    assert not first.already_processed
    assert again.already_processed
    assert again.application_ids == first.application_ids
    assert len(_all(engine, InboundMessage)) == 1
    assert len(_all(engine, Application)) == 1
    assert len(_outbox(engine)) == 1


def test_the_same_message_id_with_other_bytes_is_processed_and_flagged(
    process: Process, engine: Engine
) -> None:
    """A reused Message-ID (copier, or a stranger who took it) does not swallow the real mail."""
    stranger = make_message(from_addr="someone@elsewhere.lv", message_id="<same@ozols.lv>")
    first = process(stranger)
    resent = process(
        make_message(attachments=(("a.docx", _fee_form()),), message_id="<same@ozols.lv>")
    )

    assert first.status is MessageStatus.quarantined
    assert not resent.already_processed
    assert resent.status is MessageStatus.done
    [app] = _all(engine, Application)
    assert resent.valid_application_ids == [app.id]
    assert "message_id_reused" in {w["code"] for w in app.warnings}
    rows = _all(engine, InboundMessage)
    assert [row.same_message_id_as for row in rows] == [None, rows[0].id]
    assert [m.recipient for m in _outbox(engine)] == [ANNA[1]]


def test_the_same_document_in_a_new_message_is_flagged_as_a_duplicate(
    process: Process, engine: Engine
) -> None:
    """A second copy of a document for the same contract points at the first, with a warning."""
    document = _fee_form()
    process(make_message(attachments=(("a.docx", document),)))
    process(make_message(attachments=(("again.docx", document),)))

    first, second = _all(engine, Application)
    assert first.duplicate_of is None
    assert second.duplicate_of == first.id
    assert [w["code"] for w in second.warnings] == ["duplicate"]
    assert first.reference in second.warnings[0]["message_en"]


def test_spoofed_authorized_sender_is_quarantined_not_processed(
    process: Process, engine: Engine
) -> None:
    """dmarc=fail holds the message for staff: no application, no reply to the From address."""
    raw = b"Authentication-Results: mx.example.lv; spf=pass; dmarc=fail\r\n" + make_message(
        attachments=(("a.docx", _fee_form()),), verified=False
    )
    outcome = process(raw)

    assert outcome.status is MessageStatus.quarantined
    assert _all(engine, Application) == []
    [mail] = _outbox(engine)
    assert (mail.template, mail.recipient) == ("quarantined", STAFF_ADDRESS)
    assert mail.context["from_addr"] == ANNA[1]
    assert "dmarc=fail" in mail.context["reason"]


def test_unverified_mail_is_held_under_require(process: Process, engine: Engine) -> None:
    """No trusted verdict under `require`: quarantined, staff told, the sender not written to."""
    outcome = process(make_message(attachments=(("a.docx", _fee_form()),), verified=False))
    assert outcome.status is MessageStatus.quarantined
    assert _all(engine, Application) == []
    assert [(m.template, m.recipient) for m in _outbox(engine)] == [("quarantined", STAFF_ADDRESS)]


def test_unverified_mail_is_read_and_flagged_under_flag(process: Process, engine: Engine) -> None:
    """Under `flag` the application is made, marked not verified, and nobody is written to."""
    outcome = process(
        make_message(attachments=(("a.docx", _fee_form()),), verified=False),
        trust=Trust(level=Verification.flag, trusted_authserv_ids=("mx.example.lv",)),
    )
    assert outcome.status is MessageStatus.done
    [app] = _all(engine, Application)
    assert outcome.valid_application_ids == [app.id]
    assert app.sender_verified is False
    assert _outbox(engine) == []
    [message] = _all(engine, InboundMessage)
    assert message.sender_verified is False


def test_unknown_sender_is_quarantined_and_never_answered(process: Process, engine: Engine) -> None:
    """A From address of no contract gets nothing back (no backscatter); staff see it listed."""
    raw = make_message(
        from_addr="stranger@elsewhere.lv",
        attachments=(("a.docx", _fee_form()),),
        headers=(("Reply-To", ANNA[1]),),
    )
    outcome = process(raw)

    assert outcome.status is MessageStatus.quarantined
    assert _all(engine, Application) == []
    assert _outbox(engine) == []


def test_a_user_who_is_not_an_authorized_person_is_refused(
    process: Process, engine: Engine
) -> None:
    """A user of the contract is in the books but may not file: invalid, and told why."""
    outcome = process(
        make_message(from_addr="Janis.Berzins@OZOLS.lv", attachments=(("a.docx", _fee_form()),))
    )
    assert outcome.status is MessageStatus.done
    assert outcome.valid_application_ids == []
    [app] = _all(engine, Application)
    assert app.status is ApplicationStatus.invalid
    assert [e["code"] for e in app.errors] == ["sender_not_authorized"]
    [mail] = _outbox(engine)
    assert (mail.template, mail.recipient) == ("form_rejected", "janis.berzins@ozols.lv")


def test_legacy_doc_gets_unsupported_attachment(process: Process, engine: Engine) -> None:
    """A .doc is refused by name with what is accepted; the message is rejected."""
    outcome = process(make_message(attachments=(("iesniegums.doc", OLE2_DOC),)))

    assert outcome.status is MessageStatus.rejected
    [mail] = _outbox(engine)
    assert mail.template == "unsupported_attachment"
    assert mail.context["filenames"] == ["iesniegums.doc"]
    assert "DOCX" in mail.context["reasons"][0]["message_en"]


def test_a_form_beside_a_doc_is_taken_and_the_doc_is_named(
    process: Process, engine: Engine
) -> None:
    """One good form and one .doc: an application with its receipt, and a reply about the .doc."""
    outcome = process(make_message(attachments=(("a.docx", _fee_form()), ("old.doc", OLE2_DOC))))
    assert outcome.status is MessageStatus.done
    assert sorted(m.template for m in _outbox(engine)) == ["receipt", "unsupported_attachment"]


def test_no_attachment_gets_no_form_with_the_blank_forms(
    process: Process, engine: Engine, home: Path
) -> None:
    """A message without a form is answered with the list of forms and the blank forms."""
    outcome = process(make_message())

    assert outcome.status is MessageStatus.rejected
    [mail] = _outbox(engine)
    assert mail.template == "no_form"
    assert len(mail.context["forms"]) == 7
    assert {f["code"] for f in mail.context["forms"]} >= {"user_add", "fee_increase"}
    names = sorted(Path(p).name for p in mail.attachments)
    assert "user_add.docx" in names
    assert "user_add.rtf" in names
    assert all(Path(p).is_file() and Path(p).is_relative_to(home) for p in mail.attachments)


def test_a_too_large_message_is_refused_with_a_reason(process: Process, engine: Engine) -> None:
    """Over the message size limit: rejected, and the sender is told why."""
    raw = make_message(attachments=(("a.docx", _fee_form()),))
    outcome = process(raw, limits=Limits(max_message_bytes=len(raw) - 1))
    assert outcome.status is MessageStatus.rejected
    [mail] = _outbox(engine)
    assert mail.template == "unsupported_attachment"
    assert "too large" in mail.context["reasons"][0]["message_en"]


def test_contact_email_of_the_same_contract_gets_a_copy(process: Process, engine: Engine) -> None:
    """The form's contact e-mail is copied when the books hold it for the contract, else not."""
    process(
        make_message(
            attachments=(("a.docx", _fee_form(submitter_email="janis.berzins@ozols.lv")),),
        )
    )
    process(
        make_message(
            attachments=(("b.docx", _fee_form(submitter_email="x@evil.example", new_fee="160")),),
        )
    )
    first, second = _outbox(engine)
    assert (first.recipient, first.cc) == (ANNA[1], ["janis.berzins@ozols.lv"])
    assert (second.recipient, second.cc) == (ANNA[1], [])


def test_references_count_up_across_messages(process: Process, engine: Engine) -> None:
    """Each form of each message gets the next number of the year."""
    process(
        make_message(attachments=(("a.docx", _fee_form()), ("b.docx", _fee_form(new_fee="170"))))
    )
    process(make_message(attachments=(("c.rtf", form_rtf("fee_increase", fee_increase_values())),)))
    refs = [a.reference for a in _all(engine, Application)]
    assert refs == ["LUR-2026-000001", "LUR-2026-000002", "LUR-2026-000003"]


def test_a_reader_crash_answers_the_document_as_unreadable(
    process: Process, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in the form reader never holds the message: the sender hears it was unreadable."""

    def broken(filename: str, data: bytes, *, today: date) -> None:
        raise RuntimeError("reader bug")

    monkeypatch.setattr(forms, "parse_document", broken)
    outcome = process(make_message(attachments=(("a.docx", _fee_form()),)))

    assert outcome.status is MessageStatus.done
    [app] = _all(engine, Application)
    assert app.status is ApplicationStatus.invalid
    [mail] = _outbox(engine)
    assert mail.template == "form_rejected"
    assert "could not be read" in mail.context["errors"][0]["message_en"]


BASE = make_message(
    attachments=(("form.rtf", form_rtf("fee_increase", fee_increase_values())),),
    headers=(("Authentication-Results", "mx; dmarc=pass"),),
)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """The base message with bytes replaced, inserted, deleted or cut off."""
    data = bytearray(BASE)
    for _ in range(draw(st.integers(1, 5))):
        op = draw(st.sampled_from(["replace", "insert", "delete", "truncate"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "replace" and data:
            data[pos] = draw(st.integers(0, 255))
        elif op == "insert":
            data[pos:pos] = draw(
                st.sampled_from([b"\r\n--", b"=?utf-8?q?=C5", b"\xc5\r\n", b"\\u"])
            )
        elif op == "delete" and data:
            del data[pos : pos + draw(st.integers(1, 60))]
        else:
            del data[pos:]
    return bytes(data)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(raw=mutated())
def test_mutated_messages_always_reach_a_final_state(process: Process, raw: bytes) -> None:
    """Whatever the bytes, the message is stored and ends done, rejected or quarantined."""
    # A fresh Message-ID first, so that no example is taken for a redelivery of an earlier one.
    raw = f"Message-ID: <{uuid.uuid4().hex}@fuzz.example>\r\n".encode() + raw
    outcome = process(raw)
    assert outcome.final
    assert not outcome.already_processed


def test_a_message_that_keeps_failing_is_quarantined_on_the_third_try(
    process: Process, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No poison: two failed tries are retried, the third quarantines, staff and client told."""

    def refused(*args: object, **kwargs: object) -> None:
        raise ValueError("the database refused the row")

    monkeypatch.setattr("handlers.applications.create_application", refused)
    raw = make_message(attachments=(("a.docx", _fee_form()),))
    for _try in range(2):
        with pytest.raises(ValueError, match="refused"):
            process(raw)
    third = process(raw)
    fourth = process(raw)

    assert third.status is MessageStatus.quarantined
    assert third.reason == "could not be read (ValueError)"
    assert fourth.already_processed
    mails = sorted((m.template, m.recipient) for m in _outbox(engine))
    assert mails == [("quarantined", STAFF_ADDRESS), ("unsupported_attachment", ANNA[1])]
    [message] = _all(engine, InboundMessage)
    assert message.attempts == 3


def test_a_stranger_whose_message_keeps_failing_is_never_answered(
    process: Process, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stranger's message that keeps failing reaches staff only, never the stranger."""
    monkeypatch.setattr(
        "intake.pipeline._read", lambda *a, **k: (_ for _ in ()).throw(RecursionError())
    )
    raw = make_message(from_addr="someone@elsewhere.lv")
    for _try in range(2):
        with pytest.raises(RecursionError):
            process(raw)
    assert process(raw).status is MessageStatus.quarantined
    assert [(m.template, m.recipient) for m in _outbox(engine)] == [("quarantined", STAFF_ADDRESS)]
