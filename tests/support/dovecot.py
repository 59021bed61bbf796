"""A real Dovecot IMAP server, started by a test in a temporary folder on a free loopback port.

One passwd-file user with a plaintext password (allowed because it only listens on loopback),
Maildir storage, no TLS unless `tls=True` (then a self-signed certificate made with openssl).
A missing Dovecot fails the test; it is never skipped (`make test` installs dovecot-imapd).

    with Dovecot() as server:
        client = server.client()          # imapclient, logged in
"""

from __future__ import annotations

import getpass
import grp
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Self

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import LoginError

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER = "intake"
PASSWORD = "intake-secret"


def _mail_user() -> pwd.struct_passwd:
    # Dovecot will not touch mail as root; as root the mail belongs to its own system user.
    return pwd.getpwnam("dovecot") if os.getuid() == 0 else pwd.getpwuid(os.getuid())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Dovecot:
    """A Dovecot process of our own: `dovecot -F -c <conf>` in a temp folder."""

    def __init__(self, *, tls: bool = False) -> None:
        # Its own folder outside pytest's private (0700) temp tree: Dovecot's unprivileged
        # processes must reach the passwd file and the mail.
        self.root = Path(tempfile.mkdtemp(prefix="docintake-dovecot-"))
        self.root.chmod(0o755)
        self.tls = tls
        self.host = "127.0.0.1"
        self.port = _free_port()
        self.user = USER
        self.password = PASSWORD
        self._process: subprocess.Popen[bytes] | None = None

    def _config(self) -> str:
        me = _mail_user()
        group = grp.getgrgid(me.pw_gid).gr_name
        # Dovecot refuses root as its internal user; its own system user exists where it is
        # installed, and a non-root test runner simply uses itself.
        internal = "dovecot" if os.getuid() == 0 else getpass.getuser()
        login = "dovenull" if os.getuid() == 0 else getpass.getuser()
        mail = self.root / "mail"
        ssl_lines = "ssl = no\n"
        if self.tls:
            ssl_lines = (
                "ssl = required\n"
                f"ssl_cert = <{self.root / 'cert.pem'}\n"
                f"ssl_key = <{self.root / 'key.pem'}\n"
            )
        listener = "imaps" if self.tls else "imap"
        other = "imap" if self.tls else "imaps"
        return f"""
base_dir = {self.root / "run"}
state_dir = {self.root / "state"}
log_path = {self.root / "dovecot.log"}
protocols = imap
listen = 127.0.0.1
{ssl_lines}
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal}
default_login_user = {login}
mail_location = maildir:{mail}/%u
mail_uid = {me.pw_uid}
mail_gid = {me.pw_gid}
first_valid_uid = 0
mail_privileged_group = {group}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.root / "passwd"}
}}
userdb {{
  driver = static
  args = uid={me.pw_uid} gid={me.pw_gid} home={mail}/%u
}}
service imap-login {{
  inet_listener {listener} {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener {other} {{
    port = 0
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
"""

    def _make_cert(self) -> None:
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
                "-keyout",
                str(self.root / "key.pem"),
                "-out",
                str(self.root / "cert.pem"),
            ],
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        """Write the configuration, start Dovecot and wait until it accepts connections."""
        if not Path(DOVECOT).exists():
            pytest.fail(f"Dovecot is not installed at {DOVECOT}; `make test` installs it")
        for sub in ("run", "state", "mail"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        mail_user = _mail_user()
        os.chown(self.root / "mail", mail_user.pw_uid, mail_user.pw_gid)
        (self.root / "passwd").write_text(f"{self.user}:{{PLAIN}}{self.password}::::::\n")
        if self.tls:
            self._make_cert()
        conf = self.root / "dovecot.conf"
        conf.write_text(self._config())
        self._process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(conf)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                output = self._process.stdout.read().decode() if self._process.stdout else ""
                log = self.log()
                self.stop()
                pytest.fail(f"Dovecot exited: {output}{log}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5) as sock:
                    # A TLS server speaks only after the client hello; a plain one greets.
                    if self.tls or sock.recv(5):
                        return
            except OSError:
                time.sleep(0.1)
        log = self.log()
        self.stop()
        pytest.fail(f"Dovecot did not start listening: {log}")

    def log(self) -> str:
        """Dovecot's log so far."""
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts this server's self-signed certificate."""
        return ssl.create_default_context(cafile=str(self.root / "cert.pem"))

    def client(self) -> IMAPClient:
        """A logged-in imapclient connection."""
        # On a busy machine Dovecot accepts connections before its auth process is up and
        # answers "[UNAVAILABLE] Temporary authentication failure": try again for a while.
        deadline = time.monotonic() + 15
        while True:
            client = IMAPClient(
                self.host,
                port=self.port,
                ssl=self.tls,
                ssl_context=self.ssl_context() if self.tls else None,
                timeout=10,
            )
            try:
                client.login(self.user, self.password)
            except LoginError as exc:
                client.shutdown()
                if "UNAVAILABLE" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
                continue
            return client

    def stop(self) -> None:
        """Stop Dovecot, wait for it and remove its folder."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        shutil.rmtree(self.root, ignore_errors=True)

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


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    """A running Dovecot for this test."""
    with Dovecot() as server:
        yield server
