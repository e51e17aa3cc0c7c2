"""``mykey-server copy``: a live SQLite database into an empty PostgreSQL one, equal balances, never twice.

The target gets the real PostgreSQL schema from the shared migrations (``dbcopy.prepare_target``),
so the copy lands in the tables the PostgreSQL server runs on.
"""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

import psycopg

from server import dbcopy
from tests.server.helpers import TENRI, sale
from tests.support.server import ROOT, RunningServer


def mykey_server(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args], capture_output=True, text=True, cwd=ROOT, check=False
    )


def post_sales(server: RunningServer, count: int, points: int = 100) -> None:
    """``count`` sales by Sato at the bakery, each paying ``points`` of 500 yen in points."""
    card = server.cards["sato"]["card_key"]
    with server.client("yamato-bakery-t1") as http:
        for _ in range(count):
            body = sale(card, total=500, points={TENRI: points} if points else None)
            answer = http.post("/v1/sales", json=body)
            assert answer.status_code == 200, answer.text


def test_copy_order_puts_every_table_after_the_tables_it_refers_to(live_server: RunningServer) -> None:
    conn = sqlite3.connect(live_server.db_path)
    order = dbcopy.copy_order(conn)
    for table in order:
        for parent in {row[2] for row in conn.execute(f'PRAGMA foreign_key_list("{table}")')} - {table}:
            assert order.index(parent) < order.index(table), (parent, table)
    assert order.index("accounts") < order.index("transfers") < order.index("lots")


def test_copy_of_a_live_database_has_the_same_balances_and_refuses_a_second_time(
    live_server: RunningServer, pg_database: str
) -> None:
    post_sales(live_server, 5)
    copied = mykey_server("copy", "--from", f"sqlite:///{live_server.db_path}", "--to", pg_database)
    assert copied.returncode == 0, copied.stderr
    assert "balances equal on both sides" in copied.stdout
    source = sqlite3.connect(live_server.db_path)
    with psycopg.connect(pg_database) as target:
        for table in dbcopy.copy_order(source):
            here = source.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
            assert target.execute(f'SELECT count(*) FROM "{table}"').fetchone() == (here,), table
        assert dbcopy.balances(target) == dbcopy.balances(source)
        assert sum(balance for _, balance, _ in dbcopy.balances(target)) == 0
    again = mykey_server("copy", "--from", str(live_server.db_path), "--to", pg_database)
    assert again.returncode == 1 and "not empty" in again.stderr


def test_copy_refuses_a_target_with_rows_and_leaves_it_untouched(
    live_server: RunningServer, pg_database: str
) -> None:
    with psycopg.connect(pg_database) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
        conn.execute("INSERT INTO notes VALUES ('another town')")
    refused = mykey_server("copy", "--from", str(live_server.db_path), "--to", pg_database)
    assert refused.returncode == 1 and "not empty" in refused.stderr
    with psycopg.connect(pg_database) as conn:
        assert conn.execute("SELECT to_regclass('accounts')").fetchone() == (None,)  # not migrated


def balances_up_to(conn: sqlite3.Connection | psycopg.Connection[Any], last_transfer: int) -> dict[int, int]:
    """Every account's balance from the transfers with id <= ``last_transfer`` (a moment of the ledger)."""
    found: dict[int, int] = {int(row[0]): 0 for row in conn.execute("SELECT id FROM accounts")}
    query = (
        f"SELECT debit_account_id, credit_account_id, amount FROM transfers WHERE id <= {int(last_transfer)}"
    )
    for debit, credit, amount in conn.execute(query):
        found[debit] -= amount
        found[credit] += amount
    return found


def test_copy_into_the_real_postgresql_schema_then_check_on_both_agrees(
    live_server: RunningServer, pg_database_from: Callable[[str], str]
) -> None:
    post_sales(live_server, 25)
    with contextlib.closing(sqlite3.connect(live_server.db_path)) as before:
        (transfers_before,) = before.execute("SELECT max(id) FROM transfers").fetchone()
    target = pg_database_from("template1")
    assert mykey_server("migrate", "--db", target).returncode == 0
    # Sales keep coming while the copy runs: it copies the one moment its snapshot saw.
    # They pay cash, so however long the copy takes Sato's balance never runs out.
    stop = threading.Event()
    traffic = threading.Thread(
        target=lambda: [post_sales(live_server, 1, points=0) for _ in iter(stop.is_set, True)]
    )
    traffic.start()
    try:
        copied = mykey_server("copy", "--from", str(live_server.db_path), "--to", target)
    finally:
        stop.set()
        traffic.join()
    assert copied.returncode == 0, copied.stderr
    on_sqlite = mykey_server("check", "--db", str(live_server.db_path))
    on_postgres = mykey_server("check", "--db", target)
    assert on_sqlite.returncode == on_postgres.returncode == 0, (on_sqlite.stdout, on_postgres.stdout)
    assert "ledger consistent" in on_postgres.stdout
    source = sqlite3.connect(live_server.db_path)
    with psycopg.connect(target) as pg:
        moment = int(pg.execute("SELECT max(id) FROM transfers").fetchone()[0])
        assert moment >= transfers_before  # at least every transfer made before the copy began
        assert balances_up_to(pg, moment) == balances_up_to(source, moment)
        stored = {account: balance for account, balance, _ in dbcopy.balances(pg)}
        assert stored == balances_up_to(source, moment)  # the copy's stored balances are that moment's
