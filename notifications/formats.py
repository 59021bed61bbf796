"""Numbers, money and dates as each language writes them (Babel): Latvian in Latvian text.

`200,00 EUR` and `01.12.2026.` in Latvian (lv_LV), `200.00 EUR` and `1 December 2026` in
English. Values arrive as the outbox context stores them (strings: `"200.00"`, ISO dates) or
as Decimal/date; anything that is not a number or a date is shown as it is.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Literal

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal

Language = Literal["lv", "en"]
LOCALES: dict[Language, str] = {"lv": "lv_LV", "en": "en_GB"}
# The currency's code after the amount, as invoices and the provider's letters write it.
MONEY_PATTERN = "#,##0.00 ¤¤"
DATE_PATTERNS: dict[Language, str] = {"lv": "dd.MM.yyyy.", "en": "d MMMM yyyy"}


def _decimal(value: object) -> Decimal | None:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int | str):
        try:
            return Decimal(str(value).strip())
        except InvalidOperation:
            return None
    return None


def _date(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return None


def money(value: object, language: Language, currency: str = "EUR") -> str:
    """`1 200,00 EUR` (lv) or `1,200.00 EUR` (en); a non-number is shown as given."""
    amount = _decimal(value)
    if amount is None:
        return "" if value is None else str(value)
    return format_currency(
        amount, currency, format=MONEY_PATTERN, locale=LOCALES[language], currency_digits=False
    )


def number(value: object, language: Language, pattern: str = "#,##0.00") -> str:
    """A number in the language's format (`21,5` lv, `21.5` en with pattern `#,##0.##`)."""
    amount = _decimal(value)
    if amount is None:
        return "" if value is None else str(value)
    return format_decimal(amount, pattern, locale=LOCALES[language])


def day(value: object, language: Language) -> str:
    """`01.12.2026.` (lv) or `1 December 2026` (en); a non-date is shown as given."""
    moment = _date(value)
    if moment is None:
        return "" if value is None else str(value)
    return format_date(moment, DATE_PATTERNS[language], locale=LOCALES[language])


def money_lv(value: object) -> str:
    """Money in Latvian text."""
    return money(value, "lv")


def money_en(value: object) -> str:
    """Money in English text."""
    return money(value, "en")


def day_lv(value: object) -> str:
    """A date in Latvian text."""
    return day(value, "lv")


def day_en(value: object) -> str:
    """A date in English text."""
    return day(value, "en")


# The Jinja filters every template may use: `{{ amount | money_lv }}`, `{{ issued_on | day_en }}`.
FILTERS = {"money_lv": money_lv, "money_en": money_en, "day_lv": day_lv, "day_en": day_en}
