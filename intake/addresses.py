"""Addresses read the strict way: the raw header through the email package's header registry.

Why not `getaddresses(decode_header(...))`: decoding RFC 2047 encoded words *before* the
address is parsed lets a sender write an address into a display name
(`=?utf-8?q?anna=40ozols.lv?= <attacker@evil.lv>`), and a lenient parser then picks either.
Here the raw value goes to `email.policy.default`'s header factory, which decodes encoded
words only where RFC 2047 allows them (display names, comments) and reports every defect; a
header with any defect, with more or fewer than one address, or whose address does not stand
literally in the raw text (an encoded word decoded into the domain) is refused with a reason.
"""

from __future__ import annotations

import email.policy
import re
from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError, validate_email

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MAX_ADDRESS = 254


@dataclass(frozen=True)
class Mailbox:
    """One address read from a header: the address (lower-cased) and its decoded display name."""

    address: str | None
    display_name: str = ""
    problem: str | None = None

    @property
    def domain(self) -> str | None:
        """The address's domain, or None when there is no address."""
        return self.address.rpartition("@")[2] if self.address else None


def _raw_text(value: object) -> str:
    # compat32 hands undecodable 8-bit header bytes over as surrogate escapes; make them
    # replacement characters so the strict parser sees text it can reject.
    return str(value).encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _normalized(address: str) -> str | None:
    """The address with its domain lower-cased, or None when its syntax is not an address."""
    if len(address) > _MAX_ADDRESS or _CONTROL.search(address) or " " in address:
        return None
    try:
        valid = validate_email(address, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError:
        return None
    # Lower case throughout: the books compare addresses case-insensitively, and no mailbox
    # provider our clients use distinguishes local parts by case.
    return str(valid.normalized).lower()


def parse_mailbox(values: list[object], header: str = "From") -> Mailbox:
    """The one mailbox of a header given its raw values; a Mailbox with `problem` when refused."""
    if not values:
        return Mailbox(None, problem=f"no {header} header")
    if len(values) > 1:
        return Mailbox(None, problem=f"{len(values)} {header} headers")
    raw = _raw_text(values[0])
    try:
        parsed = email.policy.default.header_factory(header.lower(), raw)
    except Exception:  # the parser gave up entirely: as defective as a header gets
        return Mailbox(None, problem=f"{header} header cannot be parsed")
    defects: tuple[Any, ...] = tuple(getattr(parsed, "defects", ()))
    addresses: tuple[Any, ...] = tuple(getattr(parsed, "addresses", ()))
    if defects:
        return Mailbox(None, problem=f"{header} header is defective ({defects[0]})")
    if len(addresses) != 1:
        return Mailbox(None, problem=f"{header} header holds {len(addresses)} addresses")
    mailbox = addresses[0]
    spec = str(mailbox.addr_spec)
    # The address must be written in the raw header as it was read: an encoded word that
    # the parser decoded into the address itself is a disguise.
    if spec.lower() not in raw.lower():
        return Mailbox(None, problem=f"{header} address is encoded")
    address = _normalized(spec)
    if address is None:
        return Mailbox(None, problem=f"{header} address is not a valid address")
    name = _CONTROL.sub(" ", str(mailbox.display_name)).strip()[:200]
    return Mailbox(address, name)


def address_of(values: list[object], header: str = "From") -> str | None:
    """The one address of a header, or None when absent, several, defective or not valid."""
    return parse_mailbox(values, header).address
