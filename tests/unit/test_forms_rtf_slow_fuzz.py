"""Fuzz the RTF path for SLOW inputs: CPU time per KB stays bounded, whatever the markup.

A crash fuzzer misses what hurt us: inputs that are read correctly, only in minutes (striprtf's
regexes went quadratic on a crafted font table or field). Here hypothesis builds a short run of
RTF tokens — the ones striprtf and our rewrites treat specially, in odd cases and spacing — and
repeats it to ~48 KB, the amplification that turns a superlinear step into seconds. The bound
is generous: a linear read costs about 1.5 ms of CPU per KB at worst (plain text, one token
per character), the bound is 20 ms per KB; a quadratic step at this size costs far more. CPU
time, not wall time, so a loaded CI machine does not fail it. The examples are capped so the
test ends well inside a minute; `DOCINTAKE_FUZZ_EXAMPLES` runs it longer by hand.
"""

from __future__ import annotations

import os
import time
from datetime import date

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from forms import parse_document

TODAY = date(2026, 11, 25)
TARGET_BYTES = 48 * 1024
MAX_CPU_MS_PER_KB = 20.0
EXAMPLES = int(os.environ.get("DOCINTAKE_FUZZ_EXAMPLES", "40"))

TOKENS = [
    "{",
    "}",
    "\\",
    "\\\\",
    "\\{",
    "\\field",
    "\\FIELD",
    "\\FiElD{",
    "{\\field{",
    "{\\*\\fldinst{HYPERLINK ",
    "HYPERLINK ",
    "hyperlink",
    '"',
    '"a',
    "\\fldinst",
    "\\fldrslt",
    "{\\*\\fldrslt",
    "\\fonttbl",
    "{\\fonttbl",
    "{ \\fonttbl",
    "{\\*\\fonttbl",
    "{\\f0\\fonttbl",
    "\\f1",
    "\\f12 ",
    "\\fcharset186",
    "\\fcharset0 ",
    ";",
    "\\pict",
    "{\\pict",
    "\\bin",
    "\\bin3 ",
    "\\bin0",
    "\\'e2",
    "\\'",
    "\\u257?",
    "\\u-3",
    "\\uc2",
    "\\v",
    "\\v0",
    "\\deleted",
    "\\plain",
    "\\*",
    "\\cell",
    "\\row",
    "\\nestrow",
    "\\lastrow",
    "\\intbl",
    "\\pard",
    "\\par",
    "\\trowd",
    "\\cellx100",
    "\\ansicpg1257",
    "\\ansicpg932",
    "\\tab",
    " ",
    "\r\n",
    "Veidlapas kods / Form code: ",
    "user_add",
    "Datums: ",
    "a",
    "x" * 40,
    "\x1c",
    "\x1f",
    "\xe2",
]

token = st.one_of(
    st.sampled_from(TOKENS), st.text(alphabet="{}\\ ;\"'*abcfvx0123456789", max_size=6)
)
# Short runs: a repeated unit of one to six tokens between a short head and tail is the shape
# every slow input found so far had (`{` + `\f1 ` * n + `\fonttbl}`).
edges = st.lists(token, max_size=4).map("".join)
units = st.lists(token, min_size=1, max_size=6).map("".join)


@pytest.mark.timeout(600)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
@given(head=edges, unit=units, tail=edges)
# Every slow input met so far, kept as examples the search always tries first.
@example(head="{", unit="\\f1 ", tail="\\fonttbl}")
@example(head="{ \\fonttbl", unit="\\f1 ", tail="}")
@example(head="{\\*\\fonttbl", unit="\\f1 ", tail="}")
@example(head="", unit='{\\FIELD{\\*\\fldinst{HYPERLINK "a', tail="")
@example(head="\\pict", unit="x", tail="\\bin ")
def test_rtf_cpu_time_per_kb_is_bounded(head: str, unit: str, tail: str) -> None:
    """Any RTF made of a repeated token run is read in bounded CPU time per KB."""
    body = unit.encode("utf-8", "surrogatepass")
    # An empty unit makes a tiny document, whose fixed costs say nothing per KB.
    assume(body)
    repeats = max(1, TARGET_BYTES // max(1, len(body)))
    data = b"{\\rtf1\\ansi " + head.encode() + body * repeats + tail.encode() + b"}"
    started = time.process_time()
    result = parse_document("fuzz.rtf", data, today=TODAY)
    spent_ms = (time.process_time() - started) * 1000
    assert result.errors or result.form_type is not None
    assert spent_ms / (len(data) / 1024) <= MAX_CPU_MS_PER_KB, (spent_ms, len(data), unit[:200])
