"""Who may sign in to the portal, and the portal's own one-time links.

Users (and accountants) sign in with the username or e-mail and the password of their `app_user`
row, as the credentials e-mail gave it. An authorized person has no user row: their sign-in is a
`portal_credential` keyed to the `authorized_person` row, enrolled (and reset) by a one-time link
e-mailed to the address the books hold for them. A person named on several contracts with one
address has one password for all of them and chooses the contract at sign-in.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict
from sqlmodel import col, func, or_, select

from forms.values import InvalidValue, normalize_email
from handlers.credentials import (
    MIN_PASSWORD_LENGTH,
    hash_password,
    temporary_password,
    token_hash,
    verify_password,
)
from handlers.db import UnitOfWork
from handlers.lookups import row_id
from handlers.models import (
    AuditEvent,
    AuthorizedPerson,
    Contract,
    PortalCredential,
    PortalToken,
    User,
    UserStatus,
    utcnow,
)
from handlers.results import OperationResult, RuleViolation, failure, success

ACTOR = "portal"
LINK_LIFETIME = timedelta(hours=2)
PrincipalKind = Literal["user", "person"]


class Principal(BaseModel):
    """Someone signed in: a user row (role user or accountant) or an authorized person."""

    model_config = ConfigDict(frozen=True)

    kind: PrincipalKind
    id: int
    role: str  # user, accountant, authorized_person
    login: str  # the username, or the person's e-mail
    name: str
    contract_no: str
    must_change_password: bool = False


@dataclass(frozen=True)
class OneTimeLink:
    """A freshly minted link token for one address; only its hash was stored."""

    email: str
    name: str
    token: str


@dataclass(frozen=True)
class EmailChange:
    """A pending e-mail change a confirmation link stands for."""

    token_id: int
    username: str
    new_email: str


_dummy_hash: list[str] = []


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _audit(uow: UnitOfWork, action: str, entity: str, entity_id: int, **after: object) -> None:
    uow.session.add(
        AuditEvent(
            actor=ACTOR,
            action=action,
            entity=entity,
            entity_id=str(entity_id),
            after=dict(after) or None,
        )
    )


def _user_principal(user: User, contract_no: str) -> Principal:
    return Principal(
        kind="user",
        id=row_id(user),
        role=str(user.role),
        login=user.username,
        name=f"{user.first_name} {user.last_name}",
        contract_no=contract_no,
        must_change_password=user.must_change_password,
    )


def _person_principal(person: AuthorizedPerson, contract_no: str) -> Principal:
    return Principal(
        kind="person",
        id=row_id(person),
        role="authorized_person",
        login=person.email,
        name=person.name,
        contract_no=contract_no,
    )


def _contract_no(uow: UnitOfWork, contract_id: int) -> str:
    contract = uow.session.get(Contract, contract_id)
    return contract.number if contract else ""


def principal_of(kind: str, principal_id: int, *, uow: UnitOfWork) -> Principal | None:
    """The principal as the books hold it now (inside the caller's `with uow`); None if gone."""
    if kind == "user":
        user = uow.session.get(User, principal_id)
        if user is None or user.status != UserStatus.active:
            return None
        return _user_principal(user, _contract_no(uow, user.contract_id))
    person = uow.session.get(AuthorizedPerson, principal_id)
    if person is None or _credential(uow, principal_id) is None:
        return None
    return _person_principal(person, _contract_no(uow, person.contract_id))


def _credential(uow: UnitOfWork, person_id: int) -> PortalCredential | None:
    return uow.session.exec(
        select(PortalCredential).where(PortalCredential.person_id == person_id)
    ).first()


def _people_with(uow: UnitOfWork, email: str) -> list[AuthorizedPerson]:
    return list(
        uow.session.exec(
            select(AuthorizedPerson)
            .where(func.lower(col(AuthorizedPerson.email)) == email.strip().lower())
            .order_by(col(AuthorizedPerson.id))
        ).all()
    )


def authenticate(identifier: str, password: str, *, uow: UnitOfWork) -> list[Principal]:
    """Every role whose password this is, for a username or an e-mail; empty when none.

    An identifier nobody has still costs one argon2 verification, so the time taken does not
    tell who exists.
    """
    ident = identifier.strip().lower()
    found: list[Principal] = []
    checked = 0
    with uow:
        if not ident or not password:
            return []
        users = uow.session.exec(
            select(User)
            .where(
                User.status == UserStatus.active,
                or_(col(User.username) == ident, func.lower(col(User.email)) == ident),
            )
            .order_by(col(User.id))
        ).all()
        for user in users:
            checked += 1
            if verify_password(user.password_hash, password):
                found.append(_user_principal(user, _contract_no(uow, user.contract_id)))
        for person in _people_with(uow, ident) if "@" in ident else []:
            credential = _credential(uow, row_id(person))
            if credential is None or not credential.password_hash:
                continue
            checked += 1
            if verify_password(credential.password_hash, password):
                found.append(_person_principal(person, _contract_no(uow, person.contract_id)))
    if checked == 0:
        if not _dummy_hash:
            _dummy_hash.append(hash_password(secrets.token_urlsafe(16)))
        verify_password(_dummy_hash[0], password)
    return found


def user_id_of(username: str, *, uow: UnitOfWork) -> int | None:
    """The id of the user with this username, or None."""
    with uow:
        user = uow.session.exec(select(User).where(User.username == username)).first()
        return None if user is None else row_id(user)


def _check_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise RuleViolation("weak_password", field="new_password", min_length=MIN_PASSWORD_LENGTH)


def _set_person_password(uow: UnitOfWork, email: str, password: str) -> list[int]:
    """The same hash on every person row of the address; their ids."""
    _check_strength(password)
    hashed = hash_password(password)
    ids = []
    for person in _people_with(uow, email):
        person_id = row_id(person)
        credential = _credential(uow, person_id) or PortalCredential(person_id=person_id)
        credential.password_hash = hashed
        credential.updated_at = utcnow()
        uow.session.add(credential)
        _audit(uow, "portal.person_password", "authorized_person", person_id, changed=True)
        ids.append(person_id)
    return ids


def request_person_link(identifier: str, *, uow: UnitOfWork) -> list[OneTimeLink]:
    """Mint a one-time set-password link for the authorized person with this e-mail, if any.

    The caller mails it at once; the clear token exists only in the returned value.
    """
    try:
        email = normalize_email(identifier)
    except InvalidValue:
        return []
    with uow:
        people = _people_with(uow, email)
        if not people:
            return []
        token = secrets.token_urlsafe(32)
        first = people[0]
        uow.session.add(
            PortalToken(
                token_hash=token_hash(token),
                purpose="person_password",
                person_id=row_id(first),
                expires_at=utcnow() + LINK_LIFETIME,
            )
        )
        _audit(uow, "portal.person_link", "authorized_person", row_id(first))
        uow.commit()
        return [OneTimeLink(email=first.email, name=first.name, token=token)]


def _live_token(uow: UnitOfWork, token: str, purpose: str) -> PortalToken:
    row = uow.session.exec(
        select(PortalToken).where(PortalToken.token_hash == token_hash(token))
    ).first()
    if (
        row is None
        or row.purpose != purpose
        or row.used_at is not None
        or _aware(row.expires_at) <= utcnow()
    ):
        raise RuleViolation("token_invalid", field="token")
    return row


def is_person_link(token: str, *, uow: UnitOfWork) -> bool:
    """True when the token is a live set-password link of an authorized person."""
    with uow:
        try:
            _live_token(uow, token, "person_password")
        except RuleViolation:
            return False
        return True


def set_person_password(token: str, new_password: str, *, uow: UnitOfWork) -> OperationResult:
    """Set (or enrol) an authorized person's password with a live one-time link."""
    with uow:
        try:
            row = _live_token(uow, token, "person_password")
            person = uow.session.get(AuthorizedPerson, row.person_id)
            if person is None:
                raise RuleViolation("token_invalid", field="token")
            ids = _set_person_password(uow, person.email, new_password)
        except RuleViolation as violation:
            return failure("set_person_password", "link", violation)
        row.used_at = utcnow()
        uow.session.add(row)
        uow.commit()
        return success("set_person_password", "link", person_ids=ids)


def change_person_password(
    person_id: int, old_password: str, new_password: str, *, uow: UnitOfWork
) -> OperationResult:
    """An authorized person changes their password; the current one must be right."""
    with uow:
        try:
            credential = _credential(uow, person_id)
            person = uow.session.get(AuthorizedPerson, person_id)
            if (
                credential is None
                or person is None
                or not verify_password(credential.password_hash, old_password)
            ):
                raise RuleViolation("wrong_password", field="old_password")
            ids = _set_person_password(uow, person.email, new_password)
        except RuleViolation as violation:
            return failure("change_person_password", str(person_id), violation)
        uow.commit()
        return success("change_person_password", str(person_id), person_ids=ids)


def request_email_change(
    username: str, new_email: str, *, uow: UnitOfWork
) -> tuple[OperationResult, str | None]:
    """Mint a link that, opened from the new address, changes the user's e-mail to it."""
    try:
        email = normalize_email(new_email)
    except InvalidValue as invalid:
        violation = RuleViolation(
            "invalid_value",
            field="email",
            expected_lv=invalid.expected_lv,
            expected_en=invalid.expected_en,
        )
        return failure("request_email_change", username, violation), None
    token = secrets.token_urlsafe(32)
    with uow:
        user = uow.session.exec(select(User).where(User.username == username)).first()
        if user is None:
            return failure(
                "request_email_change",
                username,
                RuleViolation("user_not_found", field="username", username=username),
            ), None
        uow.session.add(
            PortalToken(
                token_hash=token_hash(token),
                purpose="email_change",
                user_id=row_id(user),
                new_email=email,
                expires_at=utcnow() + LINK_LIFETIME,
            )
        )
        _audit(uow, "portal.email_change_requested", "user", row_id(user))
        uow.commit()
    return success("request_email_change", username, new_email=email), token


def email_change_of(token: str, *, uow: UnitOfWork) -> EmailChange | None:
    """The pending e-mail change of a live confirmation link, or None."""
    with uow:
        try:
            row = _live_token(uow, token, "email_change")
        except RuleViolation:
            return None
        user = uow.session.get(User, row.user_id) if row.user_id is not None else None
        if user is None or row.new_email is None:
            return None
        return EmailChange(token_id=row_id(row), username=user.username, new_email=row.new_email)


def spend_token(token_id: int, *, uow: UnitOfWork) -> None:
    """Mark a one-time link used."""
    with uow:
        row = uow.session.get(PortalToken, token_id)
        if row is not None and row.used_at is None:
            row.used_at = utcnow()
            uow.session.add(row)
            uow.commit()


def issue_demo_passwords(
    usernames: tuple[str, ...], person_emails: tuple[str, ...], *, uow: UnitOfWork
) -> list[dict[str, str]]:
    """Fresh random passwords for demo logins (demo only): `username`, `password`, `role` each.

    Nothing else ever hands a password back: real users get theirs by e-mail.
    """
    issued: list[dict[str, str]] = []
    with uow:
        for username in usernames:
            user = uow.session.exec(select(User).where(User.username == username)).first()
            if user is None or user.status != UserStatus.active:
                continue
            password = temporary_password()
            user.password_hash = hash_password(password)
            user.must_change_password = False
            uow.session.add(user)
            _audit(uow, "portal.demo_password", "user", row_id(user), changed=True)
            issued.append({"username": username, "password": password, "role": str(user.role)})
        for email in person_emails:
            password = temporary_password()
            if _set_person_password(uow, email, password):
                issued.append(
                    {"username": email, "password": password, "role": "authorized_person"}
                )
        uow.commit()
    return issued
