"""What a file is, told by its bytes: the name can lie."""

from __future__ import annotations

import io
import zipfile

import pytest

from forms import render_form, sniff_format


def zip_of(members: dict[str, bytes]) -> bytes:
    """A zip archive of the given members."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_docx_and_rtf_by_content_not_name() -> None:
    """A DOCX named .rtf is a docx; an RTF named .pdf is an rtf."""
    assert sniff_format("form.rtf", render_form("user_add", "docx")) == "docx"
    assert sniff_format("form.pdf", render_form("user_add", "rtf")) == "rtf"


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "doc"),
        (b"%PDF-1.4\n", "pdf"),
        (b"\x89PNG\r\n\x1a\n", "image"),
        (b"\xff\xd8\xff\xdb", "image"),
        (b"GIF89a", "image"),
        (b"II*\x00", "image"),
        (b"\xef\xbb\xbf{\\rtf1}", "rtf"),
        (b"hello", "unknown"),
        (b"", "unknown"),
        (b"PK\x03\x04broken", "zip"),
    ],
)
def test_magic_numbers(data: bytes, kind: str) -> None:
    """Each format's magic bytes name it."""
    assert sniff_format("file", data) == kind


def test_odt_and_plain_zip() -> None:
    """A zip with an OpenDocument mimetype is odt; a zip with neither is just a zip."""
    odt = zip_of({"mimetype": b"application/vnd.oasis.opendocument.text"})
    assert sniff_format("a.docx", odt) == "odt"
    assert sniff_format("a.docx", zip_of({"readme.txt": b"hi"})) == "zip"
