"""Our own SPF, DKIM and DMARC checks, for mail the SMTP listener takes in directly.

The listener is then our boundary: it deletes every Authentication-Results header the message
arrived with (RFC 8601 §5: whatever they say was written by someone else) and stamps its own,
under its authserv-id, which the pipeline trusts for the drop folder the listener writes to.

The libraries and how each is pointed at our resolver (a `dns.resolver.Resolver`, configured
from DOCINTAKE_DNS_SERVERS or the system's):
- DKIM: dkimpy's `DKIM.verify(idx, dnsfunc=...)` takes the TXT look-up as a parameter;
- SPF: pyspf resolves through its module-level `spf.DNSLookup(name, qtype, strict, timeout)`
  and has no parameter for it; we install one dispatcher there once, which uses the resolver
  of the check running in this thread (a ContextVar), or pyspf's own look-up outside one;
- DMARC: the policy record `_dmarc.<domain>` (or of the organizational domain) is read with
  dnspython directly; alignment is relaxed or strict as the record's `adkim`/`aspf` say.
"""

from __future__ import annotations

import contextvars
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import Any

import authres
import dkim
import dns.exception
import dns.name
import dns.nameserver
import dns.rdatatype
import dns.resolver
import spf
from authres.dmarc import DMARCAuthenticationResult

from intake.addresses import parse_mailbox
from intake.authresults import organizational_domain

_TIMEOUT = 5.0
_current: contextvars.ContextVar[dns.resolver.Resolver | None] = contextvars.ContextVar(
    "docintake_dns_resolver", default=None
)
_install_lock = threading.Lock()
_original_spf_lookup: Any = None


def make_resolver(servers: Sequence[str] = ()) -> dns.resolver.Resolver:
    """A caching resolver asking these `host[:port]` servers, or the system's when none given.

    Answers are kept for their TTL: clients write again and again from the same few domains,
    and their keys and policies need not be asked for each message.
    """
    if not servers:
        resolver = dns.resolver.Resolver()
        resolver.cache = dns.resolver.LRUCache(4096)
        return resolver
    resolver = dns.resolver.Resolver(configure=False)
    resolver.cache = dns.resolver.LRUCache(4096)
    nameservers: list[str | dns.nameserver.Nameserver] = []
    for server in servers:
        host, _, port = server.strip().rpartition(":") if ":" in server else (server, "", "")
        nameservers.append(dns.nameserver.Do53Nameserver(host.strip("[]"), int(port or 53)))
    resolver.nameservers = nameservers
    resolver.lifetime = _TIMEOUT
    return resolver


def _txt(resolver: dns.resolver.Resolver, name: str, timeout: float = _TIMEOUT) -> list[bytes]:
    try:
        answer = resolver.resolve(
            name, "TXT", lifetime=timeout, raise_on_no_answer=False, search=False
        )
    except (dns.resolver.NXDOMAIN, dns.resolver.NoNameservers, dns.name.EmptyLabel):
        return []
    return [b"".join(rdata.strings) for rdata in answer]


def _spf_lookup(name: str, qtype: str, strict: Any = True, timeout: float = 30) -> list[Any]:
    """The look-up pyspf calls, answered by the resolver of the check running in this context."""
    resolver = _current.get()
    if resolver is None:
        return list(_original_spf_lookup(name, qtype, strict, timeout))
    found: list[Any] = []
    try:
        answer = resolver.resolve(name, qtype, lifetime=timeout, raise_on_no_answer=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return found
    except (dns.exception.Timeout, dns.resolver.NoNameservers) as exc:
        raise spf.TempError(f"DNS {exc}") from exc
    for rdata in answer:
        if qtype in ("A", "AAAA"):
            found.append(((name, qtype), rdata.address))
        elif qtype == "MX":
            found.append(((name, qtype), (rdata.preference, rdata.exchange)))
        elif qtype == "PTR":
            found.append(((name, qtype), rdata.target.to_text(True)))
        elif qtype in ("TXT", "SPF"):
            found.append(((name, qtype), rdata.strings))
    return found


def _install_spf_lookup() -> None:
    global _original_spf_lookup
    with _install_lock:
        if spf.DNSLookup is not _spf_lookup:
            _original_spf_lookup = spf.DNSLookup
            spf.DNSLookup = _spf_lookup


@contextmanager
def _using(resolver: dns.resolver.Resolver) -> Iterator[None]:
    _install_spf_lookup()
    token = _current.set(resolver)
    try:
        yield
    finally:
        _current.reset(token)


def _domain(address: str | None) -> str | None:
    if not address or "@" not in address:
        return None
    return address.rpartition("@")[2].strip().strip(">").lower() or None


def _aligned(domain: str | None, from_domain: str, mode: str) -> bool:
    if not domain:
        return False
    if mode == "s":
        return domain == from_domain
    return organizational_domain(domain) == organizational_domain(from_domain)


def dmarc_policy(domain: str, resolver: dns.resolver.Resolver) -> dict[str, str] | None:
    """The DMARC record's tags for a domain (or its organizational domain), or None."""
    for name in dict.fromkeys([domain, organizational_domain(domain)]):
        for record in _txt(resolver, f"_dmarc.{name}"):
            text = record.decode("ascii", "replace")
            if not re.match(r"\s*v\s*=\s*DMARC1\s*(;|$)", text, re.IGNORECASE):
                continue
            tags: dict[str, str] = {}
            for part in text.split(";"):
                key, sep, value = part.partition("=")
                if sep:
                    tags[key.strip().lower()] = value.strip()
            return tags
    return None


@dataclass(frozen=True)
class Checked:
    """What our checks found: the results to stamp, and the DMARC verdict."""

    results: list[authres.AuthenticationResult]
    dmarc: str
    from_domain: str | None


def _head(raw: bytes) -> Message:
    """The header fields alone, parsed without decoding the (possibly large) body."""
    end = raw.find(b"\r\n\r\n")
    end = raw.find(b"\n\n") if end == -1 else end
    return BytesHeaderParser(policy=compat32).parsebytes(raw if end == -1 else raw[: end + 2])


def _dkim_results(
    raw: bytes, headers: Message, resolver: dns.resolver.Resolver
) -> list[tuple[str, str | None]]:
    """(pass|fail|neutral, d=) for every DKIM-Signature of the message."""
    count = len(headers.get_all("DKIM-Signature") or [])
    found: list[tuple[str, str | None]] = []

    def lookup(name: bytes | str, timeout: float = _TIMEOUT) -> bytes | None:
        text = name.decode("ascii", "replace") if isinstance(name, bytes) else name
        records = _txt(resolver, text.rstrip("."), timeout)
        return records[0] if records else None

    for idx in range(count):
        checker = dkim.DKIM(raw, minkey=1024, timeout=int(_TIMEOUT))
        try:
            ok = checker.verify(idx=idx, dnsfunc=lookup)
            result = "pass" if ok else "fail"
        except dkim.DKIMException:
            result = "fail"
        except Exception:  # a DNS failure or a library bug: neither pass nor fail
            result = "temperror"
        domain = checker.domain.decode("ascii", "replace").lower() if checker.domain else None
        found.append((result, domain))
    return found


def check_message(
    raw: bytes,
    *,
    client_ip: str,
    helo: str,
    mail_from: str,
    resolver: dns.resolver.Resolver,
) -> Checked:
    """SPF for the envelope sender, DKIM for each signature, DMARC for the From domain."""
    headers = _head(raw)
    from_domain = parse_mailbox(list(headers.get_all("From") or [])).domain
    with _using(resolver):
        try:
            spf_result, _why = spf.check2(i=client_ip, s=mail_from or f"postmaster@{helo}", h=helo)
        except Exception:  # pyspf raises on malformed input it cannot judge
            spf_result = "temperror"
    spf_domain = _domain(mail_from) or helo.lower()
    dkim_found = _dkim_results(raw, headers, resolver)
    results: list[authres.AuthenticationResult] = [
        authres.SPFAuthenticationResult(result=spf_result, smtp_mailfrom=mail_from or helo)
    ]
    results += [authres.DKIMAuthenticationResult(result=r, header_d=d) for r, d in dkim_found] or [
        authres.DKIMAuthenticationResult(result="none")
    ]
    dmarc = "none"
    if from_domain is not None:
        policy = dmarc_policy(from_domain, resolver)
        adkim = (policy or {}).get("adkim", "r").lower()
        aspf = (policy or {}).get("aspf", "r").lower()
        dkim_ok = any(r == "pass" and _aligned(d, from_domain, adkim) for r, d in dkim_found)
        spf_ok = spf_result == "pass" and _aligned(spf_domain, from_domain, aspf)
        if dkim_ok or spf_ok:
            dmarc = "pass"
        elif policy is not None:
            dmarc = "fail"
        results.append(DMARCAuthenticationResult(result=dmarc, header_from=from_domain))
    return Checked(results=results, dmarc=dmarc, from_domain=from_domain)


_AR_FIELD = re.compile(rb"^authentication-results\s*:", re.IGNORECASE)


def _split(raw: bytes) -> tuple[list[bytes], bytes]:
    """Header fields (each with its folded lines) and the rest from the blank line on."""
    end = len(raw)
    for sep in (b"\r\n\r\n", b"\n\n"):
        at = raw.find(sep)
        if at != -1 and at < end:
            end = at + len(sep) // 2
    head, rest = raw[:end], raw[end:]
    fields: list[bytes] = []
    for line in head.splitlines(keepends=True):
        if fields and line[:1] in (b" ", b"\t"):
            fields[-1] += line
        else:
            fields.append(line)
    return fields, rest


def strip_results(raw: bytes) -> bytes:
    """The message without any Authentication-Results header it came with."""
    fields, rest = _split(raw)
    return b"".join(f for f in fields if not _AR_FIELD.match(f)) + rest


def stamp(raw: bytes, *, authserv_id: str, checked: Checked) -> bytes:
    """The message without any Authentication-Results it came with, under our own."""
    kept = strip_results(raw)
    newline = b"\r\n" if b"\r\n" in raw[:2000] else b"\n"
    header = authres.AuthenticationResultsHeader(authserv_id=authserv_id, results=checked.results)
    line = str(header).encode("ascii", "replace") + newline
    return line + kept
