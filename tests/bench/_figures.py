"""How a benchmark script reports: print each figure, and append it for the runner to merge."""

from __future__ import annotations

import json
import os


def record(name: str, value: int | float, note: str = "") -> None:
    """Print a figure and hand it to ``tests/bench/run.py`` (through ``$BENCH_RESULTS``)."""
    print(f"{name} = {value}{'  (' + note + ')' if note else ''}", flush=True)
    path = os.environ.get("BENCH_RESULTS")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps({name: value}) + "\n")
