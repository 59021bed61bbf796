"""Only what Word shows is read: field results yes; hidden, deleted text and other tables no."""

from __future__ import annotations

import io
import warnings
import zipfile
from datetime import date

import pytest

from forms import parse_document
from forms.readers.rtf import RtfReader
from tests.unit.test_forms_readers import (
    EINVOICE_LINES,
    W_NS,
    assert_einvoice,
    einvoice_paragraphs,
    make_docx,
    para,
    row,
)

TODAY = date(2026, 11, 25)
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"


def u(text: str) -> str:
    r"""Text as RTF, non-ASCII letters as `\uN?` escapes."""
    return "".join(c if ord(c) < 128 else f"\\u{ord(c)}?" for c in text)


def rtf(body: str) -> bytes:
    """An RTF document around the given body."""
    return ("{\\rtf1\\ansi\\ansicpg1257\\uc1{\\fonttbl{\\f0 Arial;}}\n" + body + "}").encode()


def einvoice_rtf(replace: dict[str, str] | None = None) -> str:
    """The einvoice form as RTF paragraphs; `replace` gives a label's value as raw RTF."""
    replace = replace or {}
    return "".join(
        f"\\pard {u(label)}: {replace.get(label, u(value))}\\par\n"
        for label, value in EINVOICE_LINES
    )


def test_rtf_abiword_hyperlink_field_result_is_read() -> None:
    r"""AbiWord's `{\*\fldrslt}` of a mailto HYPERLINK field is what the form says."""
    link = (
        '{\\field{\\*\\fldinst HYPERLINK "mailto:anna@ozols.lv"}{\\*\\fldrslt{\\ul anna@ozols.lv}}}'
    )
    result = parse_document("a.rtf", rtf(einvoice_rtf({"Grāmatveža e-pasts": link})), today=TODAY)
    assert_einvoice(result)
    assert result.fields["accountant_email"] == "anna@ozols.lv"


@pytest.mark.parametrize(
    "hidden",
    [
        "{\\v  HIDDEN-EXTRA}",
        "\\v  HIDDEN-EXTRA\\v0 ",
        "\\v\\'e2 HIDDEN\\u363?EXTRA\\tab\\plain ",
        "{\\deleted\\revauth1  HIDDEN-EXTRA}",
    ],
    ids=["group", "toggle", "plain-ends-it", "tracked-deletion"],
)
def test_rtf_hidden_and_deleted_text_is_not_read(hidden: str) -> None:
    r"""Hidden (`\v`) or deleted text inside a value is left out, as Word shows the value."""
    value = u('SIA "Ēķis"') + hidden
    result = parse_document(
        "a.rtf", rtf(einvoice_rtf({"Pasūtītāja nosaukums": value})), today=TODAY
    )
    assert_einvoice(result)


def test_rtf_tracked_insertion_is_read() -> None:
    """A pending insertion shows in Word's final view, so it is read; the deletion is not."""
    value = "{\\deleted L-0}{\\revised L-1}"
    result = parse_document("a.rtf", rtf(einvoice_rtf({"Līguma numurs": value})), today=TODAY)
    assert_einvoice(result)
    assert result.fields["contract_no"] == "L-1"


def rtf_row(*cells: str, last: bool = False) -> str:
    r"""One RTF table row as LibreOffice writes it: definitions, then `\intbl` cells."""
    definition = (
        "\\trowd"
        + ("\\lastrow" if last else "")
        + "".join(f"\\cellx{1000 * (i + 1)}" for i in range(len(cells)))
    )
    body = "".join(f"\\pard\\plain\\intbl {u(cell)}\\cell" for cell in cells)
    return f"{definition}{body}\\row\\pard"


USERS_HEADER = ("Vārds", "Uzvārds", "Personas kods", "Amats", "E-pasts", "Tālrunis")
USER_ROW = ("Anna", "Liepiņa", "", "", "anna@ozols.lv", "")
COMMON = [
    ("Pasūtītāja nosaukums", 'SIA "Ozols"'),
    ("Reģistrācijas numurs", "40003056133"),
    ("Līguma numurs", "L-1"),
    ("Datums", "20.11.2026"),
]


def user_add_rtf(after_users: str) -> bytes:
    """A user_add form: code line, common fields, one user, then `after_users`."""
    lines = "".join(f"\\pard {u(label)}: {u(value)}\\par\n" for label, value in COMMON)
    return rtf(
        "\\pard Veidlapas kods / Form code: user_add\\par\n"
        + lines
        + rtf_row(*USERS_HEADER)
        + rtf_row(*USER_ROW, last="lastrow" in after_users)
        + after_users.replace("lastrow", "")
    )


@pytest.mark.parametrize(
    "after_users",
    [
        rtf_row("PILNVAROTĀ PERSONA (VĀRDS, UZVĀRDS)", "Jānis Bērziņš"),
        "lastrow" + rtf_row(*("PILNVAROTĀ PERSONA", "Jānis", "", "", "", "")),
        "\\par " + rtf_row(*("PILNVAROTĀ PERSONA", "Jānis", "", "", "", "")),
    ],
    ids=["fewer-cells", "lastrow", "empty-paragraph"],
)
def test_rtf_users_table_ends_where_the_next_table_starts(after_users: str) -> None:
    """Rows of the table after the users table (signature block) are not read as users."""
    result = parse_document("a.rtf", user_add_rtf(after_users), today=TODAY)
    assert result.fields["users"] == [
        {
            "first_name": "Anna",
            "last_name": "Liepiņa",
            "personal_code": None,
            "position": None,
            "email": "anna@ozols.lv",
            "phone": None,
        }
    ]


def test_rtf_rows_of_one_table_stay_together() -> None:
    """Consecutive rows with the same cells are still one table."""
    rows = RtfReader().extract(rtf(rtf_row("a", "b") + rtf_row("c", "d") + rtf_row("e")))
    assert [(r.cells, r.table) for r in rows] == [(("a", "b"), 1), (("c", "d"), 1), (("e",), 2)]


def hidden_run(text: str, vanish: str = "<w:vanish/>") -> str:
    """A run hidden by direct formatting."""
    return f'<w:r><w:rPr>{vanish}</w:rPr><w:t xml:space="preserve">{text}</w:t></w:r>'


def test_docx_hidden_runs_are_not_read() -> None:
    """`w:vanish` runs are left out; `w:vanish w:val="0"` is shown and read."""
    body = einvoice_paragraphs().replace(
        "Līguma numurs: L-1</w:t></w:r>",
        "Līguma numurs: L-</w:t></w:r>"
        + hidden_run("1", '<w:vanish w:val="0"/>')
        + hidden_run(" HIDDEN-EXTRA"),
    )
    result = parse_document("a.docx", make_docx(body), today=TODAY)
    assert_einvoice(result)
    assert result.fields["contract_no"] == "L-1"
    assert "HIDDEN" not in result.model_dump_json()


def test_docx_tracked_changes_read_as_final() -> None:
    """Insertions are read, deletions and deleted table rows are not (Word's 'final' view)."""
    cell_value = (
        '<w:p><w:del w:id="1" w:author="x"><w:r><w:delText>L-0</w:delText></w:r></w:del>'
        '<w:ins w:id="2" w:author="x"><w:r><w:t>L-1</w:t></w:r></w:ins></w:p>'
    )
    deleted_row = (
        '<w:tr><w:trPr><w:del w:id="3" w:author="x"/></w:trPr>'
        "<w:tc>" + para("Līguma numurs") + "</w:tc><w:tc>" + para("L-9") + "</w:tc></w:tr>"
    )
    lines = [(label, value) for label, value in EINVOICE_LINES if label != "Līguma numurs"]
    body = "".join(para(f"{label}: {value}") for label, value in lines)
    body += "<w:tbl>" + deleted_row + row(para("Līguma numurs"), cell_value) + "</w:tbl>"
    result = parse_document("a.docx", make_docx(body), today=TODAY)
    assert_einvoice(result)
    assert result.fields["contract_no"] == "L-1"


def with_members(data: bytes, extra: dict[str, str]) -> bytes:
    """The DOCX with members added (an existing name is added again, as a second entry)."""
    buffer = io.BytesIO(data)
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "a") as archive:
        warnings.simplefilter("ignore")  # zipfile warns of the duplicate name it writes
        for name, text in extra.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def test_docx_with_two_document_parts_is_refused() -> None:
    """A zip with two `word/document.xml` entries (Word reads one, a tool another) is refused."""
    first = make_docx(einvoice_paragraphs())
    twice = with_members(first, {"word/document.xml": make_docx_document(para("Other"))})
    with zipfile.ZipFile(io.BytesIO(twice)) as archive:
        assert [i.filename for i in archive.infolist()].count("word/document.xml") == 2
    result = parse_document("twice.docx", twice, today=TODAY)
    assert [e.code for e in result.errors] == ["unsafe_content"]


def make_docx_document(body: str) -> str:
    """The document part alone."""
    with zipfile.ZipFile(io.BytesIO(make_docx(body))) as archive:
        return archive.read("word/document.xml").decode()


def rels(*relationships: tuple[str, str, str]) -> str:
    """A relationships part: (type suffix, target, target mode)."""
    items = "".join(
        f'<Relationship Id="r{i}" Type="{R_NS}/{kind}" Target="{target}"'
        + (f' TargetMode="{mode}"' if mode else "")
        + "/>"
        for i, (kind, target, mode) in enumerate(relationships)
    )
    return f'<?xml version="1.0"?><Relationships xmlns="{PKG_RELS}">{items}</Relationships>'


@pytest.mark.parametrize(
    ("member", "relationship"),
    [
        (
            "word/_rels/settings.xml.rels",
            ("attachedTemplate", "http://127.0.0.1:9/t.dotm", "External"),
        ),
        ("word/_rels/document.xml.rels", ("aFChunk", "file://server/share/x.htm", "External")),
        ("word/_rels/document.xml.rels", ("image", "http://127.0.0.1:9/p.png", "external")),
        ("word/_rels/document.xml.rels", ("hyperlink", "file://server/share/x", "External")),
    ],
    ids=["attached-template", "altchunk", "linked-image", "file-hyperlink"],
)
def test_docx_external_relationship_warns_staff(
    member: str, relationship: tuple[str, str, str]
) -> None:
    """An outside address Word would fetch keeps the form but warns staff in LV and EN."""
    data = with_members(make_docx(einvoice_paragraphs()), {member: rels(relationship)})
    result = parse_document("linked.docx", data, today=TODAY)
    assert_einvoice(result)
    (warning,) = result.warnings
    assert warning.code == "external_link"
    assert "neatveriet" in warning.message_lv
    assert "do not open the original in Word" in warning.message_en


def test_docx_mailto_hyperlink_is_no_warning() -> None:
    """A mailto hyperlink (an e-mail address Word linked as it was typed) warns nobody."""
    link = rels(("hyperlink", "mailto:anna@ozols.lv", "External"))
    data = with_members(make_docx(einvoice_paragraphs()), {"word/_rels/document.xml.rels": link})
    result = parse_document("linked.docx", data, today=TODAY)
    assert_einvoice(result)
    assert result.warnings == []


@pytest.mark.parametrize(
    "outside",
    [
        '{\\field{\\*\\fldinst INCLUDEPICTURE "http://127.0.0.1:9/p.png" \\\\d}{\\fldrslt }}',
        "{\\*\\template http://127.0.0.1:9/t.dotm}",
    ],
    ids=["includepicture", "template"],
)
def test_rtf_outside_address_warns_staff(outside: str) -> None:
    """An RTF that makes Word fetch an address keeps the form but warns staff."""
    result = parse_document("a.rtf", rtf(outside + einvoice_rtf()), today=TODAY)
    assert_einvoice(result)
    assert [w.code for w in result.warnings] == ["external_link"]
    assert parse_document("a.rtf", rtf(einvoice_rtf()), today=TODAY).warnings == []


STYLES = f"""<?xml version="1.0" encoding="UTF-8"?>
<w:styles xmlns:w="{W_NS}">
<w:style w:type="character" w:styleId="Slepts"><w:name w:val="Hidden"/>
  <w:rPr><w:vanish/></w:rPr></w:style>
<w:style w:type="character" w:styleId="SleptsArI"><w:basedOn w:val="Slepts"/>
  <w:rPr><w:i/></w:rPr></w:style>
<w:style w:type="paragraph" w:styleId="SleptaRindkopa"><w:name w:val="Hidden paragraph"/>
  <w:rPr><w:vanish w:val="true"/></w:rPr></w:style>
<w:style w:type="character" w:styleId="Redzams"><w:basedOn w:val="Slepts"/>
  <w:rPr><w:vanish w:val="0"/></w:rPr></w:style>
</w:styles>"""


def styled_run(text: str, style: str) -> str:
    """A run with a character style."""
    return (
        f'<w:r><w:rPr><w:rStyle w:val="{style}"/></w:rPr>'
        f'<w:t xml:space="preserve">{text}</w:t></w:r>'
    )


def test_docx_text_hidden_by_a_style_is_not_read() -> None:
    """Character and paragraph styles that hide text (directly or by inheritance) hide it."""
    body = einvoice_paragraphs().replace(
        "Līguma numurs: L-1</w:t></w:r>",
        "Līguma numurs: L-</w:t></w:r>"
        + styled_run("1", "Redzams")
        + styled_run(" HIDDEN-A", "Slepts")
        + styled_run(" HIDDEN-B", "SleptsArI"),
    )
    body += (
        '<w:p><w:pPr><w:pStyle w:val="SleptaRindkopa"/></w:pPr>'
        "<w:r><w:t>Amats: HIDDEN-C</w:t></w:r></w:p>"
    )
    data = with_members(make_docx(body), {"word/styles.xml": STYLES})
    result = parse_document("styled.docx", data, today=TODAY)
    assert_einvoice(result)
    assert result.fields["contract_no"] == "L-1"
    assert result.fields["submitter_position"] is None
    assert "HIDDEN" not in result.model_dump_json()
