"""How a benchmark script reports: print each figure, and append it for the runner to merge."""

from __future__ import annotations

import json
import os
import time


def record(name: str, value: int | float, note: str = "") -> None:
    """Print a figure and hand it to ``tests/bench/run.py`` (through ``$BENCH_RESULTS``)."""
    print(f"{name} = {value}{'  (' + note + ')' if note else ''}", flush=True)
    path = os.environ.get("BENCH_RESULTS")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps({name: value}) + "\n")


def host_loop_ms() -> float:
    """The best of five timings of one fixed pure-Python loop, in ms: how fast the host's cores ran.

    The same code's figures moved by up to 2x within an hour on this kind of shared machine; this
    number, taken in the same run, says whether a change in a figure is the code's or the host's.
    """
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        total = 0
        for i in range(1_000_000):
            total += i
        best = min(best, time.perf_counter() - started)
    return best * 1000
