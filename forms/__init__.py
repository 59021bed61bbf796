"""forms: the seven application forms — blank forms out, filled forms read and validated."""

from forms.blank import render_form
from forms.parse import parse_document
from forms.result import Issue, ParseResult
from forms.sniff import sniff_format

__all__ = ["Issue", "ParseResult", "parse_document", "render_form", "sniff_format"]
