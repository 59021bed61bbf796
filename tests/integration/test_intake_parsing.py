"""Documents are read in a pool of worker processes, each under a hard time budget."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import date

import pytest

from forms import parse_document, render_form
from forms.samples import sample_values
from intake import parsing
from intake.parsing import ParsePool

TODAY = date(2026, 11, 25)
# Plain text striprtf reads one character at a time: seconds of work, legitimately.
SLOW_RTF = b"{\\rtf1\\ansi " + b"Labdien, lai jauka diena! " * 150_000 + b"}"


@pytest.fixture
def pool() -> Iterator[ParsePool]:
    """A two-worker pool with a short budget, its workers started."""
    with ParsePool(budget_seconds=0.5, workers=2) as started:
        started.wait_ready()
        yield started


def alive(pid: int) -> bool:
    """True while a process with this id exists (and is not a zombie of ours)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("fmt", ["docx", "rtf"])
def test_pool_reads_a_form_exactly_as_in_process(pool: ParsePool, fmt: str) -> None:
    """A filled form read by a worker gives the same result as forms.parse_document."""
    data = render_form("user_add", fmt, sample_values("user_add"))  # type: ignore[arg-type]
    assert pool.parse(f"a.{fmt}", data, today=TODAY) == parse_document(
        f"a.{fmt}", data, today=TODAY
    )


def test_over_budget_is_unreadable_in_time_and_the_worker_replaced(pool: ParsePool) -> None:
    """A document still being read at the budget is answered 'unreadable'; its worker is killed."""
    assert parse_document("slow.rtf", SLOW_RTF, today=TODAY).errors[0].code == "unknown_form"
    before = set(pool.pids())
    started = time.monotonic()
    result = pool.parse("slow.rtf", SLOW_RTF, today=TODAY)
    waited = time.monotonic() - started
    (error,) = result.errors
    assert error.code == "unreadable"
    assert "atvēlētajā laikā" in error.message_lv
    assert "could not be read in the time allowed" in error.message_en
    # The caller is not held for the seconds the document would take (reading it takes > 3 s).
    assert waited < 3.0
    after = set(pool.pids())
    (killed,) = before - after
    assert not alive(killed)
    assert len(after) == 2
    data = render_form("einvoice_access", "docx", sample_values("einvoice_access"))
    assert pool.parse("next.docx", data, today=TODAY).errors == []


def test_a_dead_worker_is_replaced_before_use(pool: ParsePool) -> None:
    """A worker that died while idle (killed from outside) costs no document its reading."""
    for pid in pool.pids():
        os.kill(pid, 9)
        while alive(pid):
            time.sleep(0.01)
    data = render_form("fee_increase", "rtf", sample_values("fee_increase"))
    assert pool.parse("a.rtf", data, today=TODAY).errors == []


def test_close_ends_every_worker() -> None:
    """Closing the pool leaves no worker process behind, and a closed pool refuses work."""
    pool = ParsePool(budget_seconds=1.0, workers=2)
    pool.wait_ready()
    pids = pool.pids()
    pool.close()
    assert not any(alive(pid) for pid in pids)
    with pytest.raises(RuntimeError):
        pool.parse("a.rtf", b"{\\rtf1}", today=TODAY)


def test_module_pool_follows_configure_and_shuts_down() -> None:
    """The process's pool uses the configured budget and is replaced when it changes."""
    parsing.configure(budget_seconds=0.3, workers=1)
    try:
        result = parsing.parse_document("slow.rtf", SLOW_RTF, today=TODAY)
        assert result.errors[0].code == "unreadable"
        first = parsing._default_pool()
        pids = first.pids()
        parsing.configure(budget_seconds=5.0, workers=1)
        assert not any(alive(pid) for pid in pids)
        data = render_form("user_block", "docx", sample_values("user_block"))
        assert parsing.parse_document("a.docx", data, today=TODAY).errors == []
    finally:
        parsing.configure(
            budget_seconds=parsing.DEFAULT_BUDGET_SECONDS, workers=parsing.DEFAULT_WORKERS
        )
