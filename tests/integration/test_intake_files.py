"""Files docintake writes are private (0600 in a 0700 home), whatever the umask."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

from tests.support.books import fee_increase_values, form_rtf, make_message


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_intake_under_umask_022_writes_only_private_files(
    docintake_home: Path, tmp_path: Path
) -> None:
    """A run under umask 022: home 0700, database, stored mail, replies all 0600."""
    os.chmod(docintake_home, 0o755)  # noqa: S103 - as a shell with umask 022 made it
    inbox = docintake_home / "inbox"
    inbox.mkdir()
    form = form_rtf("fee_increase", fee_increase_values())
    (inbox / "a.eml").write_bytes(make_message(attachments=(("a.rtf", form),)))
    (inbox / "b.eml").write_bytes(make_message())
    for path in inbox.glob("*.eml"):
        os.utime(path, (time.time() - 10, time.time() - 10))
    # A stranger's mail and a known sender's, so that something is written everywhere: the
    # books are seeded by the CLI first (demo seed), under the same umask.
    code = "from flows.cli import app; app()"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    for args in (["demo", "seed"], ["intake", "once", "--settle-seconds", "0"]):
        done = subprocess.run(
            [sys.executable, "-c", code, *args],
            env=env,
            capture_output=True,
            umask=0o022,
            check=False,
        )
        assert done.returncode == 0, done.stderr.decode()

    assert _mode(docintake_home) == 0o700
    written = [p for p in docintake_home.rglob("*") if p.is_file()]
    assert any(p.name == "docintake.db" for p in written)
    assert any(p.parent.name == "messages" for p in written)
    assert any(p.parent.name == "outbox" and p.suffix == ".eml" for p in written)
    # The drop folder's files are the writer's; everything docintake itself wrote is private.
    ours = [p for p in written if inbox not in p.parents]
    assert {
        str(p.relative_to(docintake_home)): oct(_mode(p)) for p in ours if _mode(p) != 0o600
    } == {}
    folders = [p for p in docintake_home.rglob("*") if p.is_dir()]
    assert all(_mode(p) == 0o700 for p in folders if p != inbox and inbox not in p.parents)
