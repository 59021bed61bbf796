"""A local `prefect server start` as a child process: start, wait until healthy, stop.

Used by `docintake serve` (the embedded default) and by the test suite. The child gets its own
process group, so stopping it takes its workers (uvicorn, services) along.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

from flows.processes import die_with_parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def prefect_executable() -> str:
    """The `prefect` script of this interpreter's environment."""
    candidate = Path(sys.executable).parent / "prefect"
    return str(candidate) if candidate.exists() else "prefect"


def server_environment(
    *, prefect_home: Path, port: int, database_url: str | None = None
) -> dict[str, str]:
    """The environment a local server runs with: its home, port, loopback, no analytics."""
    env = {
        key: value
        for key, value in os.environ.items()
        # A client-side API URL in our own environment must not leak into the server.
        if key not in {"PREFECT_API_URL", "PREFECT_SERVER_DATABASE_CONNECTION_URL"}
    }
    env.update(
        PREFECT_HOME=str(prefect_home),
        PREFECT_SERVER_API_HOST="127.0.0.1",
        PREFECT_SERVER_API_PORT=str(port),
        PREFECT_UI_API_URL=f"http://127.0.0.1:{port}/api",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_LOGGING_LEVEL="WARNING",
    )
    if database_url is not None:
        env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = database_url
    return env


def is_healthy(api_url: str, *, timeout: float = 2.0) -> bool:
    """True when the server at api_url answers /health."""
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=timeout) as response:  # noqa: S310
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


class PrefectServer:
    """`prefect server start` as a child: `with PrefectServer(home, port) as server: …`."""

    def __init__(
        self,
        prefect_home: Path,
        port: int,
        *,
        database_url: str | None = None,
        log_path: Path | None = None,
        options: Sequence[str] = (),
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        self.prefect_home = prefect_home
        self.port = port
        self.database_url = database_url
        # e.g. ("--no-services", "--workers", "2") with Redis messaging in extra_env (ops' shape)
        self.options = tuple(options)
        self.extra_env = dict(extra_env or {})
        self.log_path = log_path or prefect_home / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def api_url(self) -> str:
        """The API URL clients use."""
        return f"http://127.0.0.1:{self.port}/api"

    @property
    def ui_url(self) -> str:
        """Where ops open the UI."""
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        """The server's environment (also for `prefect server services start` beside it)."""
        env = server_environment(
            prefect_home=self.prefect_home, port=self.port, database_url=self.database_url
        )
        env.update(self.extra_env)
        return env

    def start(self, *, timeout: float = 90.0) -> None:
        """Start the server and return once /api/health answers; raise if it never does."""
        self.prefect_home.mkdir(parents=True, exist_ok=True)
        env = self.environment()
        # Prefect's own server start, with SQLite writes that wait their turn.
        command = [sys.executable, "-m", "flows.prefect_server_child", "server", "start"]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own environment's prefect
                [*command, *self.options],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                # Our server dies with us, even when we are SIGKILLed: no orphan on the port.
                preexec_fn=die_with_parent(),
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"prefect server exited with {self.process.returncode}; see {self.log_path}"
                )
            if is_healthy(self.api_url):
                return
            time.sleep(0.25)
        self.stop()
        raise TimeoutError(f"prefect server not healthy after {timeout:.0f} s; see {self.log_path}")

    def stop(self, *, timeout: float = 20.0) -> None:
        """Stop the server and everything it started (its whole process group)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        stop_process_group(process, timeout=timeout)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def stop_process_group(process: subprocess.Popen[bytes], *, timeout: float = 20.0) -> None:
    """SIGTERM a child's process group, then SIGKILL what is left after the timeout."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=timeout)
    # Grandchildren may outlive the leader; the group id still reaches them.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
