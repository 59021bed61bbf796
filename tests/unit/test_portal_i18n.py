"""The portal's Latvian and English number and date formats, and what it reads back."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from portal.i18n import date_text, money_text, parse_amount, parse_day
from portal.web import safe_next


def test_money_is_written_the_latvian_way_first() -> None:
    """1234.5 reads 1 234,50 in Latvian and 1,234.50 in English."""
    assert money_text(Decimal("1234.5"), "lv") == "1\u00a0234,50"
    assert money_text("1234.5", "en") == "1,234.50"


def test_dates_are_read_and_written_as_people_type_them() -> None:
    """dd.mm.yyyy is read and written in Latvian; ISO also reads; nonsense raises."""
    assert parse_day("05.11.2026") == date(2026, 11, 5)
    assert parse_day("2026-11-05") == date(2026, 11, 5)
    assert parse_day("  ") is None
    assert date_text(date(2026, 11, 5), "lv") == "05.11.2026"
    with pytest.raises(ValueError, match=r".+"):
        parse_day("31.02.2026")


def test_amounts_accept_a_comma_and_refuse_junk() -> None:
    """10,50 and 10.50 are the same amount; text or infinity is refused."""
    assert parse_amount("10,50") == parse_amount(" 10.50 ") == Decimal("10.50")
    for junk in ("ten", "inf", "NaN"):
        with pytest.raises(ValueError, match=r".*"):
            parse_amount(junk)


def test_the_language_switch_returns_only_to_local_pages() -> None:
    """A `next` pointing at another site goes to the start page instead."""
    assert safe_next("/account") == "/account"
    for hostile in ("https://evil.example", "//evil.example", "/\\evil.example", None):
        assert safe_next(hostile) == "/"
