"""Running the portal under uvicorn: in the foreground, or in a thread beside serve."""

from __future__ import annotations

import threading
import time

import uvicorn

from portal.app import create_app
from portal.config import PortalConfig


def uvicorn_config(config: PortalConfig, *, log_level: str = "info") -> uvicorn.Config:
    """Uvicorn's settings: the address, and proxy headers only from the proxies named."""
    return uvicorn.Config(
        create_app(config),
        host=config.host,
        port=config.port,
        proxy_headers=bool(config.forwarded_allow_ips),
        forwarded_allow_ips=config.forwarded_allow_ips or None,
        server_header=False,
        log_level=log_level,
        # The access log would put client addresses and reset-link tokens (query strings) in
        # the log; failures still reach the error log.
        access_log=False,
    )


def run(config: PortalConfig) -> None:
    """Serve the portal in the foreground until Ctrl-C."""
    uvicorn.Server(uvicorn_config(config)).run()


class PortalThread:
    """The portal served from a thread (serve, tests, the benchmark); `stop()` ends it."""

    def __init__(self, config: PortalConfig, *, log_level: str = "warning") -> None:
        self.server = uvicorn.Server(uvicorn_config(config, log_level=log_level))
        self.thread = threading.Thread(target=self.server.run, name="portal", daemon=True)

    def start(self, timeout: float = 30.0) -> PortalThread:
        """Start serving and wait until the socket listens."""
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("the portal stopped while starting (is the port taken?)")
            if time.monotonic() > deadline:
                raise TimeoutError("the portal did not start")
            time.sleep(0.05)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the server to finish its requests and stop; wait for the thread."""
        self.server.should_exit = True
        self.thread.join(timeout)
