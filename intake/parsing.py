"""Every document parsed in a worker process from a small pool, under a hard time budget.

A crafted document can keep a parser busy for minutes; in the serving process that would hold
up everything else (one such attachment once delayed an unrelated approval by 57 s). So the
intake never parses in its own process: a pool of long-lived workers (intake.parse_worker)
does, each started once, so a form pays no process start. The caller hands a document to an
idle worker and waits at most the budget for the answer; past it, the worker is killed, a new
one is started in its place (without waiting for it), and the document is answered
`unreadable` with a message that says it could not be read in time. A worker found dead is
replaced the same way. Workers are separate programs on pipes (not multiprocessing), so
nothing of the serving process — its threads, its `__main__`, Prefect — is copied or imported
into them.

Waiting for an idle worker is bounded too: every busy worker is free or killed within one
budget. The module keeps one pool per process, configured from settings by the composition
root (`configure`) and shut down at exit; `ParsePool` can also be used on its own.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import select
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

from forms.messages import document_issue, issue
from forms.result import ParseResult
from intake.parse_worker import ANSWER, READY, REQUEST

log = logging.getLogger(__name__)

DEFAULT_BUDGET_SECONDS = 2.0
DEFAULT_WORKERS = 2
# A worker's imports (pydantic, lxml, python-docx) take well under a second; a loaded machine
# may take many. This bounds a start that never finishes, not the parse.
START_TIMEOUT_SECONDS = 60.0
_PROJECT_ROOT = str(Path(__file__).resolve().parents[1])


def timed_out_result() -> ParseResult:
    """The answer for a document whose reading ran past the budget."""
    return ParseResult(
        errors=[
            issue(
                None,
                "unreadable",
                "Dokumentu neizdevās nolasīt atvēlētajā laikā — tas ir pārāk sarežģīts vai"
                " bojāts. Lūdzu, saglabājiet veidlapu no jauna kā DOCX vai RTF failu un"
                " nosūtiet vēlreiz.",
                "The document could not be read in the time allowed — it is too complex or"
                " damaged. Please save the form again as a DOCX or RTF file and send it again.",
            )
        ]
    )


class _Worker:
    """One worker process and its two pipes."""

    def __init__(self) -> None:
        path = os.environ.get("PYTHONPATH")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [_PROJECT_ROOT, path]))}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "intake.parse_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            close_fds=True,
        )
        assert self.process.stdin is not None  # noqa: S101
        assert self.process.stdout is not None  # noqa: S101
        self._to = self.process.stdin.fileno()
        self._from = self.process.stdout.fileno()
        os.set_blocking(self._to, False)
        self.ready = False

    def alive(self) -> bool:
        """True while the process runs."""
        return self.process.poll() is None

    def _read(self, size: int, deadline: float) -> bytes | None:
        chunks: list[bytes] = []
        while size:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self._from], [], [], remaining)[0]:
                return None
            chunk = os.read(self._from, min(size, 1 << 20))
            if not chunk:
                return None
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    def wait_ready(self, deadline: float) -> bool:
        """True once the worker has said it is ready (its imports done)."""
        if not self.ready:
            self.ready = self._read(len(READY), deadline) == READY
        return self.ready

    def ask(self, request: bytes, deadline: float) -> bytes | None:
        """The answer to one request, or None when the worker died or the deadline passed."""
        view = memoryview(request)
        try:
            while view:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not select.select([], [self._to], [], remaining)[1]:
                    return None
                view = view[os.write(self._to, view) :]
        except (BrokenPipeError, BlockingIOError):
            return None
        header = self._read(ANSWER.size, deadline)
        if header is None:
            return None
        return self._read(ANSWER.unpack(header)[0], deadline)

    def stop(self, *, grace: float) -> None:
        """End the process: by closing its input when there is grace, else by killing it."""
        if grace > 0 and self.alive():
            try:
                assert self.process.stdin is not None  # noqa: S101
                self.process.stdin.close()
                self.process.wait(timeout=grace)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if self.alive():
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None and not stream.closed:
                with contextlib.suppress(OSError):
                    stream.close()


class ParsePool:
    """A few parse workers; `parse` answers within the budget, whatever the document."""

    def __init__(
        self, *, budget_seconds: float = DEFAULT_BUDGET_SECONDS, workers: int = DEFAULT_WORKERS
    ) -> None:
        if budget_seconds <= 0 or workers < 1:
            raise ValueError("the parse budget must be positive and the pool at least one worker")
        self.budget_seconds = budget_seconds
        self._changed = threading.Condition()
        self._closed = False
        self._idle = [_Worker() for _ in range(workers)]
        self._busy: set[_Worker] = set()

    def pids(self) -> list[int]:
        """The process ids of the workers, idle and busy."""
        with self._changed:
            return [w.process.pid for w in [*self._idle, *self._busy]]

    def wait_ready(self) -> None:
        """Block until every idle worker has started (for benchmarks and tests)."""
        with self._changed:
            workers = list(self._idle)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        for worker in workers:
            worker.wait_ready(deadline)

    def _take(self) -> _Worker:
        with self._changed:
            while not self._idle:
                if self._closed:
                    raise RuntimeError("the parse pool is shut down")
                self._changed.wait()
            if self._closed:
                raise RuntimeError("the parse pool is shut down")
            # The worker used last (its memory still warm) if it has started; a replacement
            # may still be importing.
            worker = next((w for w in reversed(self._idle) if w.ready), self._idle[0])
            self._idle.remove(worker)
            if not worker.alive():
                worker = _Worker()
            self._busy.add(worker)
            return worker

    def _give_back(self, worker: _Worker, *, replace: bool) -> None:
        if replace:
            worker.stop(grace=0)
        with self._changed:
            self._busy.discard(worker)
            if self._closed:
                worker.stop(grace=0)
            else:
                self._idle.append(_Worker() if replace else worker)
            self._changed.notify()

    def parse(self, filename: str, data: bytes, *, today: date) -> ParseResult:
        """The document's parse result, or `unreadable` when it is not read within the budget."""
        worker = self._take()
        replace = True
        try:
            if not worker.wait_ready(time.monotonic() + START_TIMEOUT_SECONDS):
                log.error("a parse worker did not start; the document is answered as unreadable")
                return ParseResult(errors=[document_issue("unreadable")])
            name = filename.encode("utf-8", "replace")
            request = REQUEST.pack(len(name), len(data), today.isoformat().encode()) + name + data
            deadline = time.monotonic() + self.budget_seconds
            answer = worker.ask(request, deadline)
            if answer is None and time.monotonic() < deadline:
                log.error("a parse worker ended while reading; the document is answered unreadable")
                return ParseResult(errors=[document_issue("unreadable")])
            if answer is None:
                # Only the fact is logged: the file name may be personal data.
                log.warning(
                    "a document was not read within %.1f s; its worker was killed and replaced",
                    self.budget_seconds,
                )
                return timed_out_result()
            try:
                result = ParseResult.model_validate_json(answer)
            except ValueError:
                # Only a broken worker answers what is not a parse result: replace it.
                log.error("a parse worker answered nonsense; the document is answered unreadable")
                return ParseResult(errors=[document_issue("unreadable")])
            replace = False
            return result
        finally:
            self._give_back(worker, replace=replace)

    def close(self) -> None:
        """Stop every worker: idle ones at once, busy ones as their parse returns."""
        with self._changed:
            self._closed = True
            idle, self._idle = self._idle, []
            self._changed.notify_all()
        for worker in idle:
            worker.stop(grace=2.0)

    def __enter__(self) -> ParsePool:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


_lock = threading.Lock()
_pool: ParsePool | None = None
_pool_pid = 0
_settings = (DEFAULT_BUDGET_SECONDS, DEFAULT_WORKERS)


def configure(*, budget_seconds: float, workers: int) -> None:
    """Use this budget and pool size from now on (the pool restarts only if they changed)."""
    global _settings
    with _lock:
        if (budget_seconds, workers) == _settings:
            return
        _settings = (budget_seconds, workers)
    shutdown()


def _default_pool() -> ParsePool:
    global _pool, _pool_pid
    with _lock:
        # A forked child must not share its parent's workers and pipes.
        if _pool is None or _pool_pid != os.getpid():
            budget, workers = _settings
            _pool, _pool_pid = ParsePool(budget_seconds=budget, workers=workers), os.getpid()
        return _pool


def parse_document(filename: str, data: bytes, *, today: date) -> ParseResult:
    """forms.parse_document, in this process's worker pool under its time budget."""
    return _default_pool().parse(filename, data, today=today)


def shutdown() -> None:
    """Stop this process's pool, if any; the next parse starts a new one."""
    global _pool
    with _lock:
        pool, _pool = (_pool, None) if _pool_pid == os.getpid() else (None, None)
    if pool is not None:
        pool.close()


atexit.register(shutdown)
