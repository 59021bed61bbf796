"""Raw bytes kept content-addressed by sha256 under home/messages/, durable before anything else."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


def sha256_hex(data: bytes) -> str:
    """The lower-case hex sha256 of the bytes."""
    return hashlib.sha256(data).hexdigest()


def messages_dir(home: Path) -> Path:
    """The folder of stored raw messages and attachments."""
    return home / "messages"


def stored_path(home: Path, sha256: str) -> Path:
    """Where the bytes with this sha256 live (messages and attachments share the store)."""
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError("not a sha256 hex digest")
    return messages_dir(home) / sha256


def _fsync_dir(folder: Path) -> None:
    # A rename is durable only once the directory entry itself reaches the disk.
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Write bytes to path so that readers see all of them or nothing, fsynced to disk."""
    # 0700 folders and (mkstemp's) 0600 files whatever the umask: the bytes are personal data.
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def store_bytes(home: Path, data: bytes) -> str:
    """Store bytes once by their sha256 and return it; storing the same bytes again is a no-op."""
    digest = sha256_hex(data)
    path = stored_path(home, digest)
    # Same name means same content, so an existing file never needs rewriting.
    if not path.exists() or path.stat().st_size != len(data):
        write_atomic(path, data)
    return digest


def read_bytes(home: Path, sha256: str) -> bytes:
    """The stored bytes with this sha256."""
    return stored_path(home, sha256).read_bytes()
