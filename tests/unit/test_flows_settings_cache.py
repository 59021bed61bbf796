"""Settings are read once per environment, and again as soon as the environment changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.common import load_settings


def test_a_changed_variable_is_seen_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Changing DOCINTAKE_HOME between two calls gives the new home, not the remembered one."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DOCINTAKE_HOME", str(tmp_path / "first"))
    assert load_settings().home == tmp_path / "first"
    monkeypatch.setenv("DOCINTAKE_HOME", str(tmp_path / "second"))
    assert load_settings().home == tmp_path / "second"
    assert (tmp_path / "second").stat().st_mode & 0o777 == 0o700


def test_an_edited_dotenv_is_seen_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Editing `.env` in the working folder changes the next call's settings."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DOCINTAKE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DOCINTAKE_POLL_SECONDS", raising=False)
    dotenv = tmp_path / ".env"
    dotenv.write_text("DOCINTAKE_POLL_SECONDS=7\n", encoding="utf-8")
    assert load_settings().poll_seconds == 7
    dotenv.write_text("DOCINTAKE_POLL_SECONDS=11\n", encoding="utf-8")
    assert load_settings().poll_seconds == 11
    dotenv.unlink()
    assert load_settings().poll_seconds == 5.0


def test_the_same_environment_is_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two calls in an unchanged environment share one object (no re-read per task)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DOCINTAKE_HOME", str(tmp_path / "home"))
    assert load_settings() is load_settings()
