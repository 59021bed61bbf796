"""The private Prefect hooks the in-process engine relies on, and its process bookkeeping.

flows/engine.py reaches into Prefect 3.9.1 where no public switch exists. These tests fail on
an upgrade that moves or renames what it uses, before any run misbehaves.
"""

from __future__ import annotations

import contextlib
import inspect
import ssl
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import prefect
from prefect import flow_engine
from prefect.client.orchestration import PrefectClient, SyncPrefectClient

from flows.engine import (
    _CONTROL,
    CANCEL,
    OBSERVER_HOOK,
    RESCHEDULE,
    TLS_HOOK,
    RunControl,
    holder_is_gone,
    install_hooks,
    per_run_intent,
    process_identity,
    process_start_ticks,
)

ROOT = Path(__file__).resolve().parents[2]


def test_prefect_is_pinned_to_the_installed_version() -> None:
    """Pyproject pins Prefect exactly, to the version whose private hooks were checked."""
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = [d for d in dependencies if d.startswith("prefect")]
    assert pins == [f"prefect=={prefect.__version__}"]


def test_the_engine_reads_the_termination_intent_through_the_module_hook() -> None:
    """Prefect's async engine looks up `_termination_intent` by name when a run is interrupted."""
    source = inspect.getsource(flow_engine.AsyncFlowRunEngine.initialize_run)
    assert "_termination_intent()" in source
    assert "handle_cancellation" in source
    assert callable(flow_engine._termination_intent)


def test_reschedule_is_an_intent_the_engine_leaves_to_its_supervisor() -> None:
    """With intent "reschedule" the engine proposes no state: the drain reschedules the run."""
    assert RESCHEDULE in flow_engine._SUPERVISOR_OWNED_INTENTS
    assert CANCEL not in flow_engine._SUPERVISOR_OWNED_INTENTS


def test_run_flow_takes_a_flow_run_and_returns_its_state() -> None:
    """`run_flow(flow, flow_run=…, return_type="state")` is the in-process entry point."""
    parameters = inspect.signature(flow_engine.run_flow).parameters
    assert {"flow", "flow_run", "return_type"} <= set(parameters)


def test_intent_is_per_run_once_the_hook_is_installed() -> None:
    """One run's cancel intent is not seen by code outside that run."""
    install_hooks()
    assert flow_engine._termination_intent is per_run_intent
    control = RunControl(flow_run_id=uuid4())
    token = _CONTROL.set(control)
    try:
        control.intent = CANCEL
        assert flow_engine._termination_intent() == CANCEL
    finally:
        _CONTROL.reset(token)
    assert flow_engine._termination_intent() is None


def test_the_suspension_observer_is_looked_up_by_name_and_skipped_for_our_runs() -> None:
    """Prefect starts its observer through the module name; runs on our threads get none."""
    source = inspect.getsource(flow_engine.BaseFlowRunEngine.setup_flow_run_suspension_request)
    assert f"{OBSERVER_HOOK}(" in source
    calls: list[object] = []

    @contextlib.contextmanager
    def observe(flow_run_id: object, request: object) -> Iterator[None]:
        calls.append(flow_run_id)
        yield

    original = getattr(flow_engine, OBSERVER_HOOK)
    setattr(flow_engine, OBSERVER_HOOK, observe)
    try:
        install_hooks()
        hook = getattr(flow_engine, OBSERVER_HOOK)
        token = _CONTROL.set(RunControl(flow_run_id=uuid4()))
        try:
            with hook("ours", None):
                pass
        finally:
            _CONTROL.reset(token)
        with hook("elsewhere", None):
            pass
    finally:
        setattr(flow_engine, OBSERVER_HOOK, original)
    assert calls == ["elsewhere"], "only a run the engine does not execute is observed"


def test_prefect_clients_share_one_tls_context_once_the_hook_is_installed() -> None:
    """Two API clients, sync and async, use one TLS context instead of loading CA certs twice."""
    assert f"{TLS_HOOK}.create_default_context(" in inspect.getsource(PrefectClient.__init__)
    install_hooks()
    first = PrefectClient("http://127.0.0.1:9/api")
    second = SyncPrefectClient("http://127.0.0.1:9/api")
    transports: list[Any] = [c._client._transport for c in (first, second)]
    contexts = [transport._pool._ssl_context for transport in transports]
    assert contexts[0] is contexts[1]
    assert isinstance(contexts[0], ssl.SSLContext)


def test_a_dead_holder_is_told_from_a_live_one() -> None:
    """A run's holder identity names a live process until that process exits."""
    assert holder_is_gone(process_identity()) is False
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    host, _pid, _start = process_identity().split(":")

    identity = f"{host}:{child.pid}:{process_start_ticks(child.pid)}"
    assert holder_is_gone(identity) is False
    assert holder_is_gone(f"{host}:{child.pid}:1") is True, "a reused pid is not the holder"
    child.kill()
    child.wait()
    assert holder_is_gone(identity) is True
    assert holder_is_gone("elsewhere:1:1") is None, "another host's process cannot be checked"
