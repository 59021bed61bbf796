"""Bad input end to end: each e-mail gets its reply, changes nothing and never reaches staff."""

from __future__ import annotations

from email.utils import make_msgid

import pytest

from flows.demo import form_attachment, form_email, invalid_reg_no
from handlers.models import ApplicationStatus
from tests.e2e.journey import Journey, text_of, zip_bomb_docx

pytestmark = pytest.mark.slow

OLE2_DOC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 4096


def test_bad_mail_is_answered_and_changes_nothing(journey: Journey) -> None:
    """.doc, bad reg. no, zip bomb, no form: a reply each; a stranger none; books unchanged."""
    good = journey.new_request("user_add")
    books, sender = good.books, good.sender
    before = journey.contract_state(books.contract_id)
    stranger = f"stranger.{books.contract_no.removeprefix('L-')}@elsewhere.test"
    bad_reg_no = {**good.values, "reg_no": invalid_reg_no(books.reg_no)}

    def mail(attachments: list[tuple[str, bytes]], frm: str = sender) -> bytes:
        return form_email(
            sender=frm, attachments=attachments, message_id=make_msgid(domain="client.test")
        )

    journey.send_smtp(mail([form_attachment("user_add", good.values)], stranger), stranger)
    journey.send_smtp(mail([("iesniegums.doc", OLE2_DOC)]), sender)
    journey.send_smtp(mail([form_attachment("user_add", bad_reg_no)]), sender)
    journey.send_smtp(mail([("iesniegums.docx", zip_bomb_docx())]), sender)
    journey.send_smtp(mail([]), sender)

    replies = journey.env.wait_for(
        lambda: (found := journey.sink.messages_to(sender)) and len(found) >= 4 and found,
        what="the four replies to the authorized person",
    )
    by_subject = sorted((str(m["Subject"]).split(" / ")[-1], text_of(m)) for m in replies)
    assert [subject for subject, _ in by_subject] == [
        "No application form in the message",
        "The attachment could not be processed",
        "the application has errors",
        "the application has errors",
    ]
    assert "Legacy Word .doc is not accepted" in by_subject[1][1]
    assert any("Registration number" in text for _, text in by_subject[2:])
    assert any("refused for safety" in text for _, text in by_subject[2:])
    (no_form,) = [m for m in replies if "No application form" in str(m["Subject"])]
    attached = {part.get_filename() for part in no_form.iter_attachments()}
    assert {"user_add.docx", "user_add.rtf"} <= attached

    # The stranger is never answered (no backscatter): the message waits in quarantine.
    assert journey.sink.messages_to(stranger) == []
    applications = journey.applications(books.contract_no)
    assert {str(a.status) for a in applications} == {str(ApplicationStatus.invalid)}
    assert all(a.flow_run_id is None for a in applications)
    assert journey.contract_state(books.contract_id) == before
