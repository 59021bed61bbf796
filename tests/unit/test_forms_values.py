"""The value normalizers of forms.values, shared with the books import."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from forms import values
from forms.values import InvalidValue


@pytest.mark.parametrize(
    "raw", ["40003056133", "LV 4000 3056 133", "lv40003056133", " 4000-3056133 "]
)
def test_reg_no_tolerates_prefix_and_spaces(raw: str) -> None:
    """A registration number comes back as its 11 digits, whatever the spacing or LV prefix."""
    assert values.normalize_reg_no(raw) == "40003056133"


def test_reg_no_with_ten_digits_says_eleven() -> None:
    """FORMS.md's own example: ten digits is refused with 'must be 11 digits' in both languages."""
    with pytest.raises(InvalidValue) as caught:
        values.normalize_reg_no("4000305613")
    lv, en = caught.value.describe("Reģistrācijas numurs", "Registration number", "4000305613")
    assert lv == 'Reģistrācijas numurs: "4000305613" — jābūt 11 cipariem'
    assert en == 'Registration number: "4000305613" — must be 11 digits'


def test_reg_no_checksum_is_checked() -> None:
    """A typo in the last digit is caught by the check digit."""
    with pytest.raises(InvalidValue, match="check digit"):
        values.normalize_reg_no("40003056134")


def test_personal_code_in_reg_no_is_refused() -> None:
    """A personal code (first digit 0–3) is not a company's registration number."""
    with pytest.raises(InvalidValue) as caught:
        values.normalize_reg_no("161175-19997")
    assert caught.value.code == "personal_code_as_reg_no"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("16117519997", "161175-19997"),
        ("161175-19997", "161175-19997"),
        ("32867300679", "328673-00679"),
    ],
)
def test_personal_code_shapes(raw: str, expected: str) -> None:
    """Old and new personal codes come back as DDMMYY-NNNNN with the hyphen."""
    assert values.normalize_personal_code(raw) == expected


@pytest.mark.parametrize("raw", ["161375-19997", "328673-00677", "1611751999", "40003056133"])
def test_personal_code_invalid(raw: str) -> None:
    """A wrong birth date, check digit, length or a company number is refused."""
    with pytest.raises(InvalidValue):
        values.normalize_personal_code(raw)


def test_email_domain_lowered_local_kept() -> None:
    """The domain is lower-cased; the local part stays as written."""
    assert values.normalize_email(" Janis.Berzins@OZOLS.LV ") == "Janis.Berzins@ozols.lv"


@pytest.mark.parametrize("raw", ["janis@", "janis ozols.lv", "@ozols.lv", "janis@@ozols.lv"])
def test_email_invalid(raw: str) -> None:
    """Broken addresses are refused without any DNS look-up."""
    with pytest.raises(InvalidValue):
        values.normalize_email(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("29123456", "+37129123456"),
        ("+371 29 123 456", "+37129123456"),
        ("00371-29123456", "+37129123456"),
        ("371 29123456", "+37129123456"),
        ("+49 30 1234567", "+49301234567"),
    ],
)
def test_phone_e164(raw: str, expected: str) -> None:
    """Latvian numbers get +371; foreign numbers keep their country code."""
    assert values.normalize_phone(raw) == expected


@pytest.mark.parametrize("raw", ["2912345", "+371 2912345", "phone", "+0123456789"])
def test_phone_invalid(raw: str) -> None:
    """A Latvian number needs 8 digits; other text is refused."""
    with pytest.raises(InvalidValue):
        values.normalize_phone(raw)


def test_iban_compact_upper() -> None:
    """An IBAN written in groups and lower case comes back compact and upper case."""
    assert values.normalize_iban("lv80 bank 0000 4351 9500 1") == "LV80BANK0000435195001"


def test_iban_bad_checksum() -> None:
    """A wrong IBAN check digit is refused."""
    with pytest.raises(InvalidValue):
        values.normalize_iban("LV81BANK0000435195001")


def test_swift_upper_and_invalid() -> None:
    """A BIC is upper-cased; a malformed one is refused."""
    assert values.normalize_swift("habalv22") == "HABALV22"
    with pytest.raises(InvalidValue):
        values.normalize_swift("HABA22")


def test_vat_no_with_and_without_prefix() -> None:
    """A VAT number always comes back as LV and 11 digits; a bad check digit is refused."""
    assert values.normalize_vat_no("40003056133") == "LV40003056133"
    assert values.normalize_vat_no("LV 40003056133") == "LV40003056133"
    with pytest.raises(InvalidValue):
        values.normalize_vat_no("LV40003056134")


@pytest.mark.parametrize(
    "raw", ["25.11.2026", "25.11.2026.", "2026-11-25", "25/11/2026", " 25. 11. 2026 "]
)
def test_date_formats(raw: str) -> None:
    """All four date shapes of FORMS.md read as the same day."""
    assert values.parse_date(raw) == date(2026, 11, 25)


@pytest.mark.parametrize("raw", ["31.02.2026", "2026/11/25", "next week", "25.11.26"])
def test_date_invalid(raw: str) -> None:
    """Impossible dates and other shapes are refused."""
    with pytest.raises(InvalidValue):
        values.parse_date(raw)


@pytest.mark.parametrize("raw", ["11.2026", "2026-11", "11/2026", "01.11.2026"])
def test_month_or_date(raw: str) -> None:
    """A month reads as its first day; a full date stays a date."""
    assert values.parse_month_or_date(raw) == date(2026, 11, 1)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("120", "120.00"),
        ("120,5", "120.50"),
        ("1 200,50 EUR", "1200.50"),
        ("€ 99.99", "99.99"),
        ("1\u00a0250.00 eur", "1250.00"),
    ],
)
def test_money(raw: str, expected: str) -> None:
    """Amounts read with comma or dot, EUR or €, and spaces between thousands."""
    assert values.parse_money(raw) == Decimal(expected)


@pytest.mark.parametrize("raw", ["1.200,50", "12.345", "abc", "-5"])
def test_money_invalid(raw: str) -> None:
    """A dot and a comma together, three decimals, words or a negative amount are errors."""
    with pytest.raises(InvalidValue):
        values.parse_money(raw)


def test_money_negative_when_allowed() -> None:
    """The books import may read a negative balance."""
    assert values.parse_money("-5,10", allow_negative=True) == Decimal("-5.10")


def test_text_too_long() -> None:
    """A text over its limit is refused and the limit is named."""
    with pytest.raises(InvalidValue, match="at most 5"):
        values.normalize_text("abcdef", max_length=5)


def test_fold_text_ignores_case_diacritics_and_spaces() -> None:
    """Names compare equal without diacritics, case or extra spaces."""
    assert values.fold_text("  Jānis   BĒRZIŅŠ ") == values.fold_text("janis berzins")


def test_invalid_value_is_a_value_error() -> None:
    """Callers that only know ValueError still catch a bad value."""
    with pytest.raises(ValueError, match="must be"):
        values.normalize_swift("x")
