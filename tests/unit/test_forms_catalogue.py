"""The catalogue: seven forms, FORMS.md's labels, and labels that cannot be mistaken."""

from __future__ import annotations

from datetime import date

import pytest

from forms import parse_document
from forms.catalogue import COMMON_FIELDS, FORM_CODES, FORMS, form_by_code
from forms.labels import label_variants


def test_seven_forms_in_catalogue_order() -> None:
    """The catalogue holds FORMS.md's seven forms, found by code."""
    assert FORM_CODES == (
        "user_change",
        "user_add",
        "user_block",
        "fee_increase",
        "requisites_change",
        "contract_suspend",
        "einvoice_access",
    )
    assert form_by_code("fee_increase") is FORMS[3]
    assert form_by_code("nope") is None


def test_common_block_first_in_every_form() -> None:
    """Every form starts with the common block, required fields as FORMS.md marks them."""
    required = {f.key for f in COMMON_FIELDS if f.required}
    assert required == {"customer_name", "reg_no", "contract_no", "submitter_name", "signed_date"}
    for form in FORMS:
        assert form.fields[: len(COMMON_FIELDS)] == COMMON_FIELDS


@pytest.mark.parametrize("code", FORM_CODES)
def test_no_two_fields_share_a_label(code: str) -> None:
    """Within a form, no label variant names two fields: matching never has to guess."""
    definition = form_by_code(code)
    assert definition is not None
    for group in (definition.fields, definition.table.columns if definition.table else ()):
        seen: dict[tuple[str, ...], str] = {}
        for field in group:
            for variant in label_variants(field.label_lv, field.label_en):
                assert seen.setdefault(variant, field.key) == field.key, variant


def test_label_without_its_parenthesis() -> None:
    """`Jaunā abonentmaksa: 130 EUR` (no `(EUR mēnesī)`) still names new_fee."""
    text = (
        "{\\rtf1\\ansi\\pard Veidlapas kods: fee_increase\\par"
        "\\pard Pas\\u363?t\\u299?t\\u257?ja nosaukums: SIA Ozols\\par"
        "\\pard Re\\u291?istr\\u257?cijas numurs: 40003056133\\par"
        "\\pard L\\u299?guma numurs: L-1\\par"
        "\\pard Pilnvarot\\u257? persona: J\\u257?nis Ozols\\par"
        "\\pard Datums: 20.11.2026\\par"
        "\\pard Jaun\\u257? abonentmaksa: 130 EUR\\par}"
    )
    result = parse_document("f.rtf", text.encode(), today=date(2026, 11, 25))
    assert result.errors == []
    assert result.fields["new_fee"] == "130.00"
    assert result.fields["submitter_name"] == "Jānis Ozols"
