"""The counter's start-up loads only what its first frame needs (``tui_start_ms``).

Built as ``mykey-pos`` builds it (simulated reader, plain-http server), in a fresh interpreter: ticket
signatures (cryptography), the simulated cards' code, the screens opened later and the printer's
renderer are loaded when first used, not before the home screen.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]

#: Modules the first frame does without (each costs start-up time, loaded when first used).
LATER = (
    "cryptography",
    "pos.virtualcard.applet",
    "pos.screens.sale",
    "pos.screens.tender",
    "pos.screens.receipt",
    "pos.screens.history",
    "pos.screens.end_of_day",
    "printers.render",
    "escpos",
    # The library desk (its SIP2 codec too) loads only in library mode.
    "pos.library",
    "pos.screens.library",
    "pysip2",
    # httpx's command line (httpx._main) and what it pulls in: the counter never runs it (pos/_http.py).
    "click",
    "pygments",
    # Read installed distributions' metadata: python-ulid's version at its import, pydantic's
    # plugin loader (plugins are off). ULIDs are made from the first sale on (pos.counter.new_id).
    "importlib.metadata",
    "ulid",
)

BUILD = """
import json, sys
from pos.app import build, parse_args
app = build(parse_args(sys.argv[1:]))
json.dump(sorted(sys.modules), sys.stdout)
"""


def test_building_the_counter_loads_nothing_the_first_frame_does_without(tmp_path: pathlib.Path) -> None:
    args = [
        "--config", str(tmp_path / "none.toml"), "--server", "http://127.0.0.1:9", "--token", "t",
        "--printer", "none", "--reader", "sim", "--journal", str(tmp_path / "journal.db"),
    ]  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-c", BUILD, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        check=True,
    )
    loaded = set(json.loads(out.stdout))
    early = sorted(m for m in loaded if any(m == name or m.startswith(name + ".") for name in LATER))
    assert early == []


GC = """
import gc, json
import pos.app
json.dump([gc.isenabled(), gc.get_freeze_count()], __import__("sys").stdout)
"""


def test_the_app_is_imported_without_collector_passes_and_collects_after() -> None:
    # What the imports made is frozen out of the collector's scans (pos/_startup.py), and the
    # collector runs again once they are done, whether or not the app is then started.
    out = subprocess.run(
        [sys.executable, "-c", GC],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        check=True,
    )
    enabled, frozen = json.loads(out.stdout)
    assert enabled is True
    assert frozen > 20_000
