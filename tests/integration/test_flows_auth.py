"""The production Prefect server behind basic auth (docs/operations.md, step 1)."""

from __future__ import annotations

import base64
import os
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from flows.prefect_server import PrefectServer, free_port, is_healthy, prefect_executable

pytestmark = pytest.mark.slow

LOGIN = "staff:s3cret-login"


def _flows_request(api_url: str, login: str | None) -> urllib.request.Request:
    request = urllib.request.Request(  # noqa: S310 - a loopback URL of our own server
        f"{api_url}/flows/filter",
        data=b"{}",
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    if login is not None:
        token = base64.b64encode(login.encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    return request


def _prefect_cli(api_url: str, login: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_API_URL"] = api_url
    if login is not None:
        env["PREFECT_API_AUTH_STRING"] = login
    return subprocess.run(
        [prefect_executable(), "flow", "ls"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_basic_auth_refuses_strangers_and_lets_workers_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a login set, the API refuses anyone without it; Prefect clients with it get in."""
    monkeypatch.setenv("PREFECT_SERVER_API_AUTH_STRING", LOGIN)
    with PrefectServer(tmp_path / "prefect", free_port()) as server:
        assert is_healthy(server.api_url)  # load balancers still see it
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(_flows_request(server.api_url, None), timeout=30)  # noqa: S310
        assert refused.value.code == 401
        with pytest.raises(urllib.error.HTTPError) as wrong:
            urllib.request.urlopen(  # noqa: S310
                _flows_request(server.api_url, "staff:guess"), timeout=30
            )
        assert wrong.value.code == 401
        with urllib.request.urlopen(  # noqa: S310
            _flows_request(server.api_url, LOGIN), timeout=30
        ) as allowed:
            assert allowed.status == 200
        assert _prefect_cli(server.api_url, LOGIN).returncode == 0
        assert _prefect_cli(server.api_url, None).returncode != 0
