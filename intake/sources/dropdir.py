"""The drop folder: `.eml` files in inbox/, each taken once, atomically.

Writers must make a file appear whole: write it under a name not ending in `.eml` (for
example `x.eml.tmp` or a dot-file) in the same folder and rename it to `*.eml` when complete.
As a second guard for writers that do not, a file modified in the last `settle_seconds` is left
for a later pass. A taken file is renamed into processing/ (so two workers never both take it),
then into done/ or rejected/ once its message reached a final state. Files left in processing/
by a crash are taken first on the next pass; processing them again is idempotent.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from handlers.models import MessageStatus
from intake import store
from intake.mime import HEAD_BYTES
from intake.pipeline import Handle, MessageOutcome

log = logging.getLogger(__name__)

PROCESSING, DONE, REJECTED = "processing", "done", "rejected"
SETTLE_SECONDS = 1.0


def _read(path: Path, max_bytes: int | None) -> tuple[bytes, int | None]:
    """The file's bytes; over the limit only its head (headers) and its size (size first)."""
    size = path.stat().st_size
    if max_bytes is None or size <= max_bytes:
        return path.read_bytes(), None
    with path.open("rb") as handle:
        return handle.read(HEAD_BYTES), size


@dataclass(frozen=True)
class DropResult:
    """One file of the drop folder: its name, and the outcome or the error that stopped it."""

    name: str
    outcome: MessageOutcome | None
    error: str | None = None

    def summary(self) -> str:
        """One line for people, without personal data."""
        if self.outcome is None:
            return f"{self.name}: error ({self.error}); left in processing/ for the next pass"
        return f"{self.name}: {self.outcome.summary()}"


def deliver(inbox: Path, raw: bytes) -> Path:
    """Put a raw message into the drop folder durably and atomically (SMTP listener, tests)."""
    path = inbox / f"{store.sha256_hex(raw)}.eml"
    store.write_atomic(path, raw)
    return path


def _ready(inbox: Path, *, settle_seconds: float, now: float) -> list[Path]:
    ready = []
    for path in sorted(inbox.glob("*.eml")):
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue  # taken by another worker meanwhile
        if path.is_file() and now - stat.st_mtime >= settle_seconds:
            ready.append(path)
    return ready


def _claim(path: Path, processing: Path) -> Path | None:
    # A unique prefix keeps two files of the same name apart; the rename is the claim.
    target = processing / f"{uuid.uuid4().hex[:12]}--{path.name}"
    try:
        os.rename(path, target)
    except FileNotFoundError:
        return None
    return target


def _original_name(claimed: Path) -> str:
    return claimed.name.split("--", 1)[-1]


def _settle(claimed: Path, inbox: Path, outcome: MessageOutcome) -> None:
    folder = DONE if outcome.status is MessageStatus.done else REJECTED
    target = inbox / folder / claimed.name
    os.rename(claimed, target)


def process_inbox(
    inbox: Path,
    *,
    handle: Handle,
    settle_seconds: float = SETTLE_SECONDS,
    limit: int | None = None,
    max_message_bytes: int | None = None,
) -> list[DropResult]:
    """Take every ready file of the drop folder through `handle`; leftovers of a crash first.

    A file over `max_message_bytes` is never read whole: only its headers go to `handle`.
    """
    for folder in (PROCESSING, DONE, REJECTED):
        (inbox / folder).mkdir(parents=True, exist_ok=True)
    processing = inbox / PROCESSING
    claimed = sorted(p for p in processing.glob("*.eml") if p.is_file())
    results: list[DropResult] = []
    for path in _ready(inbox, settle_seconds=settle_seconds, now=time.time()):
        if limit is not None and len(claimed) >= limit:
            break
        taken = _claim(path, processing)
        if taken is not None:
            claimed.append(taken)
    for path in claimed[:limit] if limit is not None else claimed:
        name = _original_name(path)
        try:
            raw, size = _read(path, max_message_bytes)
            outcome = handle(raw, size=size) if size is not None else handle(raw)
        except Exception as exc:  # one bad message or a database hiccup must not stop the rest
            # Only the type: database errors quote their parameters, i.e. personal data.
            log.error(
                "drop-folder file not processed (%s); stays in processing/", type(exc).__name__
            )
            results.append(DropResult(name, None, type(exc).__name__))
            continue
        if outcome.final:
            _settle(path, inbox, outcome)
        results.append(DropResult(name, outcome))
    return results
