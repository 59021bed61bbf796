"""Composition helpers shared by the CLI and the flows: settings → engine → unit of work."""

from __future__ import annotations

import contextlib
import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from flows.settings import Settings
from handlers.db import UnitOfWork, make_engine

if TYPE_CHECKING:
    from flows.delivery import DeliveryReport


def make_private(home: Path, database_url: str | None = None) -> None:
    """From now on every file this process (and its children) writes is 0600, home 0700.

    What docintake writes holds personal data: personal codes and hashes in the database,
    review texts with IBANs in Prefect's, temporary passwords in outbox/*.eml. A umask of
    077 covers every writer at once (SQLite, the Prefect server child, the outbox), whatever
    umask the shell had; files made before, under a wider umask, are narrowed here.
    """
    os.umask(0o077)
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o700)
    if database_url and database_url.startswith("sqlite:///"):
        path = Path(database_url.removeprefix("sqlite:///"))
        for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            if file.exists():
                file.chmod(0o600)


# Settings read, by what they were read from: a run's tasks ask many times a second, and
# reading the environment and `.env` and narrowing the home each time took about a sixth of
# the engine's CPU (py-spy, bench/throughput.py).
_SETTINGS: dict[tuple[object, ...], Settings] = {}
_SETTINGS_KEPT = 8


def _settings_source() -> tuple[object, ...]:
    """What Settings() would read: our variables, and which `.env` as it is now."""
    ours = tuple(
        sorted((k, v) for k, v in os.environ.items() if k.upper().startswith("DOCINTAKE_"))
    )
    dotenv = Path(".env").absolute()
    try:
        stat = dotenv.stat()
    except OSError:
        return ours, str(dotenv), None
    return ours, str(dotenv), stat.st_mtime_ns, stat.st_size


def load_settings() -> Settings:
    """Settings from the environment and `.env`, with a private home created.

    Read again only when our variables or the `.env` file changed; callers must not modify
    the object they get.
    """
    source = _settings_source()
    settings = _SETTINGS.get(source)
    if settings is None:
        settings = Settings()
        make_private(settings.home, settings.resolved_database_url)
        if len(_SETTINGS) >= _SETTINGS_KEPT:
            _SETTINGS.clear()
        _SETTINGS[source] = settings
    return settings


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """One engine per database URL per process."""
    return make_engine(url)


def staff_key(settings: Settings) -> str:
    """The key that encrypts staff TOTP secrets: the setting, else a key file made under home.

    The file is created once (mode 0600) so the embedded default needs no set-up; several hosts
    must share DOCINTAKE_STAFF_TOTP_KEY instead.
    """
    if settings.staff_totp_key is not None:
        return settings.staff_totp_key.get_secret_value()
    path = settings.staff_key_file
    if not path.exists():
        from handlers.staff import new_key

        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(new_key())
        # A hard link appears whole or not at all: two first users never get two keys.
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)
        draft.unlink()
    return path.read_text().strip()


def uow_factory(settings: Settings) -> UnitOfWork:
    """A fresh unit of work on the configured accounts database."""
    return UnitOfWork(engine_for(settings.resolved_database_url))


async def deliver_due_mail(settings: Settings, application_id: int | None = None) -> DeliveryReport:
    """Send what the outbox holds that is due (new, or due for another try), as configured.

    `application_id`: only that application's mail (what a request run sends).
    """
    # Imported here: the delivery loop pulls in aiosmtplib and Jinja, which most commands skip.
    from flows.delivery import outbox_sender

    return await outbox_sender(settings, application_id)(lambda: uow_factory(settings))
