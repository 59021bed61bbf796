"""Which Authentication-Results to believe, and what they say about the From domain.

An `Authentication-Results` header is text anyone can write. RFC 8601 §5: only a header
written by our own boundary counts — its authserv-id is one we trust
(DOCINTAKE_TRUSTED_AUTHSERV_IDS) and it stands above every hop we do not trust. We read the
headers top-down (newest first) through the trace block (every field above the message's own
fields such as From, Subject, DKIM-Signature); a trusted header counts only until the first
header of an untrusted authserv-id, because whatever stands below that was written before an
untrusted hop handled the message. Headers are parsed with the `authres` library.

The boundary must also delete or rename incoming headers that claim our authserv-id (RFC 8601
§5; docs/operations.md shows the Postfix rule): a forged header placed right under the
boundary's own cannot be told apart by position alone, so when trusted headers disagree, a
`fail` wins over a `pass`.

Alignment is DMARC's relaxed alignment: the domain a `pass` vouches for (`header.from` of
dmarc, `header.d` of dkim, the domain of spf's `smtp.mailfrom`) has the same organizational
domain (Public Suffix List, `publicsuffixlist`) as the From address.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import lru_cache

import authres
from publicsuffixlist import PublicSuffixList

# A message's own header fields: the trace block (what receiving hops prepended) ends above
# the first of these.
ORIGINATOR_FIELDS = frozenset(
    {
        "from",
        "sender",
        "reply-to",
        "to",
        "cc",
        "subject",
        "date",
        "message-id",
        "in-reply-to",
        "references",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
        "dkim-signature",
    }
)


class AuthStatus(enum.StrEnum):
    """What our boundary says about the From domain."""

    passed = "pass"  # an aligned dmarc, dkim or spf pass
    failed = "fail"  # dmarc=fail: the domain's owner says this mail is not theirs
    none = "none"  # nothing trusted vouches either way


@dataclass(frozen=True)
class AuthVerdict:
    """The verdict and, for staff, what it rests on."""

    status: AuthStatus
    detail: str


@lru_cache(maxsize=1)
def _suffixes() -> PublicSuffixList:
    return PublicSuffixList()


def organizational_domain(domain: str) -> str:
    """The registered domain (`mail.ozols.lv` → `ozols.lv`), by the Public Suffix List."""
    name = domain.strip().strip(".").lower()
    return _suffixes().privatesuffix(name) or name


def aligned(domain: str | None, from_domain: str) -> bool:
    """Relaxed alignment: both domains have the same organizational domain."""
    if not domain:
        return False
    return organizational_domain(domain) == organizational_domain(from_domain)


def trusted_headers(
    fields: Sequence[tuple[str, str]], trusted_ids: Collection[str]
) -> list[authres.AuthenticationResultsHeader]:
    """The A-R headers that count, from (name, raw value) header fields in message order."""
    wanted = {i.strip().lower() for i in trusted_ids if i.strip()}
    found: list[authres.AuthenticationResultsHeader] = []
    for name, value in fields:
        lowered = name.strip().lower()
        if lowered in ORIGINATOR_FIELDS:
            break
        if lowered != "authentication-results":
            continue
        try:
            header = authres.AuthenticationResultsHeader.parse_value(_unfold(value))
        except Exception:  # unparseable: it vouches for nothing, and hides what is below it
            break
        if str(header.authserv_id).lower() not in wanted:
            break
        found.append(header)
    return found


def _unfold(value: str) -> str:
    return " ".join(value.replace("\r", " ").replace("\n", " ").split())


def _property(result: authres.AuthenticationResult, ptype: str, name: str) -> str | None:
    for prop in result.properties:
        if str(prop.type).lower() == ptype and str(prop.name).lower() == name:
            return str(prop.value)
    return None


def _domain_of(value: str | None) -> str | None:
    if not value:
        return None
    return value.rpartition("@")[2].strip().strip("<>").lower() or None


def evaluate(
    fields: Sequence[tuple[str, str]], from_domain: str | None, trusted_ids: Collection[str]
) -> AuthVerdict:
    """What the trusted Authentication-Results say about mail claiming to be from this domain."""
    headers = trusted_headers(fields, trusted_ids)
    if not headers:
        return AuthVerdict(AuthStatus.none, "no trusted Authentication-Results")
    if from_domain is None:
        return AuthVerdict(AuthStatus.none, "no From domain to align with")
    passes: list[str] = []
    for header in headers:
        for result in header.results:
            method, verdict = str(result.method).lower(), str(result.result).lower()
            if method == "dmarc":
                vouched = _domain_of(_property(result, "header", "from"))
            elif method == "dkim":
                vouched = _domain_of(_property(result, "header", "d")) or _domain_of(
                    _property(result, "header", "i")
                )
            elif method == "spf":
                vouched = _domain_of(_property(result, "smtp", "mailfrom"))
            else:
                continue
            if method == "dmarc" and verdict == "fail":
                return AuthVerdict(AuthStatus.failed, f"dmarc=fail ({header.authserv_id})")
            if verdict == "pass" and aligned(vouched, from_domain):
                passes.append(f"{method}=pass {vouched} ({header.authserv_id})")
    if passes:
        return AuthVerdict(AuthStatus.passed, passes[0])
    return AuthVerdict(AuthStatus.none, "no aligned pass in trusted Authentication-Results")
