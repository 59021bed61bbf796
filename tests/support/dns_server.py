"""A real DNS server on loopback (dnslib's), answering from a zone the test writes.

    with DnsServer() as dns:
        dns.txt("_dmarc.ozols.lv", "v=DMARC1; p=reject")
        resolver = make_resolver([dns.address])   # "127.0.0.1:PORT"

It answers over UDP and TCP on one free port; names it does not know get NXDOMAIN. Real
wire-format DNS, so dnspython, dkimpy and pyspf do exactly what they do against any server.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from types import TracebackType
from typing import Any, Self

from dnslib import QTYPE, RCODE, RR, TXT, A
from dnslib.server import BaseResolver, DNSLogger, DNSServer

from tests.support.smtp_sink import free_port


def _chunks(text: str, size: int = 255) -> list[bytes]:
    data = text.encode("ascii")
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


class _ZoneResolver(BaseResolver):  # type: ignore[misc]
    """Answers from the server's records; counts the questions asked."""

    def __init__(self, server: DnsServer) -> None:
        self.server = server

    def resolve(self, request: Any, handler: Any) -> Any:
        """The records of the asked name and type, or NXDOMAIN for an unknown name."""
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        qtype = QTYPE[request.q.qtype]
        with self.server.lock:
            self.server.queries.append((name, qtype))
            records = self.server.records.get(name)
            if records is None:
                reply.header.rcode = RCODE.NXDOMAIN
                return reply
            for rtype, rdata in records:
                if rtype == qtype:
                    reply.add_answer(
                        RR(request.q.qname, getattr(QTYPE, rtype), rdata=rdata, ttl=60)
                    )
        return reply


class DnsServer:
    """dnslib's DNSServer on 127.0.0.1, UDP and TCP, with records the test adds."""

    def __init__(self) -> None:
        self.port = free_port()
        self.lock = threading.Lock()
        self.records: dict[str, list[tuple[str, Any]]] = defaultdict(list)
        self.queries: list[tuple[str, str]] = []
        resolver = _ZoneResolver(self)
        quiet = DNSLogger(log="-request,-reply,-truncated,-error,-recv,-send,-data", prefix=False)
        self._servers = [
            DNSServer(resolver, address="127.0.0.1", port=self.port, tcp=tcp, logger=quiet)
            for tcp in (False, True)
        ]

    @property
    def address(self) -> str:
        """`host:port`, as DOCINTAKE_DNS_SERVERS takes it."""
        return f"127.0.0.1:{self.port}"

    def txt(self, name: str, text: str) -> None:
        """Add a TXT record (long texts split into 255-byte strings, as DKIM keys are)."""
        with self.lock:
            self.records[name.lower()].append(("TXT", TXT(_chunks(text))))

    def a(self, name: str, address: str) -> None:
        """Add an A record."""
        with self.lock:
            self.records[name.lower()].append(("A", A(address)))

    def __enter__(self) -> Self:
        for server in self._servers:
            server.start_thread()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for server in self._servers:
            server.stop()
