"""One document in, one parse result out: sniff, read, find the form, check its values."""

from __future__ import annotations

import logging
from datetime import date

from forms.labels import detect_form, extract_fields
from forms.messages import document_issue, notice_issue, unknown_form_issue
from forms.readers import READERS, Document, DocumentRefused
from forms.result import ParseResult
from forms.rules import check_form
from forms.safety import check_size
from forms.sniff import sniff_format

logger = logging.getLogger(__name__)


def read_document(filename: str, data: bytes) -> Document:
    """The document's rows and notices; raises DocumentRefused when it must not be read."""
    check_size(data)
    kind = sniff_format(filename, data)
    reader = READERS.get(kind)
    if reader is None:
        raise DocumentRefused("unsupported_format", kind)
    return reader.read(data)


def parse_document(filename: str, data: bytes, *, today: date) -> ParseResult:
    """The parse result of one document (FORMS.md); never raises, whatever the bytes."""
    try:
        document = read_document(filename, data)
        form = detect_form(document.rows)
        if form is None:
            result = ParseResult(errors=[unknown_form_issue()])
        else:
            result = check_form(form, extract_fields(document.rows, form), today=today)
        result.warnings.extend(notice_issue(notice) for notice in document.notices)
        return result
    except DocumentRefused as refused:
        code = "unsafe_content" if refused.code == "unsafe" else refused.code
        return ParseResult(errors=[document_issue(code, refused.detail)])
    except RecursionError:
        return ParseResult(errors=[document_issue("unsafe_content")])
    except Exception as exc:
        # A reader bug must not stop the intake: the client is told the file is unreadable.
        # Only the exception's type is logged — its message may quote personal data.
        logger.error("reading %s failed: %s", sniff_format(filename, data), type(exc).__name__)
        return ParseResult(errors=[document_issue("unreadable")])
