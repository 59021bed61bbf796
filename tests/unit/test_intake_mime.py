"""Reading e-mails: attachments by content, RFC 2047 names, limits, and never a crash."""

from __future__ import annotations

import io
import zipfile
from email.message import EmailMessage

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake.mime import Limits, parse_message
from tests.support.books import form_docx, make_message

RTF = b"{\\rtf1\\ansi Veidlapas kods / Form code: fee_increase\\par}"
OLE2_DOC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512


def _docx() -> bytes:
    return form_docx("fee_increase", {"reg_no": "40003056133"})


def test_docx_and_rtf_are_accepted_by_content_whatever_their_names() -> None:
    """A DOCX named .bin and an RTF named .txt are still recognized as forms."""
    raw = make_message(attachments=(("form.bin", _docx()), ("notes.txt", RTF)))
    parsed = parse_message(raw)
    assert [(a.index, a.format) for a in parsed.attachments] == [(1, "docx"), (2, "rtf")]
    assert parsed.refused == []


def test_legacy_doc_is_refused_with_a_reason_in_both_languages() -> None:
    """A .doc attachment is named back to the sender with what to send instead."""
    parsed = parse_message(make_message(attachments=(("iesniegums.doc", OLE2_DOC),)))
    assert parsed.attachments == []
    [refusal] = parsed.refused
    assert refusal.filename == "iesniegums.doc"
    assert refusal.kind == "doc"
    assert "DOCX" in refusal.message_lv
    assert "DOCX" in refusal.message_en


def test_a_docx_renamed_to_doc_is_still_a_form() -> None:
    """Content decides: a real DOCX with a .doc name is accepted."""
    parsed = parse_message(make_message(attachments=(("form.doc", _docx()),)))
    assert [a.format for a in parsed.attachments] == ["docx"]


def test_rfc2047_and_rfc2231_file_names_are_decoded() -> None:
    """Latvian file names arrive encoded; the intake reads them as the sender wrote them."""
    msg = EmailMessage()
    msg["From"] = "=?utf-8?q?Anna_Kalni=C5=86a?= <anna.kalnina@ozols.lv>"
    msg["To"] = "pieteikumi@example.lv"
    msg["Subject"] = "=?utf-8?b?SWVzbmllZ3VtcyDFoW9kaWVu?="
    msg.set_content("x")
    msg.add_attachment(RTF, maintype="application", subtype="rtf", filename="iesniegums-ņ.rtf")
    parsed = parse_message(msg.as_bytes())
    assert parsed.from_addr == "anna.kalnina@ozols.lv"
    assert parsed.subject == "Iesniegums šodien"
    assert [a.filename for a in parsed.attachments] == ["iesniegums-ņ.rtf"]

    # A hand-made RFC 2047 name in the Content-Type, as some mailers still write it.
    encoded_word = (
        b"From: anna.kalnina@ozols.lv\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
        b"Content-Type: text/plain\r\n\r\nhi\r\n--b\r\n"
        b'Content-Type: application/rtf; name="=?UTF-8?B?bMSrZ3VtcyDFoS5ydGY=?="\r\n'
        b"Content-Disposition: attachment\r\n\r\n" + RTF + b"\r\n--b--\r\n"
    )
    assert [a.filename for a in parse_message(encoded_word).attachments] == ["līgums š.rtf"]


def test_reply_to_is_read_but_from_is_the_sender() -> None:
    """Reply-To never replaces From."""
    raw = make_message(headers=(("Reply-To", "attacker@evil.example"),))
    parsed = parse_message(raw)
    assert parsed.from_addr == "anna.kalnina@ozols.lv"
    assert parsed.reply_to == "attacker@evil.example"


def test_two_from_addresses_give_no_sender() -> None:
    """An ambiguous From cannot authorize anything."""
    raw = make_message(from_addr="anna.kalnina@ozols.lv, boss@ozols.lv")
    assert parse_message(raw).from_addr is None


def test_limits_refuse_the_eleventh_attachment_and_oversized_files() -> None:
    """Ten attachments are read; the eleventh, and any file over the size limit, are refused."""
    attachments = tuple((f"f{i}.rtf", RTF) for i in range(11))
    parsed = parse_message(make_message(attachments=attachments))
    assert len(parsed.attachments) == 10
    assert [(r.index, r.kind) for r in parsed.refused] == [(11, "too_many")]

    big = RTF + b" " * 2048
    parsed = parse_message(
        make_message(attachments=(("big.rtf", big), ("small.rtf", RTF))),
        Limits(max_attachment_bytes=1024),
    )
    assert [a.filename for a in parsed.attachments] == ["small.rtf"]
    assert [r.kind for r in parsed.refused] == ["too_large"]


def test_a_message_over_the_size_limit_is_flagged_and_not_opened() -> None:
    """The whole message is refused when it is larger than allowed."""
    raw = make_message(attachments=(("form.rtf", RTF + b" " * 5000),))
    parsed = parse_message(raw, Limits(max_message_bytes=4000))
    assert parsed.too_large
    assert parsed.attachments == []


def test_body_text_and_inline_pictures_are_not_attachments() -> None:
    """A form typed in the body is not read, and a signature logo is not refused."""
    msg = EmailMessage()
    msg["From"] = "anna.kalnina@ozols.lv"
    msg.set_content("Pasūtītāja nosaukums: SIA Ozols")
    msg.add_alternative("<p>Pasūtītāja nosaukums</p><img src='cid:logo'>", subtype="html")
    html = msg.get_body(preferencelist=("html",))
    assert html is not None
    html.add_related(b"\x89PNG\r\n\x1a\n" + b"0" * 64, "image", "png", cid="<logo>")
    parsed = parse_message(msg.as_bytes())
    assert parsed.attachments == []
    assert parsed.refused == []


def test_an_attached_email_is_refused_not_opened() -> None:
    """A forwarded message is named back; forms inside it are not taken."""
    inner = make_message(attachments=(("form.rtf", RTF),))
    outer = (
        b"From: anna.kalnina@ozols.lv\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
        b"Content-Type: text/plain\r\n\r\nfwd\r\n--b\r\n"
        b"Content-Type: message/rfc822\r\n\r\n" + inner + b"\r\n--b--\r\n"
    )
    parsed = parse_message(outer)
    assert parsed.attachments == []
    assert [r.kind for r in parsed.refused] == ["message"]


def test_a_zip_bomb_looking_archive_is_refused_as_an_archive() -> None:
    """A zip that is not a DOCX is refused, never unpacked."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bomb.txt", b"0" * 1_000_000)
    parsed = parse_message(make_message(attachments=(("forms.zip", buffer.getvalue()),)))
    assert [r.kind for r in parsed.refused] == ["zip"]


def test_eight_bit_headers_and_broken_charsets_do_not_crash() -> None:
    """Raw UTF-8 in headers and an unknown charset still give a readable message."""
    raw = (
        "From: Anna Kalniņa <anna.kalnina@ozols.lv>\r\n".encode()
        + "Subject: Iesniegums ļoti steidzams\r\n".encode()
        + b"Subject: =?x-unknown?q?=FF=FE?=\r\n"
        + b"Content-Type: text/plain; charset=x-unknown\r\n\r\n\xff\xfe body\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.from_addr == "anna.kalnina@ozols.lv"
    assert parsed.subject is not None
    assert "Iesniegums" in parsed.subject


BASE = make_message(
    attachments=(("form.rtf", RTF), ("iesniegums.doc", OLE2_DOC)),
    headers=(("Authentication-Results", "mx; dmarc=pass"),),
)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """The base message with a few bytes replaced, inserted, deleted or cut."""
    data = bytearray(BASE)
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["replace", "insert", "delete", "truncate", "header"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "replace" and data:
            data[pos] = draw(st.integers(0, 255))
        elif op == "insert":
            data[pos:pos] = draw(
                st.sampled_from(
                    [b"\r\n--", b"=?utf-8?b?", b"\xff\xfe", b'"', b"\r\n\r\n", b"; name*0*="]
                )
            )
        elif op == "delete" and data:
            del data[pos : pos + draw(st.integers(1, 40))]
        elif op == "truncate":
            del data[pos:]
        else:
            data[0:0] = b"X-Long: " + b"a" * draw(st.integers(0, 20_000)) + b"\r\n"
    return bytes(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_messages_never_crash_the_reader(raw: bytes) -> None:
    """Broken boundaries, bytes and headers give a result, never an exception."""
    parsed = parse_message(raw)
    for attachment in parsed.attachments:
        assert attachment.format in {"docx", "rtf"}
        assert "/" not in attachment.filename
