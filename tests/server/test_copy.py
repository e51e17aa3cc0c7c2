"""``mykey-server copy``: a live SQLite database into an empty PostgreSQL one, equal balances, never twice.

Until the server's PostgreSQL storage (its migrations) lands, the target's tables come from a
**stand-in**: the SQLite schema's own ``CREATE TABLE`` statements replayed on PostgreSQL (they
parse there). That proves the copy's mechanics on a real PostgreSQL (order, ``COPY``, sequences,
the comparison, the refusals); the end-to-end test on the real PostgreSQL schema is the skipped
one at the bottom, for the lead to enable when that storage lands.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Callable

import psycopg
import pytest

from server import dbcopy
from tests.server.helpers import TENRI, sale
from tests.support.server import ROOT, RunningServer


def mykey_server(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args], capture_output=True, text=True, cwd=ROOT, check=False
    )


def standin_schema(sqlite_path: str, pg_url: str) -> None:
    """STAND-IN for the PostgreSQL migrations: the SQLite tables' DDL, replayed in copy order."""
    source = sqlite3.connect(sqlite_path)
    ddl = dict(source.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall())
    order = dbcopy.copy_order(source)
    source.close()
    with psycopg.connect(pg_url) as conn:
        for table in order:
            conn.execute(ddl[table])


def post_sales(server: RunningServer, count: int) -> None:
    card = server.cards["sato"]["card_key"]
    with server.client("yamato-bakery-t1") as http:
        for _ in range(count):
            assert http.post("/v1/sales", json=sale(card, total=500, points={TENRI: 100})).status_code == 200


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
    standin_schema(str(live_server.db_path), pg_database)
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


def test_copy_refuses_a_target_without_the_schema(live_server: RunningServer, pg_database: str) -> None:
    refused = mykey_server("copy", "--from", str(live_server.db_path), "--to", pg_database)
    assert refused.returncode == 1 and "mykey-server migrate" in refused.stderr


@pytest.mark.skip(reason="enable when the PostgreSQL storage lands: its migrations replace the stand-in")
def test_copy_into_the_real_postgresql_schema_then_check_on_both_agrees(
    live_server: RunningServer, pg_database_from: Callable[[str], str]
) -> None:
    post_sales(live_server, 5)
    target = pg_database_from("template1")
    assert mykey_server("migrate", "--db", target).returncode == 0
    copied = mykey_server("copy", "--from", str(live_server.db_path), "--to", target)
    assert copied.returncode == 0, copied.stderr
    on_sqlite = mykey_server("check", "--db", str(live_server.db_path))
    on_postgres = mykey_server("check", "--db", target)
    assert on_sqlite.returncode == on_postgres.returncode == 0
    assert on_sqlite.stdout.splitlines()[-1] == on_postgres.stdout.splitlines()[-1]
