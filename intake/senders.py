"""Whom to believe: Authentication-Results verdicts and the sender's place in the books.

Only the From address is ever used for authorization; Reply-To is set by whoever wrote the
message and proves nothing.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

_COMMENT = re.compile(r"\([^()]*\)")
_RESULT = re.compile(r"\b(dmarc|spf|dkim)\s*=\s*([a-z]+)", re.IGNORECASE)


class SenderVerdict(enum.StrEnum):
    """What to do with a message, judged by who sent it."""

    accept = "accept"
    quarantine = "quarantine"
    unknown = "unknown"


@dataclass(frozen=True)
class SenderCheck:
    """The verdict and, for staff, why."""

    verdict: SenderVerdict
    reason: str | None = None


def auth_methods(header: str) -> dict[str, set[str]]:
    """The results per method (dmarc, spf, dkim) written in one Authentication-Results header."""
    text = header
    # Comments may nest one level and can hold look-alike text such as "(dmarc=pass)".
    for _ in range(3):
        text = _COMMENT.sub(" ", text)
    found: dict[str, set[str]] = {}
    for method, result in _RESULT.findall(text):
        found.setdefault(method.lower(), set()).add(result.lower())
    return found


def authentication_problem(
    auth_results: Sequence[str], *, require_dmarc_pass: bool = False
) -> str | None:
    """Why the message must be held for staff, or None when its authentication is acceptable.

    A `fail` for dmarc or spf in any header quarantines; dkim fails only when no signature
    passed (mailing lists often break one of several signatures). With `require_dmarc_pass`,
    the topmost header, the one our own receiving server wrote, must say dmarc=pass: lower
    headers may have been written by the sender.
    """
    for header in auth_results:
        methods = auth_methods(header)
        for method in ("dmarc", "spf"):
            if "fail" in methods.get(method, set()):
                return f"{method}=fail in Authentication-Results"
        dkim = methods.get("dkim", set())
        if "fail" in dkim and "pass" not in dkim:
            return "dkim=fail in Authentication-Results"
    if require_dmarc_pass:
        top = auth_methods(auth_results[0]) if auth_results else {}
        if "pass" not in top.get("dmarc", set()):
            return "dmarc=pass required but not found in Authentication-Results"
    return None


def check_sender(
    from_addr: str | None,
    auth_results: Sequence[str],
    *,
    known_contract_ids: Collection[int],
    require_dmarc_pass: bool = False,
) -> SenderCheck:
    """Quarantine on failed authentication, refuse unknown senders, accept the rest.

    `known_contract_ids` are the contracts whose authorized persons or users have the From
    address (handlers.applications.sender_contract_ids).
    """
    problem = authentication_problem(auth_results, require_dmarc_pass=require_dmarc_pass)
    if problem is not None:
        return SenderCheck(SenderVerdict.quarantine, problem)
    if from_addr is None:
        return SenderCheck(SenderVerdict.unknown, "no single From address")
    if not known_contract_ids:
        return SenderCheck(SenderVerdict.unknown, "sender not in the books")
    return SenderCheck(SenderVerdict.accept)
