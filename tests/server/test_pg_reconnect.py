"""A PostgreSQL session that dies (a failover) is replaced; a transaction it held is lost, never half-kept."""

from __future__ import annotations

import psycopg
import pytest

from server import db
from server.pg import ConnectionLost, PgConnection


def terminate(url: str, conn: PgConnection) -> None:
    """End ``conn``'s backend from another session, as a dying primary would."""
    pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


def test_a_statement_on_its_own_reconnects_and_keeps_the_session_settings(pg_database: str) -> None:
    conn = db.connect(pg_database, readonly=True)
    terminate(pg_database, conn)
    assert conn.execute("SELECT 1").fetchone()[0] == 1
    assert conn.execute("SHOW default_transaction_read_only").fetchone()[0] == "on"


def test_a_transaction_whose_session_died_is_lost_whole_and_the_next_one_runs(pg_database: str) -> None:
    conn = db.connect(pg_database)
    conn.execute("CREATE TABLE sales (id TEXT PRIMARY KEY)")
    with pytest.raises(ConnectionLost), db.atomic(conn):
        conn.execute("INSERT INTO sales VALUES ('a')")
        terminate(pg_database, conn)
        conn.execute("INSERT INTO sales VALUES ('b')")
    assert not conn.in_transaction
    with db.atomic(conn):
        conn.execute("INSERT INTO sales VALUES ('c')")
    assert [row[0] for row in conn.execute("SELECT id FROM sales ORDER BY id")] == ["c"]
