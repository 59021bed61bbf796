"""A real Prefect server and a real serving process for the flows tests (one per session).

`prefect server start` runs on a free port with a temporary PREFECT_HOME and analytics off; the
deployments are served by `python -m flows.serve` in a subprocess against it, exactly as
`docintake serve` runs them, so suspend/resume, persisted results and restarts are real.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

import pytest
from prefect.client.orchestration import PrefectClient
from prefect.settings import PREFECT_API_URL, temporary_settings
from sqlalchemy.engine import Engine

from flows.prefect_server import PrefectServer, free_port
from flows.serve import runner_environment
from flows.settings import Settings
from handlers import decisions
from handlers.db import UnitOfWork, create_all, make_engine
from handlers.models import Application, ApplicationStatus
from handlers.staff import new_key
from tests.support.staff import enrol_all

STAFF_EMAIL = "staff@test.example"
REQUEST_DEPLOYMENTS = (
    "user_change",
    "user_add",
    "user_block",
    "fee_increase",
    "requisites_change",
    "contract_suspend",
    "einvoice_access",
)


@dataclass
class PrefectEnv:
    """The session's Prefect server, serving process, home and accounts database."""

    home: Path
    database_url: str
    server: PrefectServer
    engine: Engine
    env: dict[str, str]
    serving: subprocess.Popen[bytes] | None = None
    serve_starts: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def result_storage(self) -> Path:
        """Where the serving process persists task and flow results."""
        return Path(self.env["PREFECT_RESULTS_LOCAL_STORAGE_PATH"])

    @property
    def api_url(self) -> str:
        """The server's API URL."""
        return self.server.api_url

    def uow(self) -> UnitOfWork:
        """A fresh unit of work on the session's accounts database."""
        return UnitOfWork(self.engine)

    def start_serving(self) -> None:
        """Start the serving process and wait until its deployments exist."""
        log = (self.home / f"serve-{self.serve_starts}.log").open("ab")
        self.serve_starts += 1
        self.serving = subprocess.Popen(
            [sys.executable, "-m", "flows.serve"],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + 90
        while not asyncio.run(self._deployments_ready()):
            if self.serving.poll() is not None:
                raise RuntimeError(f"serving process exited; see {self.home}/serve-*.log")
            if time.monotonic() > deadline:
                raise TimeoutError("deployments never appeared")
            time.sleep(0.5)

    def kill_serving(self) -> None:
        """Kill the serving process and its children without warning (a crash: SIGKILL)."""
        if self.serving is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.serving.pid, signal.SIGKILL)
            self.serving.wait()
            self.serving = None

    def force_state(self, flow_run_id: str, state: Any) -> None:
        """Set a run's state as Prefect's own machinery would (e.g. the runner's Crashed)."""

        async def put() -> None:
            async with PrefectClient(self.api_url) as client:
                result = await client.set_flow_run_state(UUID(flow_run_id), state, force=True)
            assert result.status.value == "ACCEPT", result

        asyncio.run(put())

    def set_holder(self, flow_run_id: str, identity: str) -> None:
        """Write the process that holds a run, as the engine does when it claims one."""

        async def put() -> None:
            async with PrefectClient(self.api_url) as client:
                await client.update_flow_run(UUID(flow_run_id), infrastructure_pid=identity)

        asyncio.run(put())

    async def _deployments_ready(self) -> bool:
        async with PrefectClient(self.api_url) as client:
            try:
                for name in (*REQUEST_DEPLOYMENTS, "daily", "reminders", "intake"):
                    await client.read_deployment_by_name(f"{name}/docintake")
            except Exception:
                return False
        return True

    def flow_run(self, flow_run_id: str) -> Any:
        """The flow run as the server has it now."""

        async def read() -> Any:
            async with PrefectClient(self.api_url) as client:
                return await client.read_flow_run(UUID(flow_run_id))

        return asyncio.run(read())

    def run_deployment(self, name: str, parameters: dict[str, Any], *, timeout: float = 120) -> Any:
        """Run a deployment through the server and wait for its final state; the flow run."""

        async def start() -> Any:
            async with PrefectClient(self.api_url) as client:
                deployment = await client.read_deployment_by_name(name)
                return await client.create_flow_run_from_deployment(
                    deployment.id, parameters=parameters
                )

        run = asyncio.run(start())
        self.wait_for(
            lambda: (state := self.flow_run(str(run.id)).state) is not None and state.is_final(),
            timeout=timeout,
            what=f"{name} to finish",
        )
        return self.flow_run(str(run.id))

    def events(self, name: str, resource_id: str) -> list[dict[str, Any]]:
        """Events of that name about that resource, as the server stored them."""
        import httpx

        body = {
            "filter": {"event": {"name": [name]}, "resource": {"id": [resource_id]}},
            "limit": 50,
        }
        response = httpx.post(f"{self.api_url}/events/filter", json=body, timeout=30)
        response.raise_for_status()
        events: list[dict[str, Any]] = response.json()["events"]
        return events

    def logs(self, flow_run_id: str) -> list[tuple[int, str]]:
        """The run's log lines in Prefect: (level, message)."""
        from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

        async def read() -> list[tuple[int, str]]:
            async with PrefectClient(self.api_url) as client:
                logs = await client.read_logs(
                    log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[UUID(flow_run_id)]))
                )
            return [(log.level, log.message) for log in logs]

        return asyncio.run(read())

    def send_heartbeat(self, flow_run_id: str) -> None:
        """Send the heartbeat event a running flow run's process sends."""
        import uuid
        from datetime import UTC, datetime

        import httpx

        event = {
            "id": str(uuid.uuid4()),
            "occurred": datetime.now(UTC).isoformat(),
            "event": "prefect.flow-run.heartbeat",
            "resource": {"prefect.resource.id": f"prefect.flow-run.{flow_run_id}"},
        }
        response = httpx.post(f"{self.api_url}/events", json=[event], timeout=30)
        response.raise_for_status()

    def state_history(self, flow_run_id: str) -> list[tuple[str, str]]:
        """Every state the run has been in, oldest first: (name, message)."""

        async def read() -> list[tuple[str, str]]:
            async with PrefectClient(self.api_url) as client:
                states = await client.read_flow_run_states(UUID(flow_run_id))
            return [(state.name or "", state.message or "") for state in states]

        return asyncio.run(read())

    def count_flow_runs(self, *, name_like: str) -> int:
        """How many flow runs the server has whose name contains name_like."""
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

        async def count() -> int:
            async with PrefectClient(self.api_url) as client:
                runs = await client.read_flow_runs(
                    flow_run_filter=FlowRunFilter(name=FlowRunFilterName(like_=name_like))
                )
            return len(runs)

        return asyncio.run(count())

    def application(self, application_id: int) -> Application:
        """The application row as it is now."""
        row = decisions.get_application(application_id, uow=self.uow())
        assert row is not None
        return row

    def wait_for(
        self, condition: Callable[[], Any], *, timeout: float = 90, what: str = "condition"
    ) -> Any:
        """Poll until condition() is truthy; its value. Fails the test with `what` on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {what}")
            time.sleep(0.3)

    def wait_for_status(
        self, application_id: int, *statuses: ApplicationStatus, timeout: float = 120
    ) -> Application:
        """Wait until the application reaches one of the statuses."""
        self.wait_for(
            lambda: self.application(application_id).status in statuses,
            timeout=timeout,
            what=f"application {application_id} to reach {[str(s) for s in statuses]}",
        )
        return self.application(application_id)

    def wait_for_suspended(self, application_id: int, *, timeout: float = 120) -> str:
        """Wait until the application's run is suspended for a decision; its flow run id."""

        def suspended() -> str | None:
            run_id = self.application(application_id).flow_run_id
            if run_id is None:
                return None
            state = self.flow_run(run_id).state
            return run_id if state is not None and state.name == "Suspended" else None

        value: str = self.wait_for(
            suspended, timeout=timeout, what=f"the run of application {application_id} to suspend"
        )
        return value

    def wait_for_resuspended(self, application_id: int, key_prefix: str) -> str:
        """Wait until the run is suspended again at a pause key starting with key_prefix."""

        def suspended_at() -> str | None:
            run_id = self.application(application_id).flow_run_id
            assert run_id is not None
            state = self.flow_run(run_id).state
            if state is None or state.name != "Suspended":
                return None
            key = state.state_details.pause_key or ""
            return run_id if key.startswith(key_prefix) else None

        value: str = self.wait_for(suspended_at, timeout=120, what=f"a suspend at {key_prefix}")
        return value


@pytest.fixture(scope="session", name="prefect_env")
def prefect_env_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectEnv]:
    """A real Prefect server, the deployments served against it, and an accounts database."""
    root = tmp_path_factory.mktemp("prefect-env")
    home = root / "var"
    home.mkdir()
    database_url = f"sqlite:///{home / 'docintake.db'}"
    engine = make_engine(database_url)
    create_all(engine)
    staff_key = new_key()
    enrol_all(UnitOfWork(engine), staff_key)
    server = PrefectServer(root / "prefect", free_port())
    server.start()
    settings = Settings(
        home=home,
        database_url=database_url,
        runner_poll_seconds=1,
        poll_seconds=1,
        staff_email=STAFF_EMAIL,
        runner_process_limit=4,
    )
    env = runner_environment(settings, server.api_url)
    env.update(
        PREFECT_HOME=str(root / "prefect"),
        PREFECT_RESULTS_LOCAL_STORAGE_PATH=str(root / "prefect" / "storage"),
        DOCINTAKE_HOME=str(home),
        DOCINTAKE_DATABASE_URL=database_url,
        DOCINTAKE_RUNNER_POLL_SECONDS="1",
        DOCINTAKE_POLL_SECONDS="1",
        DOCINTAKE_HOUSEKEEPING_SECONDS="2",
        # Heartbeats every 30 s (Prefect's least); a run silent 45 s while running is gone.
        DOCINTAKE_UNRESPONSIVE_SECONDS="45",
        DOCINTAKE_STAFF_EMAIL=STAFF_EMAIL,
        DOCINTAKE_STAFF_TOTP_KEY=staff_key,
        # The flows' mail is from the demo's and the tests' own hands, with no boundary to
        # vouch for it; sender verification has tests of its own (test_intake_trust*.py).
        DOCINTAKE_SENDER_VERIFICATION="off",
        PREFECT_LOGGING_LEVEL="INFO",
    )
    env.pop("DOCINTAKE_SMTP_HOST", None)
    prefect_env = PrefectEnv(
        home=home, database_url=database_url, server=server, engine=engine, env=env
    )
    with pytest.MonkeyPatch.context() as patch:
        for key in (
            "DOCINTAKE_HOME",
            "DOCINTAKE_DATABASE_URL",
            "DOCINTAKE_STAFF_EMAIL",
            "DOCINTAKE_STAFF_TOTP_KEY",
        ):
            patch.setenv(key, env[key])
        patch.setenv("PREFECT_API_URL", server.api_url)
        patch.delenv("DOCINTAKE_SMTP_HOST", raising=False)
        try:
            with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
                prefect_env.start_serving()
                yield prefect_env
        finally:
            prefect_env.kill_serving()
            server.stop()
            engine.dispose()


@dataclass(frozen=True)
class SeededContract:
    """A customer with one contract, its authorized person and users, as the books hold them."""

    reg_no: str
    contract_no: str
    contract_id: int
    customer_name: str
    person_name: str
    person_email: str
    usernames: tuple[str, ...]


def valid_reg_no(seed: int) -> str:
    """A Latvian legal-entity registration number with a correct check digit."""
    from stdnum.lv import pvn

    prefix = f"4{seed % 10**9:09d}"
    for last in range(10):
        if pvn.is_valid(prefix + str(last)):
            return prefix + str(last)
    return valid_reg_no(seed + 1)


class HasBooks(Protocol):
    """Anything that opens a unit of work on the accounts database (a PrefectEnv, a test's own)."""

    def uow(self) -> UnitOfWork:
        """A fresh unit of work."""
        ...


def seed_contract(env: HasBooks, *, users: int = 2, label: str | None = None) -> SeededContract:
    """Put a fresh customer, contract, authorized person and `users` active users in the books."""
    from datetime import date
    from decimal import Decimal
    from uuid import uuid4

    from handlers.models import AuthorizedPerson, Contract, Customer, CustomerDetails, User

    tag = label or uuid4().hex[:8]
    with env.uow() as uow:
        session = uow.session
        reg_no = valid_reg_no(int(uuid4().int % 10**9))
        customer = Customer(reg_no=reg_no)
        session.add(customer)
        session.flush()
        assert customer.id is not None
        name = f'SIA "Ozols {tag}"'
        session.add(
            CustomerDetails(
                customer_id=customer.id,
                valid_from=date(2020, 1, 1),
                name=name,
                address="Rīga, Brīvības iela 1",
                bank="Swedbank",
                swift="HABALV22",
                iban="LV80BANK0000435195001",
            )
        )
        contract = Contract(
            number=f"L-{tag}",
            customer_id=customer.id,
            base_fee=Decimal("100.00"),
            per_user_fee=Decimal("10.00"),
        )
        session.add(contract)
        session.flush()
        assert contract.id is not None
        person_email = f"valde.{tag}@ozols.lv"
        session.add(
            AuthorizedPerson(contract_id=contract.id, name="Jānis Bērziņš", email=person_email)
        )
        usernames = []
        for number in range(1, users + 1):
            username = f"u{tag}{number}"
            usernames.append(username)
            session.add(
                User(
                    contract_id=contract.id,
                    username=username,
                    first_name="Anna",
                    last_name=f"Kalniņa{number}",
                    email=f"{username}@ozols.lv",
                )
            )
        uow.commit()
        return SeededContract(
            reg_no=reg_no,
            contract_no=contract.number,
            contract_id=contract.id,
            customer_name=name,
            person_name="Jānis Bērziņš",
            person_email=person_email,
            usernames=tuple(usernames),
        )


def common_fields(books: SeededContract) -> dict[str, Any]:
    """The common block of a filled form for this contract, as the parser normalizes it."""
    return {
        "customer_name": books.customer_name,
        "reg_no": books.reg_no,
        "contract_no": books.contract_no,
        "submitter_name": books.person_name,
        "submitter_position": "Valdes loceklis",
        "submitter_email": books.person_email,
        "submitter_phone": "+37129123456",
        "signed_date": "2026-11-20",
    }


def add_application(
    env: HasBooks, books: SeededContract, form_type: str, fields: dict[str, Any]
) -> int:
    """Record a valid parsed application as intake would; the serve process then starts it."""
    from handlers.models import utcnow

    with env.uow() as uow:
        reference = f"LUR-2026-{uow.next_number('reference-2026'):06d}"
        row = Application(
            reference=reference,
            filename=f"{form_type}.docx",
            document_sha256="0" * 64,
            form_type=form_type,
            reg_no=books.reg_no,
            contract_no=books.contract_no,
            contract_id=books.contract_id,
            sender=books.person_email,
            fields={**common_fields(books), **fields},
            status=ApplicationStatus.received,
            created_at=utcnow(),
        )
        uow.session.add(row)
        uow.commit()
        assert row.id is not None
        return row.id
