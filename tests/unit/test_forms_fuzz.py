"""Random and mutated bytes: the parser always answers with a result, never an exception."""

from __future__ import annotations

from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forms import parse_document, render_form, sniff_format
from forms.result import ParseResult
from forms.samples import sample_values

TODAY = date(2026, 11, 25)
SEEDS = {
    "docx": render_form("user_add", "docx", sample_values("user_add")),
    "rtf": render_form("contract_suspend", "rtf", sample_values("contract_suspend")),
}


def mutate(data: bytes, edits: list[tuple[int, int]], cut: int | None) -> bytes:
    """The bytes with some positions overwritten and maybe cut short."""
    mutable = bytearray(data)
    for position, value in edits:
        mutable[position % len(mutable)] = value
    return bytes(mutable[:cut] if cut is not None else mutable)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=4096), name=st.sampled_from(["a.docx", "a.rtf", "a", "a.pdf"]))
def test_random_bytes_give_a_result(data: bytes, name: str) -> None:
    """Any bytes at all give a ParseResult with an error, and sniffing never raises."""
    result = parse_document(name, data, today=TODAY)
    assert isinstance(result, ParseResult)
    assert result.errors
    assert sniff_format(name, data) in {
        "docx",
        "rtf",
        "doc",
        "pdf",
        "odt",
        "image",
        "zip",
        "unknown",
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fmt=st.sampled_from(["docx", "rtf"]),
    edits=st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), max_size=20),
    cut=st.one_of(st.none(), st.integers(min_value=0, max_value=40000)),
)
def test_mutated_forms_give_a_result(
    fmt: str, edits: list[tuple[int, int]], cut: int | None
) -> None:
    """A real form with bytes flipped or cut short gives a result, never an exception."""
    result = parse_document(f"form.{fmt}", mutate(SEEDS[fmt], edits, cut), today=TODAY)
    assert isinstance(result, ParseResult)
    assert result.form_type is not None or result.errors


@settings(max_examples=40, deadline=None)
@given(text=st.text(max_size=300))
def test_random_rtf_text_gives_a_result(text: str) -> None:
    """Arbitrary text inside an RTF envelope, control words included, gives a result."""
    data = ("{\\rtf1\\ansi " + text + "}").encode("utf-8", "surrogatepass")
    assert isinstance(parse_document("a.rtf", data, today=TODAY), ParseResult)
