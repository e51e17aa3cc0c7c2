"""Run every ``tests/bench/bench_*.py`` and merge their figures into ``bench-results.json``.

Figures from earlier runs that this run did not measure are kept, so one script can be rerun
alone (``python tests/bench/run.py bench_rules``).
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RESULTS = ROOT / "bench-results.json"


def main(names: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if names:
        scripts = [s for s in scripts if s.stem in names]
    figures: dict[str, object] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    failed = []
    with tempfile.TemporaryDirectory() as tmp:
        sink = pathlib.Path(tmp) / "figures.jsonl"
        for script in scripts:
            print(f"== {script.name}", flush=True)
            env = {**os.environ, "BENCH_RESULTS": str(sink), "PYTHONPATH": str(ROOT)}
            if subprocess.run([sys.executable, str(script)], env=env, cwd=ROOT).returncode:
                failed.append(script.name)
        if sink.exists():
            for line in sink.read_text().splitlines():
                figures.update(json.loads(line))
    RESULTS.write_text(json.dumps(dict(sorted(figures.items())), indent=2) + "\n")
    print(f"wrote {RESULTS.name}: {len(figures)} figures")
    if failed:
        print("failed:", ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
