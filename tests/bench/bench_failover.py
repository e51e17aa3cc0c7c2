"""failover_lost_sales and failover_pause_s, beside the baseline failover_promote_s of the same run.

The scenario of ``tests/e2e/test_pg_failover.py``, run by the same code (``tests/e2e/failover.py``):
a PostgreSQL primary and a synchronous standby on loopback (``tests/support/postgres.py``), two
``mykey-server serve`` processes on a multi-host URL with ``target_session_attrs=read-write``, six
terminals posting sales through both (retried by id until answered), the primary's postmaster
SIGKILLed mid-load, the standby promoted, the load carried on. ``failover_lost_sales`` counts the
accepted sales the new primary lacks (target 0); ``failover_pause_s`` is the time from the SIGKILL
to the first sale accepted after the promotion; its floor, ``failover_promote_s``, is ``pg_ctl
promote -w`` alone in the same run. The counts (accepted, before the kill) are figures too. The
script fails when a sale is lost or stored twice, a sale is pending, a card's balance is off or
``check`` fails, as the test does.
"""

from __future__ import annotations

import base64
import os
import pathlib
import secrets
import sys
import tempfile

from _figures import record

from tests.e2e.failover import run_failover


def main() -> None:
    os.environ.setdefault("MYKEY_KEY", base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
    with tempfile.TemporaryDirectory(prefix="mykey-bench-failover-") as tmp:
        result = run_failover(pathlib.Path(tmp))
    print(result.summary(), flush=True)
    accepted, before = len(result.accepted), result.before_kill
    counts = (
        f"{accepted} accepted ({before} before the kill, {accepted - before} after), 2 server processes,"
        f" {result.terminals} terminals"
    )
    record(
        "failover_lost_sales", len(result.lost), f"target 0; of {counts}; stored twice {len(result.twice)}"
    )
    record(
        "failover_pause_s",
        round(result.pause_s, 3),
        f"SIGKILL of the primary to the first sale accepted after the promotion; baseline"
        f" failover_promote_s {result.promote_s:.3f} s, same run; retries {result.retries}; {counts}",
    )
    record("failover_promote_s", round(result.promote_s, 3), "pg_ctl promote -w alone, same run")
    record("failover_accepted_sales", accepted, f"{result.terminals} terminals through 2 server processes")
    record("failover_sales_before_kill", before, "accepted before the SIGKILL of the primary")
    failures = [
        *(f"refused: {answer}" for answer in result.refused),
        *([f"{len(result.lost)} accepted sales lost"] if result.lost else []),
        *([f"{len(result.twice)} sales stored twice"] if result.twice else []),
        *([f"{len(result.unexplained)} sales pending or unasked"] if result.unexplained else []),
        *([f"balances {result.balances} != {result.expected}"] if result.balances != result.expected else []),
        *([f"check failed: {result.check_output[-1000:]}"] if result.check_returncode else []),
    ]
    if failures:
        sys.exit("failover failed: " + "; ".join(failures))


if __name__ == "__main__":
    main()
