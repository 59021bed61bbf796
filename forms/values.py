"""Value normalizers: one raw string in, the normalized value out, or an `InvalidValue`.

Every normalizer takes the text as the client typed it and returns the canonical value that
FORMS.md's parse result carries (reg_no digits only, personal code `DDMMYY-NNNNN`, phone E.164,
money `Decimal` with two places, …). On bad input it raises `InvalidValue`, a `ValueError`
subclass carrying a short `code` and what was *expected* in Latvian and English
(`expected_lv="jābūt 11 cipariem"`, `expected_en="must be 11 digits"`). The caller knows the
field and the raw text, so it composes the full message; `InvalidValue.describe(label_lv,
label_en, found)` does that in FORMS.md's shape. The books import uses the same functions.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation

from email_validator import EmailNotValidError, validate_email
from stdnum import bic, iban
from stdnum.exceptions import ValidationError
from stdnum.lv import pvn

__all__ = [
    "InvalidValue",
    "fold_text",
    "normalize_action",
    "normalize_email",
    "normalize_iban",
    "normalize_personal_code",
    "normalize_phone",
    "normalize_reg_no",
    "normalize_swift",
    "normalize_text",
    "normalize_vat_no",
    "parse_date",
    "parse_money",
    "parse_month_or_date",
]


class InvalidValue(ValueError):
    """A value that cannot be normalized; says what was expected, in Latvian and English."""

    def __init__(self, code: str, expected_lv: str, expected_en: str) -> None:
        super().__init__(expected_en)
        self.code = code
        self.expected_lv = expected_lv
        self.expected_en = expected_en

    def describe(self, label_lv: str, label_en: str, found: str) -> tuple[str, str]:
        """The Latvian and English messages: `Label: "found" — expected`, each readable alone."""
        shown = found if len(found) <= 60 else found[:57] + "..."
        return (
            f'{label_lv}: "{shown}" — {self.expected_lv}',
            f'{label_en}: "{shown}" — {self.expected_en}',
        )


_SPACES = re.compile(r"\s+")
# Every Unicode space separator and the usual typographic look-alikes of a hyphen.
_HYPHENS = str.maketrans({"‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "−": "-"})


def fold_text(text: str) -> str:
    """Case-, whitespace- and diacritic-insensitive form of a text, for comparing labels."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped).strip().casefold()


def _squeeze(value: str) -> str:
    return _SPACES.sub(" ", value.translate(_HYPHENS)).strip()


def normalize_text(value: str, *, max_length: int | None = None) -> str:
    """A free text, inner whitespace collapsed; longer than max_length is an error."""
    text = _squeeze(value)
    if max_length is not None and len(text) > max_length:
        raise InvalidValue(
            "too_long",
            f"ne garāks par {max_length} zīmēm",
            f"must be at most {max_length} characters",
        )
    return text


def _digits_only(value: str, *, prefix: str = "") -> str:
    compact = re.sub(r"[\s\-.]", "", value.translate(_HYPHENS)).upper()
    if prefix and compact.startswith(prefix):
        compact = compact[len(prefix) :]
    return compact


def normalize_reg_no(value: str) -> str:
    """A Latvian company registration number: 11 digits, first 4–9, valid checksum."""
    number = _digits_only(value, prefix="LV")
    if not number.isdigit() or len(number) != 11:
        raise InvalidValue("invalid_reg_no", "jābūt 11 cipariem", "must be 11 digits")
    if number[0] in "0123":
        raise InvalidValue(
            "personal_code_as_reg_no",
            "tas ir personas kods, nevis uzņēmuma reģistrācijas numurs",
            "this is a personal code, not a company registration number",
        )
    if not pvn.is_valid(number):
        raise InvalidValue(
            "invalid_reg_no",
            "nepareizs kontrolcipars — pārbaudiet numuru",
            "the check digit is wrong — please check the number",
        )
    return number


def normalize_personal_code(value: str) -> str:
    """A Latvian personal code as `DDMMYY-NNNNN` (with a birth date) or `32XXXX-XXXXX` (newer)."""
    number = _digits_only(value)
    if not number.isdigit() or len(number) != 11 or number[0] not in "0123":
        raise InvalidValue(
            "invalid_personal_code",
            "jābūt 11 cipariem formā DDMMGG-NNNNN",
            "must be 11 digits as DDMMYY-NNNNN",
        )
    try:
        pvn.validate(number)
    except ValidationError:
        if number.startswith("32"):
            raise InvalidValue(
                "invalid_personal_code",
                "nepareizs kontrolcipars — pārbaudiet personas kodu",
                "the check digit is wrong — please check the personal code",
            ) from None
        raise InvalidValue(
            "invalid_personal_code",
            "nepareizs dzimšanas datums vai kontrolcipars — pārbaudiet personas kodu",
            "the birth date or check digit is wrong — please check the personal code",
        ) from None
    return f"{number[:6]}-{number[6:]}"


def normalize_email(value: str) -> str:
    """An e-mail address, syntax checked without DNS, the domain in lower case."""
    text = value.strip()
    if text.lower().startswith("mailto:"):
        text = text[7:]
    try:
        checked = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        raise InvalidValue(
            "invalid_email",
            "jābūt derīgai e-pasta adresei, piemēram, vards@uznemums.lv",
            "must be a valid e-mail address, e.g. name@company.lv",
        ) from None
    local, _, domain = str(checked.normalized).rpartition("@")
    return f"{local}@{domain.lower()}"


def normalize_phone(value: str) -> str:
    """A phone number in E.164: `+371` and 8 digits (prefix optional), or another country's."""
    text = re.sub(r"[\s\-.()/]", "", value.translate(_HYPHENS))
    if text.startswith("00"):
        text = "+" + text[2:]
    if text.isdigit() and len(text) == 8:
        return "+371" + text
    if text.isdigit() and len(text) == 11 and text.startswith("371"):
        return "+" + text
    if text.startswith("+") and text[1:].isdigit():
        digits = text[1:]
        if digits.startswith("371"):
            if len(digits) == 11:
                return text
        elif digits[0] != "0" and 8 <= len(digits) <= 15:
            return text
    raise InvalidValue(
        "invalid_phone",
        "jābūt tālruņa numuram: +371 un 8 cipari, vai cita valsts numurs ar + un valsts kodu",
        "must be a phone number: +371 and 8 digits, or another country's number with +code",
    )


def normalize_iban(value: str) -> str:
    """An IBAN, compact and upper case, with its check digits verified."""
    try:
        return str(iban.validate(value.translate(_HYPHENS)))
    except ValidationError:
        raise InvalidValue(
            "invalid_iban",
            "jābūt derīgam IBAN konta numuram, piemēram, LV80BANK0000435195001",
            "must be a valid IBAN account number, e.g. LV80BANK0000435195001",
        ) from None


def normalize_swift(value: str) -> str:
    """A SWIFT/BIC code, upper case, 8 or 11 characters."""
    try:
        return str(bic.validate(value))
    except ValidationError:
        raise InvalidValue(
            "invalid_swift",
            "jābūt 8 vai 11 zīmju SWIFT/BIC kodam, piemēram, HABALV22",
            "must be an 8 or 11 character SWIFT/BIC code, e.g. HABALV22",
        ) from None


def normalize_vat_no(value: str) -> str:
    """A Latvian VAT number as `LV` + 11 digits with a valid checksum (the `LV` may be missing)."""
    number = _digits_only(value, prefix="LV")
    if not number.isdigit() or len(number) != 11 or not pvn.is_valid(number):
        raise InvalidValue(
            "invalid_vat_no",
            "jābūt LV un 11 cipariem ar pareizu kontrolciparu",
            "must be LV and 11 digits with a valid check digit",
        )
    return "LV" + number


_DATE_PATTERNS = (
    re.compile(r"(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?P<y>\d{4})\.?"),
    re.compile(r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"),
    re.compile(r"(?P<d>\d{1,2})/(?P<m>\d{1,2})/(?P<y>\d{4})"),
)
_MONTH_PATTERNS = (
    re.compile(r"(?P<m>\d{1,2})\.(?P<y>\d{4})\.?"),
    re.compile(r"(?P<y>\d{4})-(?P<m>\d{1,2})"),
    re.compile(r"(?P<m>\d{1,2})/(?P<y>\d{4})"),
)
_BAD_DATE = (
    "jābūt datumam formā DD.MM.GGGG, piemēram, 25.11.2026",
    "must be a date as DD.MM.YYYY, e.g. 25.11.2026",
)


def parse_date(value: str) -> date:
    """A date written `25.11.2026`, `25.11.2026.`, `2026-11-25` or `25/11/2026`."""
    text = re.sub(r"\s+", "", value)
    for pattern in _DATE_PATTERNS:
        found = pattern.fullmatch(text)
        if found:
            try:
                return date(int(found["y"]), int(found["m"]), int(found["d"]))
            except ValueError:
                break
    raise InvalidValue("invalid_date", *_BAD_DATE)


def parse_month_or_date(value: str) -> date:
    """A month (`11.2026`, `2026-11`, `11/2026`) as its first day, or a full date."""
    text = re.sub(r"\s+", "", value)
    for pattern in _MONTH_PATTERNS:
        found = pattern.fullmatch(text)
        if found and 1 <= int(found["m"]) <= 12:
            return date(int(found["y"]), int(found["m"]), 1)
    try:
        return parse_date(text)
    except InvalidValue:
        raise InvalidValue(
            "invalid_month",
            "jābūt mēnesim (11.2026) vai datumam (01.11.2026)",
            "must be a month (11.2026) or a date (01.11.2026)",
        ) from None


_MONEY = re.compile(r"-?\d+(?:[.,]\d+)?")
_CURRENCY = re.compile(r"(?i)\s*(?:eur|euro|€)\s*")


def parse_money(value: str, *, allow_negative: bool = False) -> Decimal:
    """An amount in euro with two decimals: comma or dot, optional EUR/€, spaces for thousands."""
    text = _CURRENCY.sub("", value.translate(_HYPHENS)).strip()
    text = re.sub(r"[\s']", "", text)
    if "." in text and "," in text:
        raise InvalidValue(
            "invalid_money",
            "summā drīkst būt komats vai punkts, ne abi, piemēram, 1200,50",
            "an amount may hold a comma or a dot, not both, e.g. 1200.50",
        )
    if not _MONEY.fullmatch(text):
        raise InvalidValue(
            "invalid_money",
            "jābūt summai eiro, piemēram, 120,00",
            "must be an amount in euro, e.g. 120.00",
        )
    try:
        amount = Decimal(text.replace(",", "."))
    except InvalidOperation:  # pragma: no cover - the pattern above admits only decimals
        raise InvalidValue(
            "invalid_money", "jābūt summai eiro", "must be an amount in euro"
        ) from None
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise InvalidValue(
            "invalid_money",
            "ne vairāk kā divas zīmes aiz komata",
            "at most two decimal places",
        )
    if amount < 0 and not allow_negative:
        raise InvalidValue("invalid_money", "summa nevar būt negatīva", "cannot be negative")
    return amount.quantize(Decimal("0.01"))


_TICKED = re.compile(r"[☒☑✔✓✗✘■▣⊠]|\[\s*[xXvV✓✔]\s*\]|\(\s*[xXvV]\s*\)|(?<![\w])[xXvV](?![\w])")
_UNTICKED = re.compile(r"[☐□▢◻]|\[\s*\]|\(\s*\)")
_CHOICE_WORDS = {
    "partraukt": "suspend",
    "suspend": "suspend",
    "atjaunot": "resume",
    "resume": "resume",
}
_TOKENS = re.compile(
    r"(?P<ticked>" + _TICKED.pattern + r")|(?P<unticked>" + _UNTICKED.pattern + r")|(?P<word>\w+)"
)


def normalize_action(value: str) -> str:
    """`suspend` or `resume`: a typed word (LV or EN), or a ticked box on either side of it."""
    tokens: list[str] = []
    for found in _TOKENS.finditer(fold_text(value)):
        if found.group("ticked"):
            tokens.append("T")
        elif found.group("unticked"):
            tokens.append("U")
        else:
            choice = _CHOICE_WORDS.get(found.group("word"))
            # A choice printed in both languages ("pārtraukt / suspend") is one choice.
            if choice and not (tokens and tokens[-1] == choice):
                tokens.append(choice)
    marks = [t for t in tokens if t in ("T", "U")]
    choices = [t for t in tokens if t not in ("T", "U")]
    if not marks:
        chosen = set(choices)
    else:
        # Boxes stand all before or all after their words: the first token tells which.
        before = tokens[0] in ("T", "U")
        chosen = set()
        for index, token in enumerate(tokens):
            if token in ("T", "U"):
                continue
            neighbour = index - 1 if before else index + 1
            if 0 <= neighbour < len(tokens) and tokens[neighbour] == "T":
                chosen.add(token)
    if len(chosen) == 1:
        return chosen.pop()
    if not chosen and marks and "T" not in marks:
        raise InvalidValue(
            "required",
            "neviena izvēle nav atzīmēta — atzīmējiet “pārtraukt” vai “atjaunot”",
            "no choice is ticked — tick “suspend” or “resume”",
        )
    raise InvalidValue(
        "ambiguous_choice",
        "atzīmējiet tieši vienu: “pārtraukt” vai “atjaunot”",
        "tick exactly one: “suspend” or “resume”",
    )
