"""Forms saved by real producers read exactly: AbiWord, pandoc, LibreOffice from ODT and Flat ODT.

Each of the seven forms is filled (forms.samples), its contact e-mail made a mailto hyperlink as
Word does on typing it, and the user_add form gets a signature table right after its users
table (no paragraph between). The producers then save it — AbiWord and pandoc as RTF and DOCX,
LibreOffice through ODT and Flat ODT to RTF and DOCX — at test time, with the Debian packages
`make setup` installs (a missing one fails, never skips). Every field must read as filled.
"""

from __future__ import annotations

import copy
import io
import json
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import docx
import pytest
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

from forms import parse_document, render_form
from forms.catalogue import FORM_CODES, form_by_code
from forms.readers.rtf import RtfReader
from forms.samples import sample_values

pytestmark = pytest.mark.slow

TODAY = date(2026, 11, 25)
SIGNATURE_LABEL = "PILNVAROTĀ PERSONA (VĀRDS, UZVĀRDS)"
# (producer, how the file was made, output extension)
PRODUCTS = [
    ("abiword", "rtf"),
    ("abiword", "docx"),
    ("pandoc", "rtf"),
    ("pandoc", "docx"),
    ("lo-odt", "rtf"),
    ("lo-odt", "docx"),
    ("lo-fodt", "rtf"),
    ("lo-fodt", "docx"),
]


def tool(name: str) -> str:
    """The path of a producer's program; fails (never skips) when it is not installed."""
    path = shutil.which(name)
    assert path is not None, f"{name} is required: `make setup` installs it (system-deps)"
    return path


def run(*command: str) -> None:
    """Run a producer, failing with its output if it fails."""
    done = subprocess.run(command, capture_output=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")


def link_email(document: Any, email: str) -> None:
    """Make the run holding the e-mail a mailto hyperlink, as Word's autoformat does."""
    for run_element in document.element.body.iter(qn("w:r")):
        text = run_element.find(qn("w:t"))
        if text is not None and text.text == email:
            rel = document.part.relate_to(
                f"mailto:{email}", RELATIONSHIP_TYPE.HYPERLINK, is_external=True
            )
            link = OxmlElement("w:hyperlink")
            link.set(qn("r:id"), rel)
            run_element.addprevious(link)
            link.append(run_element)


def add_signature_table(document: Any) -> None:
    """Put a two-column signature table right after the users table, no paragraph between."""
    users_table = document.tables[-1]._tbl
    following = users_table.getnext()
    if following is not None and following.tag == qn("w:p"):
        following.getparent().remove(following)
    signature = document.add_table(rows=2, cols=2)
    signature.cell(0, 0).text = SIGNATURE_LABEL
    signature.cell(0, 1).text = "Jānis Bērziņš"
    signature.cell(1, 0).text = "PARAKSTS / SIGNATURE"
    users_table.addnext(signature._tbl)


def filled(code: str) -> bytes:
    """The form filled with its sample values, e-mail linked, user_add with a signature table."""
    values = sample_values(code)
    document = docx.Document(io.BytesIO(render_form(code, "docx", values)))
    link_email(document, values["submitter_email"])
    if code == "user_add":
        add_signature_table(document)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def hidden_and_tracked() -> bytes:
    """The einvoice form with hidden text after the name and a tracked change of contract."""
    values = sample_values("einvoice_access")
    document = docx.Document(io.BytesIO(render_form("einvoice_access", "docx", values)))
    for run_element in list(document.element.body.iter(qn("w:r"))):
        text = run_element.find(qn("w:t"))
        if text is None:
            continue
        if text.text == values["customer_name"]:
            hidden = copy.deepcopy(run_element)
            hidden_text = hidden.find(qn("w:t"))
            hidden_text.text = " HIDDEN-EXTRA"
            hidden_text.set(qn("xml:space"), "preserve")
            properties = hidden.find(qn("w:rPr"))
            if properties is None:
                properties = OxmlElement("w:rPr")
                hidden.insert(0, properties)
            properties.append(OxmlElement("w:vanish"))
            run_element.addnext(hidden)
        elif text.text == values["contract_no"]:
            deleted, inserted = OxmlElement("w:del"), OxmlElement("w:ins")
            for number, change in enumerate((deleted, inserted), start=90):
                change.set(qn("w:id"), str(number))
                change.set(qn("w:author"), "Klients")
                change.set(qn("w:date"), "2026-11-20T10:00:00Z")
            old = copy.deepcopy(run_element)
            old_text = old.find(qn("w:t"))
            old_text.tag = qn("w:delText")
            old_text.text = "L-0000/OLD"
            deleted.append(old)
            run_element.addprevious(deleted)
            run_element.addprevious(inserted)
            inserted.append(run_element)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def soffice(target: str, outdir: Path, sources: list[Path], profile: Path) -> None:
    """Convert files with LibreOffice in one call."""
    run(
        tool("soffice"),
        f"-env:UserInstallation=file://{profile}",
        "--headless",
        "--convert-to",
        target,
        "--outdir",
        str(outdir),
        *map(str, sources),
    )


@pytest.fixture(scope="module")
def products(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str, str], Path]:
    """Every form saved by every producer: (producer, extension, form code) → file."""
    root = tmp_path_factory.mktemp("producers")
    sources = []
    for code in FORM_CODES:
        source = root / "src" / f"{code}.docx"
        source.parent.mkdir(exist_ok=True)
        source.write_bytes(filled(code))
        sources.append(source)
    (root / "src" / "hidden_tracked.docx").write_bytes(hidden_and_tracked())
    sources.append(root / "src" / "hidden_tracked.docx")
    made: dict[tuple[str, str, str], Path] = {}
    converters: dict[str, Callable[[Path, Path], None]] = {
        "abiword": lambda source, out: run(
            tool("abiword"), f"--to={out.suffix[1:]}", "-o", str(out), str(source)
        ),
        "pandoc": lambda source, out: run(tool("pandoc"), "-s", str(source), "-o", str(out)),
    }
    for producer, convert in converters.items():
        for source in sources:
            for ext in ("rtf", "docx"):
                out = root / producer / f"{source.stem}.{ext}"
                out.parent.mkdir(exist_ok=True)
                convert(source, out)
                made[(producer, ext, source.stem)] = out
    profile = root / "profile"
    for middle in ("odt", "fodt"):
        soffice(middle, root / middle, sources, profile)
        between = [root / middle / f"{source.stem}.{middle}" for source in sources]
        for ext in ("rtf", "docx"):
            soffice(ext, root / f"lo-{middle}-{ext}", between, profile)
            for source in sources:
                made[(f"lo-{middle}", ext, source.stem)] = (
                    root / f"lo-{middle}-{ext}" / (f"{source.stem}.{ext}")
                )
    return made


def expected(code: str) -> dict[str, Any]:
    """Every field of the form as filled, in the parse result's JSON form."""
    form = form_by_code(code)
    assert form is not None
    values = dict.fromkeys(form.keys) | sample_values(code)
    parsed: dict[str, Any] = json.loads(json.dumps(values, default=str))
    return parsed


@pytest.mark.parametrize("code", FORM_CODES)
@pytest.mark.parametrize(("producer", "ext"), PRODUCTS)
def test_form_saved_by_a_real_producer_reads_exactly(
    products: dict[tuple[str, str, str], Path], producer: str, ext: str, code: str
) -> None:
    """Every field of a form saved by this producer reads exactly as it was filled."""
    path = products[(producer, ext, code)]
    result = parse_document(path.name, path.read_bytes(), today=TODAY)
    assert result.errors == []
    assert result.form_type == code
    assert result.fields == expected(code)


def test_abiword_writes_the_linked_e_mail_as_an_ignorable_field_result(
    products: dict[tuple[str, str, str], Path],
) -> None:
    r"""The AbiWord RTF really holds the e-mail only inside `{\*\fldrslt` — the case read."""
    data = products[("abiword", "rtf", "user_add")].read_bytes()
    assert b'HYPERLINK "mailto:valde0@ozols.lv"' in data
    assert b"{\\*\\fldrslt" in data


@pytest.mark.parametrize("producer", ["lo-odt", "lo-fodt"])
def test_libreoffice_rtf_signature_table_follows_the_users_table(
    products: dict[tuple[str, str, str], Path], producer: str
) -> None:
    """In LibreOffice's RTF the signature rows come right after the user rows, as another table."""
    rows = RtfReader().extract(products[(producer, "rtf", "user_add")].read_bytes())
    (last_user,) = [i for i, row in enumerate(rows) if "user2.0@ozols.lv" in row.cells]
    (signature,) = [i for i, row in enumerate(rows) if row.cells[0] == SIGNATURE_LABEL]
    between = rows[last_user + 1 : signature]
    # Only the users table's empty rows lie between: no paragraph separates the two tables.
    assert all(row.table == rows[last_user].table and not "".join(row.cells) for row in between)
    assert rows[signature].table != rows[last_user].table


@pytest.mark.parametrize(
    ("producer", "ext"),
    [
        ("lo-odt", "rtf"),
        ("lo-odt", "docx"),
        ("lo-fodt", "rtf"),
        ("lo-fodt", "docx"),
        ("abiword", "rtf"),
    ],
)
def test_hidden_and_deleted_text_stays_out_after_a_producer(
    products: dict[tuple[str, str, str], Path], producer: str, ext: str
) -> None:
    """Hidden text and a tracked deletion, saved by a producer that keeps them, are not read."""
    path = products[(producer, ext, "hidden_tracked")]
    data = path.read_bytes()
    if ext == "docx":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            assert b"HIDDEN-EXTRA" in archive.read("word/document.xml")
    else:
        assert b"HIDDEN-EXTRA" in data
    result = parse_document(path.name, data, today=TODAY)
    assert result.errors == []
    assert result.fields == expected("einvoice_access")
