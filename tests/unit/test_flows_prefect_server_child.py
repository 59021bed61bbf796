"""The embedded Prefect server's SQLite writes begin IMMEDIATE (flows/prefect_server_child.py)."""

from __future__ import annotations

import inspect

from prefect.server.database import configurations
from prefect.server.database.configurations import SQLITE_BEGIN_MODE, AioSqliteConfiguration
from sqlalchemy.ext.asyncio import AsyncSession

from flows.prefect_server_child import writes_wait_their_turn


async def _mode_inside(configuration: AioSqliteConfiguration, *, with_for_update: bool) -> str:
    session = AsyncSession()
    async with configuration.begin_transaction(session, with_for_update=with_for_update):
        mode = SQLITE_BEGIN_MODE.get()
    await session.close()
    return str(mode)


def test_prefect_chooses_the_begin_mode_in_the_hook_we_replace() -> None:
    """Prefect 3.9 sets the BEGIN mode from `with_for_update` in `begin_transaction`."""
    source = inspect.getsource(configurations)  # the file as shipped, whatever was patched since
    method = source[source.index("class AioSqliteConfiguration") :]
    method = method[method.index("async def begin_transaction") :]
    method = method[: method.index("async def session")]
    assert "with_for_update: bool = False" in method
    assert 'SQLITE_BEGIN_MODE.set("IMMEDIATE" if with_for_update else "DEFERRED")' in method


async def test_every_write_transaction_begins_immediate_once_installed() -> None:
    """A transaction Prefect would open DEFERRED takes the write lock first instead."""
    configuration = AioSqliteConfiguration("sqlite+aiosqlite:///:memory:")
    writes_wait_their_turn()
    writes_wait_their_turn()  # twice is harmless
    assert await _mode_inside(configuration, with_for_update=False) == "IMMEDIATE"
    assert await _mode_inside(configuration, with_for_update=True) == "IMMEDIATE"
