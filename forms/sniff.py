"""What a file is, by its bytes: a name or a MIME type can lie, the content cannot."""

from __future__ import annotations

import io
import zipfile

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_IMAGES = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",
    b"GIF87a",
    b"GIF89a",
    b"II*\x00",
    b"MM\x00*",
    b"BM",
)


def _zip_kind(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "mimetype" in names:
                info = archive.getinfo("mimetype")
                if info.file_size < 200:
                    mimetype = archive.read(info)
                    if mimetype.startswith(b"application/vnd.oasis.opendocument"):
                        return "odt"
    except Exception:
        # Any broken zip is still "a zip"; sniffing never raises.
        return "zip"
    if "word/document.xml" in names or "word/document2.xml" in names:
        return "docx"
    if "[Content_Types].xml" in names and any(n.startswith("word/") for n in names):
        return "docx"
    return "zip"


def sniff_format(filename: str, data: bytes) -> str:
    """`docx`, `rtf`, or why not: `doc`, `pdf`, `odt`, `image`, `zip`, `unknown`."""
    head = data[:16]
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _zip_kind(data)
    if data.lstrip(b"\xef\xbb\xbf \t\r\n")[:5] == b"{\\rtf":
        return "rtf"
    if head.startswith(_OLE2):
        return "doc"
    if data[:1024].lstrip().startswith(b"%PDF") or b"%PDF-" in data[:1024]:
        return "pdf"
    if any(head.startswith(magic) for magic in _IMAGES):
        return "image"
    return "unknown"
