"""Process hygiene for `serve` and `worker`: children die with their parent, one serve a home.

The port check says who holds the port when it is not our own previous server.

Found by killing `serve` with SIGKILL: its Prefect server and runner lived on as orphans, and the
next `serve` printed "Prefect UI: …" over a server that had died with "port already in use" while
a second runner ran beside the orphan. Each guard here closes one of those doors.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import psutil

# prctl(2): deliver a signal to this process when the thread that forked it dies.
_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None]:
    """A `preexec_fn` that gives the child `sig` when its parent dies (Linux; a no-op elsewhere).

    Call it in the thread that starts the child and lives as long as it: Linux ties the signal
    to the forking thread. A parent that died before the child armed it is caught by comparing
    the parent pid.
    """
    parent = os.getpid()

    def arm() -> None:
        if sys.platform.startswith("linux"):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)
        if os.getppid() != parent:
            os.kill(os.getpid(), sig)

    return arm


class AlreadyServingError(RuntimeError):
    """Another `serve` holds this home."""


class HomeLock:
    """An exclusive `fcntl.flock` on `home/serve.lock` for as long as a serve runs.

    The kernel drops the lock when its holder dies, even by SIGKILL: a stale file never blocks
    the next start. The file holds the holder's pid so the refusal can name it.
    """

    def __init__(self, home: Path) -> None:
        self.path = home / "serve.lock"
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock, or raise AlreadyServingError naming the serve that holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            handle.close()
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            raise AlreadyServingError(
                f"another docintake serve (pid {holder}) is running on {self.path.parent}"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        """Let the lock go (the file stays; only the lock matters)."""
        handle, self._file = self._file, None
        if handle is not None:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


class PortTakenError(RuntimeError):
    """The port serve needs is held by a process that is not our own previous server."""


def port_is_free(port: int) -> bool:
    """True when nothing listens on 127.0.0.1:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        return probe.connect_ex(("127.0.0.1", port)) != 0


def port_owner(port: int) -> psutil.Process | None:
    """The process listening on that TCP port, if this user may see it."""
    for connection in psutil.net_connections(kind="tcp"):
        if (
            connection.status == psutil.CONN_LISTEN
            and connection.laddr
            and connection.laddr.port == port
            and connection.pid is not None
        ):
            with contextlib.suppress(psutil.Error):
                return psutil.Process(connection.pid)
    return None


def is_own_server(process: psutil.Process, prefect_home: Path) -> bool:
    """True for a `prefect server` whose PREFECT_HOME is ours: a previous serve's orphan."""
    try:
        command = " ".join(process.cmdline())
        home = process.environ().get("PREFECT_HOME")
    except psutil.Error:
        return False
    return (
        "prefect" in command
        and "server" in command
        and home is not None
        and (Path(home).resolve() == prefect_home.resolve())
    )


def describe(process: psutil.Process) -> str:
    """`pid 123 (prefect server start)` for a message to ops."""
    try:
        command = " ".join(process.cmdline()) or process.name()
    except psutil.Error:
        command = "?"
    return f"pid {process.pid} ({command[:120]})"


def claim_port(port: int, prefect_home: Path, *, timeout: float = 20.0) -> str | None:
    """Make the port free for our server: stop our own orphaned server, refuse anything else.

    Returns a description of the orphan that was stopped, or None when the port was free.
    Raises PortTakenError naming whoever else holds it.
    """
    if port_is_free(port):
        return None
    owner = port_owner(port)
    if owner is None:
        raise PortTakenError(
            f"port {port} is taken by a process this user cannot see; "
            "set DOCINTAKE_PREFECT_PORT to another port"
        )
    if not is_own_server(owner, prefect_home):
        raise PortTakenError(
            f"port {port} is taken by {describe(owner)}, not by a docintake Prefect server of"
            " this home; stop it or set DOCINTAKE_PREFECT_PORT to another port"
        )
    described = describe(owner)
    _stop_tree(owner, timeout=timeout)
    deadline = time.monotonic() + timeout
    while not port_is_free(port) and time.monotonic() < deadline:
        time.sleep(0.2)
    return described


def _stop_tree(process: psutil.Process, *, timeout: float) -> None:
    """SIGTERM a process and its descendants, SIGKILL what is left after the timeout."""
    with contextlib.suppress(psutil.Error):
        tree = [process, *process.children(recursive=True)]
        for member in tree:
            with contextlib.suppress(psutil.Error):
                member.terminate()
        _gone, alive = psutil.wait_procs(tree, timeout=timeout)
        for member in alive:
            with contextlib.suppress(psutil.Error):
                member.kill()
