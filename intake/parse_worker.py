"""One parse worker: reads documents from stdin, answers parse results on stdout, forever.

Started by intake.parsing as `python -m intake.parse_worker`. The protocol is length-prefixed
and carries no pickles either way: a request is a header (filename and data lengths, today's
date) and the two byte strings; an answer is a length and the ParseResult as JSON. The worker
writes one byte when its imports are done, so the pool's time budget never pays for them.
Whatever the parsed code prints goes to stderr: stdout belongs to the protocol.
"""

from __future__ import annotations

import os
import signal
import struct
import sys
from datetime import date

REQUEST = struct.Struct("!II10s")
ANSWER = struct.Struct("!I")
READY = b"R"


def _read_exactly(fd: int, size: int) -> bytes | None:
    chunks: list[bytes] = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def main() -> int:
    """Serve parse requests until stdin closes."""
    # Ctrl-C in a terminal reaches the whole process group; the worker ends when the pool
    # closes its input, not in the middle of an answer.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    answers = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    from forms import parse_document

    _write_all(answers, READY)
    while True:
        header = _read_exactly(0, REQUEST.size)
        if header is None:
            return 0
        name_size, data_size, today = REQUEST.unpack(header)
        name = _read_exactly(0, name_size) if name_size else b""
        data = _read_exactly(0, data_size) if data_size else b""
        if name is None or data is None:
            return 0
        result = parse_document(
            name.decode("utf-8", "replace"), data, today=date.fromisoformat(today.decode())
        )
        answer = result.model_dump_json().encode()
        _write_all(answers, ANSWER.pack(len(answer)) + answer)


if __name__ == "__main__":
    sys.exit(main())
