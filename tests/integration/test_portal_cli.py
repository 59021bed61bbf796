"""`docintake demo seed --json`: demo logins that really sign in to the portal."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from flows.cli import app
from handlers.db import UnitOfWork, make_engine
from handlers.portal_people import authenticate

cli = CliRunner()


def test_demo_seed_json_prints_portal_logins_that_sign_in(docintake_home: Path) -> None:
    """The JSON names a user, an accountant and an authorized person whose passwords work."""
    result = cli.invoke(app, ["demo", "seed", "--json"])
    assert result.exit_code == 0, result.output
    users = json.loads(result.stdout)["portal_users"]
    assert {u["role"] for u in users} == {"user", "accountant", "authorized_person"}
    engine = make_engine(f"sqlite:///{(docintake_home / 'docintake.db').resolve()}")
    try:
        for user in users:
            [principal] = authenticate(user["username"], user["password"], uow=UnitOfWork(engine))
            assert principal.role == user["role"]
            assert (
                authenticate(user["username"], "wrong" + user["password"], uow=UnitOfWork(engine))
                == []
            )
    finally:
        engine.dispose()
