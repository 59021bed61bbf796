"""Client text escaped for Markdown renders as exactly that text: no link, image or emphasis."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from flows.markdown import code_span, escape_markdown

COMMONMARK = MarkdownIt("commonmark")
HOSTILE = [
    "[click](javascript:alert(1))",
    "**APPROVED BY ADMIN**",
    "form`` ![p](http://127.0.0.1:9/p.png) ``.docx",
    "![p](http://127.0.0.1:9/p.png)",
    '<img src="http://127.0.0.1:9/p.png">',
    "# heading",
    "- item\n# heading\n> quote",
    "1. first",
    "SIA\n===",
    "<http://127.0.0.1:9/x>",
    "&lt;b&gt; &#42;x&#42;",
    "a\\*b\\*",
    "_under_ ~~struck~~ | cell |",
    "    indented code",
]


def html_text(text: str) -> str:
    """Text as markdown-it writes it in HTML."""
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def one_line(text: str) -> str:
    """The text as it should show: line breaks of any kind as spaces, trimmed."""
    return re.sub(r"\r\n|[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]", " ", text).strip()


def rendered(markdown: str) -> str:
    """The HTML CommonMark makes of the Markdown."""
    html: str = COMMONMARK.render(markdown)
    return html


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_render_as_their_own_text(value: str) -> None:
    """Each hostile value renders as one paragraph of its own text, newlines as spaces."""
    html = rendered(escape_markdown(value))
    assert html == f"<p>{html_text(one_line(value))}</p>\n"
    for tag in ("<a", "<img", "<h1", "<em", "<strong", "<code", "<blockquote", "<ol", "<ul"):
        assert tag not in html


@pytest.mark.parametrize("value", HOSTILE)
def test_escaped_value_inside_review_markup_stays_inside(value: str) -> None:
    """In a bullet after a bold label, an escaped value adds no element of its own."""
    html = rendered(f"- **Label:** {escape_markdown(value)}\n- **Next:** x")
    assert html.count("<strong>") == 2
    assert html.count("<li>") == 2
    assert "<a" not in html
    assert "<img" not in html
    assert "<h1" not in html


def test_gfm_autolinks_are_broken() -> None:
    """Bare URLs and e-mail addresses, which GFM links without syntax, keep no linkable form."""
    escaped = escape_markdown("www.example.lv http://127.0.0.1:9/p.png anna@ozols.lv")
    assert "www." not in escaped
    assert re.search(r"[^\\]://", escaped) is None
    assert re.search(r"[^\\]@", escaped) is None
    assert rendered(escaped) == "<p>www.example.lv http://127.0.0.1:9/p.png anna@ozols.lv</p>\n"


@pytest.mark.parametrize(
    "name", ["form.docx", "a`b.docx", "``x``", "`lead", "trail`", "![p](http://127.0.0.1:9/p.png)"]
)
def test_code_span_holds_any_file_name(name: str) -> None:
    """A file name with backticks stays inside one code span and renders literally."""
    html = rendered(code_span(name))
    assert html == f"<p><code>{html_text(name)}</code></p>\n"


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.characters(codec="utf-8", exclude_characters="\x00"),
        max_size=60,
    )
)
def test_any_text_renders_as_itself(text: str) -> None:
    """Whatever the text, its escaped form renders as that text (newlines as spaces)."""
    expected = one_line(text)
    html = rendered(escape_markdown(text))
    assert html == (f"<p>{html_text(expected)}</p>\n" if expected else "")
