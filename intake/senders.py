"""Whom to believe: the From address (parsed strictly), our boundary's verdict, the books.

Only the From address is ever used for authorization; Reply-To and the form's contact e-mail
are written by whoever wrote the message and prove nothing.

DOCINTAKE_SENDER_VERIFICATION decides what an unverified sender (no aligned pass in a
trusted Authentication-Results) gets:
- `require` (production default): the message is quarantined for staff, nothing is read and
  nobody is answered. Risk: a client whose domain has neither DKIM nor SPF cannot file by
  e-mail until staff release their message.
- `flag`: the message is read; its applications carry `sender_verified = False`, staff see
  "sender not verified", and approval takes two staff members. Risk: a forged From reaches
  staff (the receipt still goes only to the address in the books, so the real person hears).
- `off` (the demo, tests): the From address is believed as written. Risk: anyone who knows an
  authorized person's address can file for that contract.
At every level a `dmarc=fail` from our boundary quarantines, and an unknown sender is never
answered (no backscatter).
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass, field

from intake.addresses import Mailbox
from intake.authresults import AuthStatus, AuthVerdict


class Verification(enum.StrEnum):
    """How much proof of the sender the intake wants (DOCINTAKE_SENDER_VERIFICATION)."""

    require = "require"
    flag = "flag"
    off = "off"


@dataclass(frozen=True)
class Trust:
    """The verification level and the authserv-ids whose Authentication-Results count."""

    level: Verification = Verification.require
    trusted_authserv_ids: tuple[str, ...] = field(default_factory=tuple)


class SenderVerdict(enum.StrEnum):
    """What to do with a message, judged by who sent it."""

    accept = "accept"
    quarantine = "quarantine"


@dataclass(frozen=True)
class SenderCheck:
    """The verdict; whether the sender is proven; for staff, why; whether staff are told now."""

    verdict: SenderVerdict
    verified: bool = False
    reason: str | None = None
    notify_staff: bool = False


def check_sender(
    mailbox: Mailbox,
    auth: AuthVerdict,
    *,
    known_contract_ids: Collection[int],
    level: Verification,
) -> SenderCheck:
    """Quarantine what cannot be answered safely; accept the rest, saying if it is verified.

    `known_contract_ids` are the contracts whose books hold the From address
    (handlers.senders.known_contract_ids). Staff get a notice for a failed authentication and
    for a client of ours whose mail could not be verified; mail from strangers waits silently
    in the quarantine list (a notice per spam message would bury the real ones).
    """
    if mailbox.address is None:
        return SenderCheck(SenderVerdict.quarantine, reason=mailbox.problem or "no From address")
    if auth.status is AuthStatus.failed:
        return SenderCheck(SenderVerdict.quarantine, reason=auth.detail, notify_staff=True)
    if not known_contract_ids:
        return SenderCheck(SenderVerdict.quarantine, reason="sender not in the books")
    if level is Verification.off:
        return SenderCheck(SenderVerdict.accept, verified=True, reason="verification off")
    if auth.status is AuthStatus.passed:
        return SenderCheck(SenderVerdict.accept, verified=True, reason=auth.detail)
    if level is Verification.flag:
        return SenderCheck(SenderVerdict.accept, verified=False, reason=auth.detail)
    return SenderCheck(
        SenderVerdict.quarantine,
        reason=f"sender not verified: {auth.detail}",
        notify_staff=True,
    )
