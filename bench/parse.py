"""Benchmark: parse generated filled forms, beside plain python-docx / striprtf text extraction.

Usage: .venv/bin/python bench/parse.py [--n 1000]

For each format, N filled forms (all seven types, varied values) are generated first, then
parsed one by one with forms.parse_document and, as the floor, read by plain python-docx
(`Document` + paragraph and cell text) or striprtf (`rtf_to_text`). Prints median and p99 per
form, the ratio to the floor, the peak traced memory of one parse, and how fast a 1 GB zip bomb
is refused. Goals (issue 2): median ≤ 10 ms DOCX, ≤ 5 ms RTF, within 2× of the floor.

The intake parses through intake.parsing's worker pool (issue 11), so each format is also
parsed through a started pool — the same forms, one at a time, pipes and JSON included — and
held to the same 2× of the floor. The pool's start-up (processes started, imports done) is paid
once per serving process, not per form, and is reported on its own line.
"""

from __future__ import annotations

import argparse
import gc
import io
import resource
import statistics
import struct
import sys
import time
import tracemalloc
import zlib
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Literal

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import docx
from striprtf.striprtf import rtf_to_text

from forms import parse_document, render_form
from forms.catalogue import FORM_CODES
from forms.samples import sample_values
from intake.parsing import ParsePool

TODAY = date(2026, 11, 25)


def floor_docx(data: bytes) -> None:
    document = docx.Document(io.BytesIO(data))
    texts = [p.text for p in document.paragraphs]
    texts += [c.text for t in document.tables for r in t.rows for c in r.cells]


def floor_rtf(data: bytes) -> None:
    rtf_to_text(data.decode("cp1257", errors="replace"), errors="replace")  # type: ignore[no-untyped-call]


def ours(data: bytes) -> None:
    result = parse_document("form", data, today=TODAY)
    assert result.errors == [], result.errors


def through(pool: ParsePool) -> Callable[[bytes], None]:
    """Parse in the pool's workers, as the intake does."""

    def parse(data: bytes) -> None:
        result = pool.parse("form", data, today=TODAY)
        assert result.errors == [], result.errors

    return parse


def pool_start(workers: int) -> float:
    """Milliseconds from creating a pool to all its workers ready."""
    started = time.perf_counter()
    pool = ParsePool(workers=workers)
    pool.wait_ready()
    spent = (time.perf_counter() - started) * 1000
    pool.close()
    return spent


def timings(
    functions: dict[str, Callable[[bytes], None]], documents: list[bytes]
) -> dict[str, list[float]]:
    """Milliseconds per document for each function, taking turns document by document.

    Turns, not one block per function: on a shared machine the load drifts over a run, and a
    block measured in a busy minute would be compared with one measured in a quiet one.
    """
    for data in documents[:20]:
        for function in functions.values():
            function(data)
    spent: dict[str, list[float]] = {label: [] for label in functions}
    gc.collect()
    for data in documents:
        for label, function in functions.items():
            start = time.perf_counter()
            function(data)
            spent[label].append((time.perf_counter() - start) * 1000)
    return spent


def peak_kib(function: Callable[[bytes], None], documents: list[bytes]) -> float:
    peak = 0
    for data in documents[:50]:
        tracemalloc.start()
        function(data)
        peak = max(peak, tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    return peak / 1024


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) >= 100 else max(values)


def bomb() -> bytes:
    chunk = bytes(2**20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    stream = (compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)) * 1024 + b"\x03\x00"
    name = b"word/document.xml"
    local = struct.pack(
        "<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0x21, 0, len(stream), 2**30, len(name), 0
    )
    central = struct.pack(
        "<4s6H3L5H2L",
        b"PK\x01\x02",
        20,
        20,
        0,
        8,
        0,
        0x21,
        0,
        len(stream),
        2**30,
        len(name),
        0,
        0,
        0,
        0,
        0,
        0,
    )
    end = struct.pack(
        "<4s4H2LH",
        b"PK\x05\x06",
        0,
        0,
        1,
        1,
        len(central) + len(name),
        len(local) + len(name) + len(stream),
        0,
    )
    return local + name + stream + central + name + end


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="forms per format (default 1000)")
    n = parser.parse_args().n
    print(f"forms.parse_document vs plain text extraction, {n} forms per format\n")
    header = f"{'format':<6} {'reader':<12} {'median ms':>10} {'p99 ms':>8} {'peak KiB':>9}"
    print(header)
    print("-" * len(header))
    goals = {"docx": 10.0, "rtf": 5.0}
    floors = {"docx": floor_docx, "rtf": floor_rtf}
    summary = []
    pool = ParsePool()
    pool.wait_ready()
    formats: tuple[Literal["docx", "rtf"], ...] = ("docx", "rtf")
    for fmt in formats:
        started = time.perf_counter()
        documents = [
            render_form(
                FORM_CODES[i % len(FORM_CODES)],
                fmt,
                sample_values(FORM_CODES[i % len(FORM_CODES)], variant=i),
            )
            for i in range(n)
        ]
        made = time.perf_counter() - started
        rows = {}
        readers = {"forms": ours, "forms pool": through(pool), "floor": floors[fmt]}
        spent = timings(readers, documents)
        for label, function in readers.items():
            # Memory traced in this process says nothing of a worker's: not shown for the pool.
            peak = 0.0 if label == "forms pool" else peak_kib(function, documents)
            rows[label] = (statistics.median(spent[label]), p99(spent[label]), peak)
            median, high, _ = rows[label]
            print(f"{fmt:<6} {label:<12} {median:>10.2f} {high:>8.2f} {peak:>9.0f}")
        for label in ("forms", "forms pool"):
            ratio = rows[label][0] / rows["floor"][0]
            verdict = "ok" if rows[label][0] <= goals[fmt] and ratio <= 2 else "MISSED"
            summary.append(
                f"{fmt} {label}: median {rows[label][0]:.2f} ms (goal ≤ {goals[fmt]:.0f}), "
                f"{ratio:.2f}× the floor (goal ≤ 2×) — {verdict}"
            )
        summary.append(f"{fmt}: {n} forms generated in {made:.1f} s")
    pool.close()
    print()
    print("\n".join(summary))
    starts = [pool_start(2) for _ in range(3)]
    print(
        f"worker pool start-up (2 workers, once per serving process): median"
        f" {statistics.median(starts):.0f} ms of {len(starts)}, not counted per form"
    )
    data = bomb()
    tracemalloc.start()
    start = time.perf_counter()
    result = parse_document("bomb.docx", data, today=TODAY)
    bomb_ms = (time.perf_counter() - start) * 1000
    peak = tracemalloc.get_traced_memory()[1] / 1024
    tracemalloc.stop()
    print(
        f"zip bomb ({len(data) / 2**20:.1f} MB → 1 GB): {result.errors[0].code}"
        f" in {bomb_ms:.1f} ms, peak {peak:.0f} KiB"
    )
    print(f"process max RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
