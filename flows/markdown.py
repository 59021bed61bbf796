r"""Client text made inert for the Markdown the Prefect UI renders (CommonMark + GFM).

What a client wrote reaches staff in the run name, the review artifact and the Resume dialog's
description, all rendered as Markdown with links, images and raw HTML. `escape_markdown` turns
any text into Markdown that renders as exactly that text on one line: every character that can
open inline syntax is backslash-escaped (CommonMark renders `\` + ASCII punctuation as the
character itself), line breaks become spaces so a value never starts a block, a marker at the
start is escaped in case the value does start a line, and what GFM turns into a link without
any syntax (`www.`, `http://`, an e-mail address) is broken up with an escape. `code_span` shows
text as code: no escapes work inside a code span, so the fence is made longer than any run of
backticks in the text instead.
"""

from __future__ import annotations

import re

# Inline syntax: emphasis, links and images, code, raw HTML and entities, tables,
# strikethrough, and the escape character itself.
_INLINE = frozenset("\\`*_[]()!<>&|~#")
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]")
# Block markers the inline set leaves, which count only at the start of a line: `-` and `+`
# (lists, rules), `=` (a setext underline), the dot of `1.` (an ordered list).
_LINE_START = re.compile(r"^\s*([-+=]|\d{1,9}(?=\.))")
# GFM's extended autolinks need no syntax: each is broken by escaping one character of it.
_AUTOLINK = re.compile(r"(?i)(?<=www)\.|:(?=//)|@")


def escape_markdown(text: str) -> str:
    """Markdown that renders as exactly this text, on one line, with no markup of its own."""
    # Whitespace around the text would only be dropped by the renderer, or, four spaces at a
    # line's start, make it a code block.
    one_line = _LINE_BREAKS.sub(" ", text).strip()
    escaped = "".join("\\" + char if char in _INLINE else char for char in one_line)
    escaped = _AUTOLINK.sub(lambda found: "\\" + found.group(0), escaped)
    start = _LINE_START.match(escaped)
    if start is None:
        return escaped
    # A marker is escaped where it stands; for `1.` that is the dot after the digits.
    at = start.end() if start.group(1).isdigit() else start.start(1)
    return escaped[:at] + "\\" + escaped[at:]


def code_span(text: str) -> str:
    """Text as an inline code span that no backtick in it can close."""
    one_line = _LINE_BREAKS.sub(" ", text)
    longest = max((len(run) for run in re.findall(r"`+", one_line)), default=0)
    fence = "`" * (longest + 1)
    # A space on each side keeps a backtick at either end from joining the fence; CommonMark
    # strips one such space from each side when rendering.
    return f"{fence} {one_line} {fence}"
