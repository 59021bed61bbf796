"""Reading what clients really send: RTF code pages and tabs, DOCX runs, controls and fields."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from typing import Literal

import pytest

from forms import parse_document
from forms.readers.docx import DocxReader
from forms.readers.rtf import RtfReader
from forms.result import ParseResult

TODAY = date(2026, 11, 25)
W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"

EINVOICE_LINES = [
    ("Veidlapas kods / Form code", "einvoice_access"),
    ("Pasūtītāja nosaukums", 'SIA "Ēķis"'),
    ("Reģistrācijas numurs", "40003056133"),
    ("Līguma numurs", "L-1"),
    ("Pilnvarotā persona (vārds, uzvārds)", "Jānis Bērziņš"),
    ("Datums", "20.11.2026"),
    ("Grāmatveža vārds", "Anna"),
    ("Grāmatveža uzvārds", "Liepiņa"),
    ("Grāmatveža e-pasts", "anna@ozols.lv"),
]


def rtf_escape_cp1257(text: str) -> str:
    """Text as RTF with Latvian letters as cp1257 hex escapes, the way Word writes them."""
    out = []
    for char in text:
        if ord(char) < 128:
            out.append(char)
        else:
            out.append(f"\\'{char.encode('cp1257')[0]:02x}")
    return "".join(out)


def make_docx(body: str) -> bytes:
    """A minimal DOCX whose body is the given WordprocessingML."""
    document = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<w:document xmlns:w="{W_NS}"><w:body>{body}</w:body></w:document>'
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.wordprocessingml.document.main+xml"/></Types>',
        )
        archive.writestr("word/document.xml", document)
    return buffer.getvalue()


def para(*runs: str) -> str:
    """A paragraph of plain runs."""
    return (
        "<w:p>"
        + "".join(f'<w:r><w:t xml:space="preserve">{r}</w:t></w:r>' for r in runs)
        + "</w:p>"
    )


def row(*cells: str) -> str:
    """A table row whose cells hold the given inner XML."""
    return "<w:tr>" + "".join(f"<w:tc>{c}</w:tc>" for c in cells) + "</w:tr>"


def einvoice_paragraphs(separator: str = ": ") -> str:
    """The einvoice form as `Label: value` paragraphs."""
    return "".join(para(f"{label}{separator}{value}") for label, value in EINVOICE_LINES)


def assert_einvoice(result: ParseResult) -> None:
    """The einvoice_access form read with every value and no error."""
    assert result.form_type == "einvoice_access"
    assert result.errors == []
    assert result.fields["customer_name"] == 'SIA "Ēķis"'
    assert result.fields["accountant_last_name"] == "Liepiņa"
    assert result.fields["signed_date"] == "2026-11-20"


def test_rtf_baltic_codepage_hex_escapes() -> None:
    """An RTF in code page 1257 with hex-escaped bytes reads Latvian letters right."""
    body = "".join(
        f"\\pard {rtf_escape_cp1257(label)}:\\tab {rtf_escape_cp1257(value)}\\par\n"
        for label, value in EINVOICE_LINES
    )
    data = ("{\\rtf1\\ansi\\ansicpg1257\\deff0{\\fonttbl{\\f0 Arial;}}\n" + body + "}").encode()
    assert_einvoice(parse_document("form.rtf", data, today=TODAY))


def test_rtf_baltic_font_charset() -> None:
    """A cp1252 RTF whose font declares the Baltic charset (186) decodes that font's text so."""
    body = "".join(
        f"\\pard\\f1 {rtf_escape_cp1257(label)}: {rtf_escape_cp1257(value)}\\par\n"
        for label, value in EINVOICE_LINES
    )
    data = (
        "{\\rtf1\\ansi\\ansicpg1252\\deff0{\\fonttbl{\\f0\\fcharset0 Arial;}"
        "{\\f1\\fswiss\\fcharset186 Arial Baltic;}}\n" + body + "}"
    ).encode()
    assert_einvoice(parse_document("form.rtf", data, today=TODAY))


def test_rtf_unicode_escapes() -> None:
    """Unicode escapes with fallback characters read as Unicode."""

    def escape(text: str) -> str:
        return "".join(c if ord(c) < 128 else f"\\u{ord(c)}?" for c in text)

    body = "".join(
        f"\\pard {escape(label)}\\tab\\tab {escape(value)}\\par\n"
        for label, value in EINVOICE_LINES
    )
    data = ("{\\rtf1\\ansi\\uc1\\deff0{\\fonttbl{\\f0 Arial;}}\n" + body + "}").encode()
    assert_einvoice(parse_document("form.rtf", data, today=TODAY))


def test_rtf_table_cells_and_two_line_label() -> None:
    """RTF table rows read as cells; a label cell with LV and EN on two lines matches."""
    data = (
        b"{\\rtf1\\ansi{\\fonttbl{\\f0 Arial;}}\\pard Veidlapas kods / Form code: user_add\\par"
        b"\\trowd\\cellx3000\\cellx6000\\pard\\intbl Pas\\u363?t\\u299?t\\u257?ja nosaukums\\par"
        b" Customer name\\cell SIA Ozols | Partneri\\cell\\row"
        b"\\pard After the table\\par}"
    )
    rows = RtfReader().extract(data)
    assert rows[1].cells == ("Pasūtītāja nosaukums\nCustomer name", "SIA Ozols | Partneri")
    assert rows[1].table == 1
    assert rows[2].cells == ("After the table",)
    result = parse_document("form.rtf", data, today=TODAY)
    assert result.fields["customer_name"] == "SIA Ozols | Partneri"


def test_labels_without_diacritics_in_other_case() -> None:
    """Labels typed without diacritics, in capitals, with extra spaces still match."""
    lines = [("VEIDLAPAS KODS", "einvoice_access")] + [
        ("  " + label.upper().replace("Ā", "A").replace("Ī", "I").replace("Ū", "U") + "  ", value)
        for label, value in EINVOICE_LINES[1:]
    ]
    body = "".join(para(f"{label}  {value}") for label, value in lines)
    assert_einvoice(parse_document("form.docx", make_docx(body), today=TODAY))


def test_english_only_labels() -> None:
    """A form carrying only the English labels reads the same."""
    english = [
        ("Form code", "einvoice_access"),
        ("Customer name", 'SIA "Ēķis"'),
        ("Registration number", "40003056133"),
        ("Contract number", "L-1"),
        ("Authorized person (name, surname)", "Jānis Bērziņš"),
        ("Date", "20.11.2026"),
        ("Accountant's first name", "Anna"),
        ("Accountant's surname", "Liepiņa"),
        ("Accountant's e-mail", "anna@ozols.lv"),
    ]
    body = "".join(para(f"{label}:\t{value}") for label, value in english)
    assert_einvoice(parse_document("form.docx", make_docx(body), today=TODAY))


def test_docx_value_split_over_runs() -> None:
    """A value Word split into several runs (spell check, formatting) reads whole."""
    body = (
        einvoice_paragraphs()
        + "<w:tbl>"
        + row(para("Amats"), para("val", "des ", "loceklis"))
        + "</w:tbl>"
    )
    result = parse_document("form.docx", make_docx(body), today=TODAY)
    assert result.fields["submitter_position"] == "valdes loceklis"


def test_docx_content_control_in_cell() -> None:
    """A cell-level content control's text is the value; a placeholder is no value."""
    control = (
        "<w:sdt><w:sdtPr><w:tag w:val='x'/></w:sdtPr><w:sdtContent>"
        + para("valdes loceklis")
        + "</w:sdtContent></w:sdt>"
    )
    placeholder = (
        "<w:sdt><w:sdtPr><w:showingPlcHdr/></w:sdtPr><w:sdtContent>"
        + para("Click or tap here to enter text.")
        + "</w:sdtContent></w:sdt>"
    )
    body = (
        einvoice_paragraphs()
        + "<w:tbl>"
        + row(para("Amats / Position"), control)
        + row(para("Kontaktpersonas tālrunis"), placeholder)
        + "</w:tbl>"
    )
    result = parse_document("form.docx", make_docx(body), today=TODAY)
    assert result.fields["submitter_position"] == "valdes loceklis"
    assert result.fields["submitter_phone"] is None
    assert result.errors == []


def test_docx_row_level_content_control() -> None:
    """Rows wrapped in a repeating-section content control are still rows."""
    body = (
        einvoice_paragraphs()
        + "<w:tbl><w:sdt><w:sdtContent>"
        + row(para("Amats"), para("jurists"))
        + "</w:sdtContent></w:sdt></w:tbl>"
    )
    result = parse_document("form.docx", make_docx(body), today=TODAY)
    assert result.fields["submitter_position"] == "jurists"


def test_docx_legacy_text_form_field() -> None:
    """A legacy FORMTEXT field's result is the value; its instruction text is not."""
    field = (
        '<w:p><w:r><w:t xml:space="preserve">Amats: </w:t></w:r>'
        '<w:r><w:fldChar w:fldCharType="begin"><w:ffData><w:name w:val="Text1"/>'
        "<w:textInput/></w:ffData></w:fldChar></w:r>"
        '<w:r><w:instrText xml:space="preserve"> FORMTEXT </w:instrText></w:r>'
        '<w:r><w:fldChar w:fldCharType="separate"/></w:r>'
        "<w:r><w:t>jurists</w:t></w:r>"
        '<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>'
    )
    result = parse_document("form.docx", make_docx(einvoice_paragraphs() + field), today=TODAY)
    assert result.fields["submitter_position"] == "jurists"


def test_docx_legacy_checkboxes_choose_action() -> None:
    """Legacy FORMCHECKBOX fields tick the suspend/resume choice."""

    def box(checked: bool) -> str:
        state = '<w:checked w:val="1"/>' if checked else '<w:default w:val="0"/>'
        return (
            f'<w:r><w:fldChar w:fldCharType="begin"><w:ffData><w:checkBox>{state}'
            "</w:checkBox></w:ffData></w:fldChar></w:r><w:r><w:instrText> FORMCHECKBOX "
            '</w:instrText></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r>'
        )

    action = (
        f"<w:p>{box(False)}<w:r><w:t xml:space='preserve'> pārtraukt / suspend</w:t></w:r></w:p>"
        f"<w:p>{box(True)}<w:r><w:t xml:space='preserve'> atjaunot / resume</w:t></w:r></w:p>"
    )
    common = "".join(para(f"{label}: {value}") for label, value in EINVOICE_LINES[1:6])
    body = (
        para("Veidlapas kods / Form code: contract_suspend")
        + common
        + "<w:tbl>"
        + row(para("Darbība") + para("Action"), action)
        + "</w:tbl>"
    )
    result = parse_document("form.docx", make_docx(body), today=TODAY)
    assert result.errors == []
    assert result.fields["action"] == "resume"


def test_docx_deleted_text_ignored() -> None:
    """Tracked deletions are not read as the value."""
    body = einvoice_paragraphs() + (
        "<w:p><w:r><w:t xml:space='preserve'>Amats: </w:t></w:r>"
        "<w:del><w:r><w:delText>direktors</w:delText></w:r></w:del>"
        "<w:ins><w:r><w:t>jurists</w:t></w:r></w:ins></w:p>"
    )
    result = parse_document("form.docx", make_docx(body), today=TODAY)
    assert result.fields["submitter_position"] == "jurists"


def test_swift_label_with_its_own_slash() -> None:
    """`SWIFT/BIC kods / SWIFT/BIC code: …` finds the SWIFT field despite the extra slashes."""
    lines = [("Veidlapas kods", "requisites_change"), *EINVOICE_LINES[1:6]]
    lines += [
        ("SWIFT/BIC kods / SWIFT/BIC code", "habalv22"),
        ("Konta numurs (IBAN)", "LV87HABA0551012345678"),
    ]
    body = "".join(para(f"{label}: {value}") for label, value in lines)
    result = parse_document("form.docx", make_docx(body), today=TODAY)
    assert result.errors == []
    assert result.fields["new_swift"] == "HABALV22"
    assert result.fields["new_iban"] == "LV87HABA0551012345678"


def test_unknown_text_is_ignored() -> None:
    """Text that is no label adds nothing and costs nothing."""
    body = (
        para("Sveiki! Lūdzam piešķirt piekļuvi.")
        + einvoice_paragraphs()
        + para("Piezīmes: steidzami")
    )
    result = parse_document("form.docx", make_docx(body), today=TODAY)
    assert_einvoice(result)
    assert "steidzami" not in str(result.fields)


def test_blank_line_fillers_are_empty() -> None:
    """Underscores and dots left from a printed form are no value."""
    body = (
        einvoice_paragraphs()
        + para("Amats: ______________")
        + para("Kontaktpersonas tālrunis: ........")
    )
    result = parse_document("form.docx", make_docx(body), today=TODAY)
    assert result.errors == []
    assert result.fields["submitter_position"] is None


def test_form_found_by_title_without_code() -> None:
    """With no code line, the form's title identifies it."""
    body = para("Iesniegums par piekļuvi elektroniskajiem rēķiniem") + "".join(
        para(f"{label}: {value}") for label, value in EINVOICE_LINES[1:]
    )
    assert_einvoice(parse_document("form.docx", make_docx(body), today=TODAY))


def test_unknown_form_lists_the_forms() -> None:
    """A document naming no form is 'unknown_form', and the message lists every form."""
    result = parse_document(
        "letter.docx", make_docx(para("Labdien! Lūdzu mainīt lietotāju.")), today=TODAY
    )
    assert result.form_type is None
    (error,) = result.errors
    assert error.code == "unknown_form"
    assert "Iesniegums par lietotāja maiņu (user_change)" in error.message_lv
    assert "Application for change of user (user_change)" in error.message_en


def test_conflicting_values_are_an_error() -> None:
    """The same field given twice with different values is an error, not a pick."""
    body = einvoice_paragraphs() + para("Grāmatveža e-pasts: cits@ozols.lv")
    result = parse_document("form.docx", make_docx(body), today=TODAY)
    assert {(e.field, e.code) for e in result.errors} == {
        ("accountant_email", "conflicting_values")
    }
    assert result.fields["accountant_email"] is None


def test_docx_reader_keeps_tables_apart() -> None:
    """Rows of two tables carry different table numbers; paragraphs carry none."""
    body = (
        "<w:tbl>"
        + row(para("a"), para("b"))
        + "</w:tbl>"
        + para("x")
        + "<w:tbl>"
        + row(para("c"))
        + "</w:tbl>"
    )
    rows = DocxReader().extract(make_docx(body))
    assert [(r.cells, r.table) for r in rows] == [(("a", "b"), 1), (("x",), None), (("c",), 2)]


@pytest.mark.parametrize("fmt", ["docx", "rtf"])
def test_parse_is_pure_and_repeatable(fmt: Literal["docx", "rtf"]) -> None:
    """The same bytes give the same result every time."""
    from forms import render_form
    from forms.samples import sample_values

    data = render_form("user_add", fmt, sample_values("user_add"))
    assert parse_document("a", data, today=TODAY) == parse_document("b", data, today=TODAY)


def test_rtf_linked_email_reads_as_the_address() -> None:
    """An e-mail Word turned into a mailto HYPERLINK field reads as the plain address."""
    lines = "".join(
        f"\\pard {rtf_escape_cp1257(label)}: {rtf_escape_cp1257(value)}\\par\n"
        for label, value in EINVOICE_LINES
        if label != "Grāmatveža e-pasts"
    )
    link = (
        "\\pard Gr\\'e2matve\\'fea e-pasts:\\tab {\\field{\\*\\fldinst{HYPERLINK "
        '"mailto:anna@ozols.lv"}}{\\fldrslt {\\ul anna@ozols.lv}}}\\par\n'
    )
    data = ("{\\rtf1\\ansi\\ansicpg1257{\\fonttbl{\\f0 Arial;}}\n" + lines + link + "}").encode()
    result = parse_document("form.rtf", data, today=TODAY)
    assert result.errors == []
    assert result.fields["accountant_email"] == "anna@ozols.lv"


@pytest.mark.parametrize(
    "data",
    [
        b"{\\rtf1{\\fonttbl " + b"\\f1 " * 50_000 + b"}}",
        b"{\\rtf1 " + b'{\\field{\\*\\fldinst{HYPERLINK "a' * 20_000 + b"}",
    ],
    ids=["font-table", "hyperlinks"],
)
def test_rtf_crafted_to_stall_striprtf_gets_a_result(data: bytes) -> None:
    """Inputs that send striprtf's own regexes into quadratic time still get an answer."""
    result = parse_document("crafted.rtf", data, today=TODAY)
    assert [error.code for error in result.errors] == ["unknown_form"]
