"""``make demo``: the whole system on one machine (grows with the server and counter-app issues)."""

from __future__ import annotations

import datetime as dt

from points.money import format_points, format_yen
from points.programs import PercentAward


def main() -> None:
    """Show the Tenri rule on a few receipts until the server and the counter app exist."""
    rule = PercentAward(rate_permille=100, unit=100, minimum_receipt=1000, receipt_cap=50_000)
    print(f"mykey-pos demo — {dt.date.today():%Y-%m-%d}")
    for receipt in (999, 1_099, 12_345, 80_000):
        print(f"  receipt {format_yen(receipt):>8} → tickets {format_points(rule.points_for(receipt))}")


if __name__ == "__main__":
    main()
