"""Hostile and broken input: refused with a clear reason, never a crash, never a flood of memory."""

from __future__ import annotations

import io
import struct
import tracemalloc
import zipfile
import zlib
from datetime import date

import pytest

from forms import parse_document, render_form
from forms.result import ParseResult
from forms.samples import sample_values

TODAY = date(2026, 11, 25)
MB = 1 << 20


def zip_with_raw_member(name: str, stream: bytes, size: int, crc: int) -> bytes:
    """A zip holding one deflated member whose compressed bytes are given as they are."""
    encoded = name.encode()
    local = struct.pack(
        "<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0x21, crc, len(stream), size, len(encoded), 0
    )
    central = struct.pack(
        "<4s6H3L5H2L",
        b"PK\x01\x02",
        20,
        20,
        0,
        8,
        0,
        0x21,
        crc,
        len(stream),
        size,
        len(encoded),
        0,
        0,
        0,
        0,
        0,
        0,
    )
    directory_offset = len(local) + len(encoded) + len(stream)
    directory = central + encoded
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(directory), directory_offset, 0)
    return local + encoded + stream + directory + end


@pytest.fixture(scope="module")
def docx_bomb() -> bytes:
    """A valid 1 MB DOCX-looking zip whose document part inflates to 1 GB of zeros."""
    chunk = bytes(MB)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    # After a full flush the compressor starts afresh, so every 1 MB block compresses the same.
    block = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    stream = block * 1024 + b"\x03\x00"
    crc = 0
    for _ in range(1024):
        crc = zlib.crc32(chunk, crc)
    return zip_with_raw_member("word/document.xml", stream, 1024 * MB, crc)


def only_error(result: ParseResult) -> tuple[str | None, str]:
    """The single error of a refused document, as (field, code)."""
    (error,) = result.errors
    return error.field, error.code


def test_zip_bomb_refused_with_little_memory(docx_bomb: bytes) -> None:
    """A 1 MB file that inflates to 1 GB is refused from its directory, using under 100 MB."""
    assert len(docx_bomb) < 1.1 * MB
    tracemalloc.start()
    try:
        result = parse_document("bomb.docx", docx_bomb, today=TODAY)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert only_error(result) == (None, "unsafe_content")
    assert "DOCX" in result.errors[0].message_lv
    assert "RTF" in result.errors[0].message_en
    assert peak < 100 * MB


def test_zip_bomb_is_a_real_bomb(docx_bomb: bytes) -> None:
    """The bomb's member really inflates far beyond its size, so refusing it means something."""
    with (
        zipfile.ZipFile(io.BytesIO(docx_bomb)) as archive,
        archive.open("word/document.xml") as member,
    ):
        assert len(member.read(8 * MB)) == 8 * MB


def docx_with_document(document: bytes) -> bytes:
    """A real generated form with its document part replaced."""
    source = zipfile.ZipFile(io.BytesIO(render_form("einvoice_access", "docx")))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = document if item.filename == "word/document.xml" else source.read(item)
            target.writestr(item.filename, data)
    return buffer.getvalue()


ENTITY_DOCUMENT = """<?xml version="1.0" encoding="{encoding}"?>
<!DOCTYPE w:document [
  <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
  <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
  <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
  <!ENTITY secret SYSTEM "file:///etc/passwd">
]>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>
<w:p><w:r><w:t>Veidlapas kods: einvoice_access</w:t></w:r></w:p>
<w:p><w:r><w:t>Amats: &c; &secret;</w:t></w:r></w:p>
</w:body></w:document>"""


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_xml_entities_refused(encoding: str) -> None:
    """A document part with a DTD, internal entity expansion or external entity is refused."""
    document = ENTITY_DOCUMENT.format(encoding=encoding).encode(encoding)
    result = parse_document("evil.docx", docx_with_document(document), today=TODAY)
    assert only_error(result) == (None, "unsafe_content")
    assert "root:" not in result.model_dump_json()


def test_input_over_ten_mb_refused() -> None:
    """More than 10 MB is refused before any reading."""
    data = b"{\\rtf1 " + b"x" * (10 * MB) + b"}"
    result = parse_document("huge.rtf", data, today=TODAY)
    assert only_error(result) == (None, "too_large")
    assert "10 MB" in result.errors[0].message_en


@pytest.mark.parametrize(
    ("name", "data", "named_lv", "named_en"),
    [
        ("old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), ".doc", ".doc"),
        ("scan.pdf", b"%PDF-1.7\n%\xe2\xe3\n1 0 obj\n", "PDF", "PDF"),
        ("photo.png", b"\x89PNG\r\n\x1a\n" + bytes(40), "attēls", "image"),
        ("photo.jpg", b"\xff\xd8\xff\xe0" + bytes(40), "attēls", "image"),
        ("notes.txt", "Labdien, lūdzu mainīt lietotāju.".encode(), "failu", "type of file"),
        ("empty.docx", b"", "failu", "type of file"),
    ],
)
def test_unsupported_formats_ask_for_docx_or_rtf(
    name: str, data: bytes, named_lv: str, named_en: str
) -> None:
    """Legacy .doc, PDF, images and unknown bytes get unsupported_format asking for DOCX or RTF."""
    result = parse_document(name, data, today=TODAY)
    assert only_error(result) == (None, "unsupported_format")
    error = result.errors[0]
    assert named_lv in error.message_lv
    assert named_en in error.message_en
    assert "DOCX vai RTF" in error.message_lv
    assert "DOCX or RTF" in error.message_en


def zip_of(members: dict[str, bytes]) -> bytes:
    """A zip archive of the given members."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_odt_unsupported() -> None:
    """An OpenDocument text is named as such and refused."""
    data = zip_of({"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<x/>"})
    result = parse_document("form.odt", data, today=TODAY)
    assert only_error(result) == (None, "unsupported_format")
    assert "OpenDocument" in result.errors[0].message_en


def test_docm_with_macros_refused() -> None:
    """A document carrying a VBA project is refused as a document with macros."""
    form = zipfile.ZipFile(io.BytesIO(render_form("user_add", "docx", sample_values("user_add"))))
    members = {item.filename: form.read(item) for item in form.infolist()}
    members["word/vbaProject.bin"] = b"\xd0\xcf\x11\xe0 macro"
    result = parse_document("form.docx", zip_of(members), today=TODAY)
    assert only_error(result) == (None, "unsupported_format")
    assert "macros" in result.errors[0].message_en


@pytest.mark.parametrize("cut", [0.3, 0.6, 0.9])
def test_truncated_docx_unreadable(cut: float) -> None:
    """A DOCX cut short in transit is unreadable (or an unsupported zip), never a crash."""
    data = render_form("user_add", "docx", sample_values("user_add"))
    result = parse_document("form.docx", data[: int(len(data) * cut)], today=TODAY)
    assert only_error(result)[1] in {"unreadable", "unsupported_format"}
    assert "DOCX" in result.errors[0].message_en


def test_broken_xml_unreadable() -> None:
    """A DOCX whose document part is not well-formed XML is unreadable."""
    result = parse_document("form.docx", docx_with_document(b"<w:document><w:body>"), today=TODAY)
    assert only_error(result) == (None, "unreadable")


def test_corrupt_member_unreadable() -> None:
    """A member whose compressed data is garbage is unreadable."""
    data = zip_with_raw_member("word/document.xml", b"\xff" * 200, 5000, 0)
    assert only_error(parse_document("form.docx", data, today=TODAY)) == (None, "unreadable")


def test_broken_rtf_never_crashes() -> None:
    """Malformed RTF (unbalanced groups, huge unicode escapes) gives a result."""
    for data in (b"{\\rtf1 {{{{ \\u99999999999 \\bin \\'zz }", b"{\\rtf1" + b"{" * 5000, b"{\\rtf"):
        result = parse_document("form.rtf", data, today=TODAY)
        assert result.errors
        assert result.form_type is None


def test_rtf_with_megabytes_of_text_refused() -> None:
    """An RTF under 10 MB but with far more markup than any form (pictures aside) is refused."""
    data = b"{\\rtf1\\ansi Veidlapas kods: user_add " + b"lorem ipsum " * 500_000 + b"}"
    assert only_error(parse_document("long.rtf", data, today=TODAY)) == (None, "unsafe_content")


def test_rtf_pictures_do_not_count_against_the_limit() -> None:
    """A form with a 9 MB embedded picture is still read: pictures are cut out first."""
    picture = b"{\\*\\shppict{\\pict\\pngblip " + b"89ab" * 2_250_000 + b"}}"
    data = b"{\\rtf1\\ansi " + picture + b"\\pard Veidlapas kods / Form code: einvoice_access\\par}"
    result = parse_document("logo.rtf", data, today=TODAY)
    assert result.form_type == "einvoice_access"
