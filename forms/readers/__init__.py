"""The document readers, listed explicitly: each turns one format's bytes into rows."""

from __future__ import annotations

from forms.readers.base import Document, DocumentRefused, Reader, Row
from forms.readers.docx import DocxReader
from forms.readers.rtf import RtfReader

READERS: dict[str, Reader] = {"docx": DocxReader(), "rtf": RtfReader()}

__all__ = ["READERS", "Document", "DocumentRefused", "Reader", "Row"]
