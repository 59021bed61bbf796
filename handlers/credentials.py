"""Usernames, temporary passwords, argon2 hashes and one-time reset tokens.

A plain password or token is never stored: only its hash goes to the database, and the clear
value lives just long enough to be put in an e-mail (`mint_secrets`, called when the outbox row
is claimed for sending, so every retry mints a fresh one).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, select

from handlers.models import PasswordResetToken, User

# No look-alikes (0/O/o, 1/l/I, 5/S, 2/Z) so a password read from a printout is typed right.
PASSWORD_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRTUVWXY346789"  # noqa: S105 (an alphabet, not a password)
TEMPORARY_PASSWORD_LENGTH = 14
MIN_PASSWORD_LENGTH = 12

_hasher = PasswordHasher()


def configure_hasher(*, time_cost: int = 3, memory_cost: int = 65536, parallelism: int = 4) -> None:
    """Set argon2 cost; tests and benchmarks lower it, production keeps the library defaults."""
    global _hasher  # one process-wide hasher, set by the composition root
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches the stored hash."""
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def temporary_password(length: int = TEMPORARY_PASSWORD_LENGTH) -> str:
    """A random password from `secrets` with at least one lower, upper case letter and digit."""
    while True:
        candidate = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(length))
        if (
            any(c.islower() for c in candidate)
            and any(c.isupper() for c in candidate)
            and any(c.isdigit() for c in candidate)
        ):
            return candidate


def new_reset_token() -> str:
    """A URL-safe one-time token."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """The stored form of a reset token (sha256: the token is long and random, no salt needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class MintedPassword:
    """A temporary password and its argon2 hash, made before the transaction that stores it.

    Hashing takes ~0.1 s of CPU at production cost; inside the transaction it would hold the
    books' write lock (SQLite has one) that long for every credentials mail.
    """

    password: str
    password_hash: str


def mint_password() -> MintedPassword:
    """A fresh temporary password with its hash (no database: call it outside a transaction)."""
    password = temporary_password()
    return MintedPassword(password, hash_password(password))


def mint_credentials(session: Session, user_id: int, minted: MintedPassword | None = None) -> str:
    """A fresh temporary password for the user: its hash stored, a change required at sign-in.

    `minted`: a password hashed beforehand (`mint_password`); without it one is made here.
    """
    user = session.get(User, user_id)
    if user is None:
        raise LookupError(f"credentials for a missing user id {user_id}")
    minted = minted or mint_password()
    user.password_hash = minted.password_hash
    user.must_change_password = True
    session.add(user)
    return minted.password


def mint_reset_token(session: Session, user_id: int, *, now: datetime, valid_hours: int) -> str:
    """A fresh one-time reset token for the user, stored only as its hash, valid for hours."""
    token = new_reset_token()
    session.add(
        PasswordResetToken(
            user_id=user_id,
            token_hash=token_hash(token),
            expires_at=now + timedelta(hours=valid_hours),
        )
    )
    return token


def mint_secrets(
    session: Session,
    template: str,
    context: dict[str, Any],
    *,
    now: datetime,
    minted: MintedPassword | None = None,
) -> dict[str, str]:
    """What only this send of an e-mail may carry: a password or a reset token, else nothing.

    `minted`: for a credentials mail, a password hashed before the transaction.
    """
    user_id = context.get("user_id")
    if user_id is None:
        return {}
    if template == "credentials":
        return {"password": mint_credentials(session, int(user_id), minted)}
    if template == "password_reset":
        hours = int(context.get("valid_hours", 2))
        return {"token": mint_reset_token(session, int(user_id), now=now, valid_hours=hours)}
    return {}


def ascii_fold(text: str) -> str:
    """Text without diacritics, lower case, whitespace collapsed (`Bērziņš` → `berzins`)."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())


def base_username(first_name: str, last_name: str) -> str:
    """A readable login: first name initial and surname, ASCII (`Jānis Bērziņš` → `jberzins`)."""
    first = re.sub(r"[^a-z]", "", ascii_fold(first_name))
    last = re.sub(r"[^a-z]", "", ascii_fold(last_name))
    return ((first[:1] + last) or "user")[:56]


def unique_username(session: Session, first_name: str, last_name: str) -> str:
    """The base username, or with the first free number appended (`jberzins2`)."""
    base = base_username(first_name, last_name)
    taken = set(session.exec(select(User.username).where(User.username.startswith(base))).all())
    if base not in taken:
        return base
    number = 2
    while f"{base}{number}" in taken:
        number += 1
    return f"{base}{number}"
