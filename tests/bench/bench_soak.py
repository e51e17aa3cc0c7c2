"""soak_sales_per_s: accepted sales per second sustained through the soak's faults.

Four terminal processes, a real server killed now and then, answers lost, links cut; the
figure counts only sales the terminals hold as accepted and the server holds exactly once.
The baseline in the same run is the same soak with no faults injected.
"""

from __future__ import annotations

import pathlib
import tempfile

from _figures import record

from tests.e2e import soak

SECONDS = 60.0


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="mykey-bench-soak-") as tmp:
        report = soak.run_soak(pathlib.Path(tmp), SECONDS, seed=4242, terminals=4)
    if report.failures:
        raise SystemExit("soak failed: " + "; ".join(report.failures[:5]))
    faults = ", ".join(f"{k} {v}" for k, v in sorted(report.faults.items()))
    record("soak_sales_per_s", round(report.sales_per_s, 1), f"{report.sales_accepted} sales; {faults}")
    with tempfile.TemporaryDirectory(prefix="mykey-bench-soak-") as tmp:
        calm = soak.run_soak(pathlib.Path(tmp), SECONDS / 2, seed=4242, terminals=4, faults=False)
    record("soak_calm_sales_per_s", round(calm.sales_per_s, 1), "baseline: the same soak, no faults")


if __name__ == "__main__":
    main()
