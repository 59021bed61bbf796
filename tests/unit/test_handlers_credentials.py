"""Passwords, hashes, tokens and usernames, and the LV/EN business messages."""

from __future__ import annotations

from decimal import Decimal

import pytest

from handlers.commands import TopUp
from handlers.credentials import (
    PASSWORD_ALPHABET,
    base_username,
    hash_password,
    temporary_password,
    token_hash,
    verify_password,
)
from handlers.messages import MESSAGES, message
from tests.support import cheap_hashing


def test_temporary_password_is_long_mixed_and_free_of_look_alikes() -> None:
    """At least 12 characters, upper, lower and digit, none of 0 O o 1 l I."""
    for _ in range(200):
        password = temporary_password()
        assert len(password) >= 12
        assert set(password) <= set(PASSWORD_ALPHABET)
        assert not set(password) & set("0Oo1lI")
        assert any(c.isupper() for c in password)
        assert any(c.islower() for c in password)
        assert any(c.isdigit() for c in password)
    assert len({temporary_password() for _ in range(50)}) == 50


def test_hash_verifies_only_the_right_password() -> None:
    """An argon2 hash verifies its password, refuses another, and never contains it."""
    with cheap_hashing():
        stored = hash_password("Ļoti-slepena-parole")
    assert stored.startswith("$argon2id$")
    assert "slepena" not in stored
    assert verify_password(stored, "Ļoti-slepena-parole")
    assert not verify_password(stored, "cita parole")
    assert not verify_password(None, "anything")
    assert not verify_password("not a hash", "anything")


def test_reset_token_is_stored_as_a_hash() -> None:
    """The token's stored form is a sha256 hex digest, the same for the same token."""
    assert token_hash("abc") == token_hash("abc")
    assert len(token_hash("abc")) == 64
    assert token_hash("abc") != token_hash("abd")


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        ("Jānis", "Bērziņš", "jberzins"),
        ("Ļena", "Šķēle-Ozola", "lskeleozola"),
        ("", "", "user"),
    ],
)
def test_username_is_readable_ascii(first: str, last: str, expected: str) -> None:
    """Initial and surname, diacritics folded, other characters dropped."""
    assert base_username(first, last) == expected


def test_every_message_has_latvian_and_english_text() -> None:
    """No message is missing a language, and parameters are filled in."""
    for code, (lv, en) in MESSAGES.items():
        assert lv.strip(), code
        assert en.strip(), code
    lv, en = message("user_not_found", username="jb")
    assert '"jb"' in lv
    assert '"jb"' in en


def test_a_command_needs_an_idempotency_key() -> None:
    """A changing command without application id or request key is refused at construction."""
    with pytest.raises(ValueError, match="application_id or a request_key"):
        TopUp(username="jb", amount=Decimal("1.00"))
    assert TopUp(application_id=7, username="jb", amount=Decimal("1.00")).key == "application:7"
