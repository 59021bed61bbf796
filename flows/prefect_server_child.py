"""The local Prefect server's process: Prefect's own `prefect server start`, with one change.

`python -m flows.prefect_server_child server start [options]` is what `PrefectServer` runs.

On SQLite (the embedded default) Prefect opens its write transactions DEFERRED: a transaction
that reads first and writes later fails at once with "database is locked" whenever another
writer committed in between — SQLite's busy timeout cannot wait such a transaction out — and
the API answers 503. Creating a run from a deployment and resuming a run are such
transactions; while the engine's runs write their states they lost 57 of 60 times in one
bench, and Prefect's client waits 2, 4, 8 s before each retry: 60 e-mails took 135 s to reach
staff. Here every write transaction begins IMMEDIATE, taking SQLite's one write lock before its
first read, so it waits its turn (the busy timeout) instead of failing. Reads outside a
transaction are untouched; PostgreSQL is untouched.

The hook is private (`AioSqliteConfiguration.begin_transaction`, Prefect 3.9.1, pinned);
tests/unit/test_flows_prefect_server_child.py fails when an upgrade moves it.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any


def writes_wait_their_turn() -> None:
    """Make every SQLite write transaction of this process's Prefect server BEGIN IMMEDIATE."""
    from prefect.server.database.configurations import AioSqliteConfiguration

    if getattr(AioSqliteConfiguration.begin_transaction, "docintake_immediate", False):
        return
    deferred_or_immediate = AioSqliteConfiguration.begin_transaction

    @asynccontextmanager
    async def begin_transaction(
        self: AioSqliteConfiguration, session: Any, with_for_update: bool = False
    ) -> AsyncIterator[Any]:
        async with deferred_or_immediate(self, session, with_for_update=True) as transaction:
            yield transaction

    begin_transaction.docintake_immediate = True  # type: ignore[attr-defined]
    AioSqliteConfiguration.begin_transaction = begin_transaction  # type: ignore[method-assign]


def main() -> None:
    """Run Prefect's CLI (`server start …`) with the change above."""
    writes_wait_their_turn()
    from prefect.cli import app

    sys.argv = ["prefect", *sys.argv[1:]]
    app()


if __name__ == "__main__":
    main()
