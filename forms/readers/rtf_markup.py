r"""RTF markup rewritten before striprtf reads it: what Word shows, in linear time.

striprtf is a tokenizer with three regexes of its own; each rewrite here keeps one of them from
running away, and each matches what striprtf matches (case, spacing) rather than what a writer
usually writes — a guard that misses `\FIELD{` or `{\*\fonttbl` is no guard. The other rewrites
make striprtf's text what Word shows: a field's result (`\*\fldrslt`, as AbiWord writes it) is
shown, hidden (`\v`) and deleted (`\deleted`) text is not.
"""

from __future__ import annotations

import re

# striprtf's HYPERLINKS regex (case-insensitive, `.*` with backtracking) starts at `{\field{`.
# A space after the word (a legal delimiter) keeps it from ever matching.
_FIELD = re.compile(r"(\\field)(?=\{)", re.IGNORECASE)
# striprtf's FONTTABLE_START, character for character: the first group whose leading words
# include `\fonttbl`. Its FONTTABLE regex is quadratic on that group, so the group is rebuilt.
# Both run on the decoded text striprtf gets: a multi-byte code page can swallow a brace.
_FONT_TABLE = re.compile(r"\{[^{}]*?\\fonttbl")
_FONT_NUMBER = re.compile(r"\\f(\d{1,5})(?![0-9])")
_FONT_CHARSET = re.compile(r"\\fcharset(\d{1,3})(?![0-9])")
_TEXT_BRACES = re.compile(r"\\[{}\\]|[{}]")
_BRACES = re.compile(rb"\\[{}\\]|[{}]")
# `\binN` is followed by N raw bytes; striprtf skips them only inside a picture, and then one
# character at a time in Python. A form carries no binary data: it is cut out here.
_BIN = re.compile(rb"\\bin(\d{1,9}) ?")
# Word and LibreOffice write `{\fldrslt`; AbiWord marks it ignorable, which striprtf drops.
_IGNORABLE_RESULT = re.compile(rb"\\\*[\r\n]*(\\fldrslt)(?![a-zA-Z])")
_INVISIBLE = re.compile(rb"\\(?:v|deleted)(?![a-zA-Z])")
_TOKEN = re.compile(rb"\\([a-zA-Z]{1,32})(-?\d{1,10})? ?|\\'[0-9a-fA-F]{0,2}|\\.?|[{}]|[^\\{}]+")
# Control words that put text on the page; everything else (structure, formatting,
# destinations) is kept even inside hidden text, so fonts and tables stay in step.
_TEXT_WORDS = frozenset(
    {
        b"u",
        b"tab",
        b"line",
        b"emdash",
        b"endash",
        b"emspace",
        b"enspace",
        b"qmspace",
        b"bullet",
        b"lquote",
        b"rquote",
        b"ldblquote",
        b"rdblquote",
        b"zwj",
        b"zwnj",
        b"ltrmark",
        b"rtlmark",
    }
)


def group_end(data: bytes, start: int) -> int:
    """The index just past the group that opens at `start` (the end when it never closes)."""
    depth = 0
    for brace in _BRACES.finditer(data, start):
        token = brace.group(0)
        if token == b"{":
            depth += 1
        elif token == b"}":
            depth -= 1
            if depth == 0:
                return brace.end()
    return len(data)


def canonical_font_table(text: str) -> str:
    """The font table rebuilt as one short entry per font: number and charset, found linearly."""
    start = _FONT_TABLE.search(text)
    if start is None:
        return text
    depth, end = 0, len(text)
    for brace in _TEXT_BRACES.finditer(text, start.start()):
        depth += {"{": 1, "}": -1}.get(brace.group(0), 0)
        if depth == 0:
            end = brace.end()
            break
    fonts: dict[str, str] = {}
    for entry in text[start.end() : end].split(";"):
        number, charset = _FONT_NUMBER.search(entry), _FONT_CHARSET.search(entry)
        if number and charset and len(fonts) < 1000:
            fonts.setdefault(number.group(1), charset.group(1))
    table = "".join(f"{{\\f{number}\\fcharset{charset} F;}}" for number, charset in fonts.items())
    # The words before `\fonttbl` go too: striprtf's regex runs over them as well, and a
    # long run of `\f1` there is as quadratic as one inside the table.
    return text[: start.start()] + "{\\fonttbl" + table + "}" + text[end:]


def cut_binary(data: bytes) -> bytes:
    r"""`\binN` and the N bytes after it removed."""
    if b"\\bin" not in data:
        return data
    pieces: list[bytes] = []
    position = 0
    for found in _BIN.finditer(data):
        if found.start() < position:
            continue
        pieces.append(data[position : found.start()])
        position = found.end() + int(found.group(1))
    pieces.append(data[position:])
    return b"".join(pieces)


def show_field_results(data: bytes) -> bytes:
    """Every field's result group made visible to striprtf, as Word shows it."""
    return _IGNORABLE_RESULT.sub(rb"\1", data) if b"fldrslt" in data else data


def drop_invisible(data: bytes) -> bytes:
    r"""Hidden (`\v`) and deleted (`\deleted`) text removed; `\plain` and groups end them."""
    if _INVISIBLE.search(data) is None:
        return data
    out: list[bytes] = []
    hidden = deleted = False
    stack: list[tuple[bool, bool]] = []
    for token in _TOKEN.finditer(data):
        text = token.group(0)
        word = token.group(1)
        if text == b"{":
            stack.append((hidden, deleted))
        elif text == b"}":
            hidden, deleted = stack.pop() if stack else (False, False)
        elif word is not None:
            argument = token.group(2)
            if word == b"v":
                hidden = argument != b"0"
            elif word == b"deleted":
                deleted = argument != b"0"
            elif word == b"plain":
                hidden = deleted = False
            elif (hidden or deleted) and word in _TEXT_WORDS:
                continue
        elif (hidden or deleted) and text != b"\\*":
            # Plain text, `\'hh` and control symbols such as `\~`: all of it is text.
            continue
        out.append(text)
    return b"".join(out)


def defuse_hyperlinks(text: str) -> str:
    r"""`\field{` in any case made `\field {`, which striprtf's hyperlink regex never matches."""
    return _FIELD.sub(r"\1 ", text)
