"""The short soak (the long one is ``make soak``): nothing lost, nothing doubled, through faults."""

from __future__ import annotations

import os
import pathlib

from tests.e2e.soak import run_soak
from tests.support import postgres

SECONDS = float(os.environ.get("MYKEY_SOAK_SECONDS", "30"))
SEED = int(os.environ.get("MYKEY_SOAK_SEED", "20261127"))
# A floor of work: a slow machine soaks longer rather than proving less.
MIN_SALES = 60


def test_short_soak_keeps_every_promise(tmp_path: pathlib.Path) -> None:
    report = run_soak(tmp_path, SECONDS, SEED, terminals=4, min_sales=MIN_SALES)
    assert not report.failures, f"seed {SEED}: " + "\n".join(report.failures[:20])
    # The run must have exercised what it claims to, or its green means nothing.
    assert report.sales_accepted >= MIN_SALES
    assert report.sales_refused >= 1
    assert sum(report.faults.values()) >= 5
    assert len(report.checks) >= 10
    # The city desk renewed, blocked, replaced and merged cards the shops were using meanwhile.
    assert all(report.desk[act] >= 1 for act in ("renew", "block", "replace", "merge")), report.desk


def test_short_soak_on_postgresql_keeps_every_promise(tmp_path: pathlib.Path) -> None:
    try:
        postgres.bin_dir()
    except postgres.PostgresUnavailable as absent:
        postgres.missing(str(absent))
    # A throwaway cluster of the soak's own, so that it may SIGKILL the database server as a fault.
    report = run_soak(tmp_path, SECONDS, SEED, terminals=4, min_sales=MIN_SALES, database="postgresql")
    assert not report.failures, f"seed {SEED}: " + "\n".join(report.failures[:20])
    assert report.sales_accepted >= MIN_SALES
    assert report.faults["kill_database"] >= 1
    assert sum(report.faults.values()) >= 5
    assert len(report.checks) >= 10
    assert all(report.desk[act] >= 1 for act in ("renew", "block", "merge")), report.desk
