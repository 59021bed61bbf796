"""Limits that keep hostile documents from eating the machine: size, zip bombs, XML DTDs.

A DOCX is a zip. Its central directory declares every member's sizes before anything is
inflated, so absurd sizes or ratios are refused from the directory alone. Members are then read
through `read_member`, which never inflates more than the limit even if a declaration lies.
XML is parsed by one hardened lxml parser: no DTD loading, no entity resolution, no network,
and any document type declaration at all is refused (Office XML never carries one).
"""

from __future__ import annotations

import io
import zipfile

from lxml import etree

from forms.readers.base import DocumentRefused

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
MAX_ZIP_MEMBERS = 2000
# A form's document part is a few hundred KB at most; these leave room for pictures.
MAX_MEMBER_BYTES = 32 * 1024 * 1024
MAX_TOTAL_BYTES = 96 * 1024 * 1024
# Office XML compresses 5–30×; a bomb compresses 1000× or more. Small members may be extreme.
MAX_RATIO = 200
RATIO_FLOOR_BYTES = 1024 * 1024
# The text a form needs: a document part or RTF markup (pictures cut out) beyond this is no
# form, and reading it would only cost seconds.
MAX_TEXT_PART_BYTES = 4 * 1024 * 1024

_PARSER = etree.XMLParser(
    resolve_entities=False,
    load_dtd=False,
    no_network=True,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
)


def check_size(data: bytes) -> None:
    """Refuse input over 10 MB before looking at it."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise DocumentRefused("too_large", f"{len(data)} bytes")


def open_zip(data: bytes) -> zipfile.ZipFile:
    """The zip's directory, refused when its declared sizes say it is a bomb."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        raise DocumentRefused("unreadable", f"not a readable zip: {exc}") from None
    if len(members) > MAX_ZIP_MEMBERS:
        raise DocumentRefused("unsafe", f"{len(members)} zip members")
    # Two entries of one name: Word reads one, zipfile the other — what staff would see in
    # Word need not be what was read. Part names are case-insensitive in a package.
    if len({member.filename.lower() for member in members}) != len(members):
        raise DocumentRefused("unsafe", "duplicate zip member")
    total = 0
    for member in members:
        size = member.file_size
        total += size
        if size > MAX_MEMBER_BYTES or total > MAX_TOTAL_BYTES:
            raise DocumentRefused("unsafe", "declared uncompressed size too large")
        if size > RATIO_FLOOR_BYTES and size > MAX_RATIO * max(member.compress_size, 1):
            raise DocumentRefused("unsafe", "compression ratio too high")
    return archive


def read_member(
    archive: zipfile.ZipFile, name: str, *, limit: int = MAX_MEMBER_BYTES
) -> bytes | None:
    """One member's bytes (None when absent), never inflating more than `limit`."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        return None
    if info.file_size > limit:
        raise DocumentRefused("unsafe", f"{name} declares {info.file_size} bytes")
    try:
        with archive.open(info) as stream:
            data = stream.read(limit + 1)
    except (zipfile.BadZipFile, RuntimeError, ValueError, OSError, EOFError, NotImplementedError):
        # Corrupt data, a wrong CRC, encryption or an unknown compression method.
        raise DocumentRefused("unreadable", f"cannot inflate {name}") from None
    if len(data) > limit:
        raise DocumentRefused("unsafe", f"{name} inflates beyond its limit")
    return data


def parse_xml(data: bytes) -> etree._Element:
    """An XML part parsed without DTDs or entities; a DOCTYPE anywhere is refused."""
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise DocumentRefused("unsafe", "XML with a document type declaration")
    try:
        root = etree.fromstring(data, parser=_PARSER)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise DocumentRefused("unreadable", f"broken XML: {exc}") from None
    # The byte check misses UTF-16 parts; the parsed tree tells for any encoding.
    if root.getroottree().docinfo.doctype:
        raise DocumentRefused("unsafe", "XML with a document type declaration")
    return root
