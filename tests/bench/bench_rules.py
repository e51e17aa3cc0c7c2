"""rules_awards_per_s: Tenri award computations per second on random receipts, one core."""

from __future__ import annotations

import random
import time

from _figures import record

from points.programs import PercentAward

TENRI = PercentAward(rate_permille=100, unit=100, minimum_receipt=1000, receipt_cap=50_000)


def main() -> None:
    rng = random.Random(20261127)
    receipts = [rng.randrange(0, 100_000) for _ in range(200_000)]
    start = time.perf_counter()
    total = sum(TENRI.points_for(r) for r in receipts)
    elapsed = time.perf_counter() - start
    assert total > 0
    record("rules_awards_per_s", round(len(receipts) / elapsed), "no target")


if __name__ == "__main__":
    main()
