"""Benchmark: the portal's requests per second, sign-in (argon2-bound) and the account page.

A real uvicorn serves the portal from a child process on a loopback port over a SQLite database;
an httpx async load generator in this process sends a bounded number of requests (or stops at a
time limit) with a few concurrent clients. Floors measured in the same run: one argon2
verification at production cost (sign-in), and a bare `views_portal.account_view` call (the
account page); the ratios say what the web layer (HTTP, session, CSRF, template) adds.

    .venv/bin/python bench/portal.py [--signins 40] [--pages 400] [--clients 4] [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from handlers import views_portal
from handlers.credentials import hash_password, verify_password
from handlers.db import UnitOfWork, create_all, make_engine
from notifications.smtp import transport_from
from portal.config import PortalConfig
from portal.server import run
from tests.support.portal import PortalBooks, seed_portal_books
from tests.support.smtp_sink import free_port

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def serve_child(database_url: str, home: str, port: int) -> None:
    """The child process: the portal alone, as `docintake portal` runs it."""
    config = PortalConfig(
        database_url=database_url,
        home=Path(home),
        transport_factory=lambda: transport_from(outbox_dir=Path(home) / "outbox"),
        port=port,
        secure_cookies=False,
    )
    run(config)


def wait_until_up(base: str, child: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError("the portal child exited")
        try:
            if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise TimeoutError("portal did not start")


async def signed_in_client(base: str, books: PortalBooks) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base, timeout=60)
    page = await client.get("/login")
    token = CSRF.search(page.text)
    assert token is not None
    response = await client.post(
        "/login",
        data={"identifier": books.username, "password": books.password, "csrf": token.group(1)},
    )
    assert response.status_code == 303, response.status_code
    return client


async def load(
    label: str,
    count: int,
    clients: list[httpx.AsyncClient],
    one: Callable[[httpx.AsyncClient], Awaitable[None]],
    seconds: float,
) -> tuple[float, list[float]]:
    """Send `count` requests over the clients (stopping at `seconds`); requests/s and latencies."""
    latencies: list[float] = []
    remaining = count
    deadline = time.perf_counter() + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal remaining
        while remaining > 0 and time.perf_counter() < deadline:
            remaining -= 1
            started = time.perf_counter()
            await one(client)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in clients))
    elapsed = time.perf_counter() - started
    per_second = len(latencies) / elapsed
    print(
        f"{label:<38} {len(latencies):>5} in {elapsed:6.2f} s = {per_second:7.1f} req/s"
        f"  (median {statistics.median(latencies) * 1000:6.1f} ms)"
    )
    return per_second, latencies


async def bench(base: str, books: PortalBooks, args: argparse.Namespace) -> dict[str, float]:
    results: dict[str, float] = {}
    # Sign-in: every request verifies the password with argon2 at production cost.
    signin_clients = [httpx.AsyncClient(base_url=base, timeout=60) for _ in range(args.clients)]
    tokens = {}
    for client in signin_clients:
        page = await client.get("/login")
        found = CSRF.search(page.text)
        assert found is not None
        tokens[id(client)] = found.group(1)

    async def sign_in(client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/login",
            data={
                "identifier": books.username,
                "password": books.password,
                "csrf": tokens[id(client)],
            },
        )
        assert response.status_code == 303, response.status_code
        # Forget the session, so the next sign-in is a fresh one with the browser's CSRF cookie.
        client.cookies.delete("docintake_session")

    rate, latencies = await load(
        f"sign-in ({args.clients} clients)", args.signins, signin_clients, sign_in, args.seconds
    )
    results["signin_rps"] = rate
    results["signin_median"] = statistics.median(latencies)
    for client in signin_clients:
        await client.aclose()

    page_clients = [await signed_in_client(base, books) for _ in range(args.clients)]

    async def account(client: httpx.AsyncClient) -> None:
        response = await client.get("/account")
        assert response.status_code == 200
        assert "balance" in response.text

    await load("account page warm-up", 20, page_clients[:1], account, args.seconds)
    _rate, sequential = await load(
        "account page (1 client)", args.pages // 4, page_clients[:1], account, args.seconds
    )
    results["page_median_1"] = statistics.median(sequential)
    rate, _latencies = await load(
        f"account page ({args.clients} clients)", args.pages, page_clients, account, args.seconds
    )
    results["page_rps"] = rate
    for client in page_clients:
        await client.aclose()
    return results


def floors(url: str, books: PortalBooks, n: int) -> dict[str, float]:
    engine = make_engine(url)
    stored = hash_password(books.password)
    started = time.perf_counter()
    for _ in range(10):
        assert verify_password(stored, books.password)
    verify = (time.perf_counter() - started) / 10
    timings = []
    for _ in range(n):
        started = time.perf_counter()
        view = views_portal.account_view(books.username, uow=UnitOfWork(engine), today=date.today())
        timings.append(time.perf_counter() - started)
        assert view is not None
    engine.dispose()
    handler = statistics.median(timings)
    print(f"{'floor: argon2 verify (production cost)':<38} {verify * 1000:8.1f} ms")
    print(f"{'floor: bare account_view handler call':<38} {handler * 1000:8.2f} ms")
    return {"verify": verify, "handler": handler}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signins", type=int, default=40)
    parser.add_argument("--pages", type=int, default=400)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=60.0, help="time limit per phase")
    parser.add_argument("--serve", nargs=3, metavar=("URL", "HOME", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_child(args.serve[0], args.serve[1], int(args.serve[2]))
        return
    with tempfile.TemporaryDirectory() as home:
        url = f"sqlite:///{home}/bench.db"
        engine = make_engine(url)
        create_all(engine)
        books = seed_portal_books(UnitOfWork(engine), tag="bench")
        engine.dispose()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        child = subprocess.Popen(  # noqa: S603 (this very script, our own arguments)
            [sys.executable, __file__, "--serve", url, home, str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_until_up(base, child)
            floor = floors(url, books, 200)
            measured = asyncio.run(bench(base, books, args))
        finally:
            child.terminate()
            child.wait(timeout=30)
    signin_ratio = measured["signin_median"] / floor["verify"]
    page_ratio = measured["page_median_1"] / floor["handler"]
    print(f"sign-in median / argon2 verify        = {signin_ratio:.2f}")
    print(f"account page median / bare handler    = {page_ratio:.2f}")


if __name__ == "__main__":
    main()
