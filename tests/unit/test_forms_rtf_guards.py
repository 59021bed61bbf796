r"""RTF crafted against striprtf's regexes: every guard holds whatever the case or spacing.

Each input here sent striprtf into quadratic (or worse) time before its guard: a 46 KB
`\FIELD{` document took 35 s, a 136 KB `{ \fonttbl` one 47 s. The timeout mark is a hang
guard for CI, not a speed measure (bench/parse.py measures speed); the assertion is that the
document is read to the end — its text reaches the form detector.
"""

from __future__ import annotations

from datetime import date

import pytest

from forms import parse_document

TODAY = date(2026, 11, 25)
KB = 1024


def hyperlinks(word: bytes, size: int) -> bytes:
    """Unclosed HYPERLINK fields spelled with `word`, repeated to `size` bytes."""
    unit = b"{" + word + b'{\\*\\fldinst{HYPERLINK "a'
    return b"{\\rtf1 " + unit * (size // len(unit)) + b"}"


def font_table(opening: bytes, size: int) -> bytes:
    """A font table opened by `opening`, stuffed with font numbers and no charset."""
    return b"{\\rtf1" + opening + b" " + b"\\f1 " * (size // 4) + b"}}"


HOSTILE = {
    "FIELD-upper": hyperlinks(b"\\FIELD", 150 * KB),
    "Field-mixed": hyperlinks(b"\\FiElD", 150 * KB),
    "fonttbl-space": font_table(b"{ \\fonttbl", 136 * KB),
    "fonttbl-star": font_table(b"{\\*\\fonttbl", 136 * KB),
    "fonttbl-after-word": font_table(b"{\\f0\\fonttbl", 136 * KB),
    "fonttbl-newline": font_table(b"{\r\n\\fonttbl", 136 * KB),
    # Found while fuzzing for slow inputs: the words before `\fonttbl` are in the group too.
    "fonttbl-long-prefix": b"{\\rtf1{" + b"\\f1 " * (34 * KB) + b"\\fonttbl}}",
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_rtf_is_read_to_the_end(name: str) -> None:
    """A crafted RTF is read through and answered 'unknown form', not left running for minutes."""
    data = HOSTILE[name][:-1] + b"\\par Veidlapas kods / Form code: nav}"
    result = parse_document(f"{name}.rtf", data, today=TODAY)
    assert [error.code for error in result.errors] == ["unknown_form"]


@pytest.mark.timeout(60)
def test_binary_run_outside_a_picture_is_skipped() -> None:
    r"""`\bin` data outside a picture is skipped by its length, and the text after it is read."""
    data = (
        b"{\\rtf1\\ansi{\\fonttbl{\\f0 Arial;}}{\\pict\\bin0 }\\bin200000 "
        + b"{}\\" * 66_666
        + b"xx\\par Veidlapas kods / Form code: einvoice_access"
        + b"\\par Accountant's first name: Anna\\par}"
    )
    result = parse_document("bin.rtf", data, today=TODAY)
    assert result.form_type == "einvoice_access"
    assert result.fields["accountant_first_name"] == "Anna"
