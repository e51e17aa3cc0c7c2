"""The ledger: double entry, floor-zero accounts, lots spent earliest first, reversals, expiry, check."""

from __future__ import annotations

import datetime as dt
import pathlib
import sqlite3
from collections.abc import Iterator

import pytest

from server import db, ledger, schema
from tests.support.pgdb import Cluster

NOW = dt.datetime(2026, 11, 27, 3, 0, tzinfo=dt.UTC)
TODAY = ledger.business_date(NOW)


@pytest.fixture(scope="module")
def pg_schema(pg_cluster: Cluster) -> str:
    """The name of a PostgreSQL database holding the migrated, empty schema (each test clones it)."""
    url = pg_cluster.create()
    connection = db.connect(url)
    schema.create(connection)
    connection.close()
    return pg_cluster.name_of(url)


@pytest.fixture
def conn(database: str, tmp_path: pathlib.Path, request: pytest.FixtureRequest) -> Iterator[db.Connection]:
    """An empty ledger (one city, one program, two sales registered) on each database."""
    if database == "sqlite":
        connection = db.connect(tmp_path / "ledger.db")
        schema.create(connection)
    else:
        cluster: Cluster = request.getfixturevalue("pg_cluster")
        url = cluster.create(template=request.getfixturevalue("pg_schema"))
        connection = db.connect(url)
    with db.atomic(connection):
        connection.execute("INSERT INTO cities(id, name, created_at) VALUES ('tenri', 'Tenri', 'x')")
        connection.execute(
            "INSERT INTO programs(id, city_id, funding_kind, funding_id, tender_kind, payout,"
            " fee_share_permille, definition, created_at, updated_at)"
            " VALUES ('p', 'tenri', 'city', 'tenri', 'payment', 'city_direct', 0, '{}', 'x', 'x')"
        )
        for sale_id in ("S1", "S2"):  # the sales the tests' transfers are part of
            ledger.register_operation(connection, "sale", sale_id, "shop", NOW)
    yield connection
    connection.close()
    if database == "postgresql":
        cluster.drop(url)


def accounts(conn: sqlite3.Connection) -> tuple[int, int, int]:
    return (
        ledger.account(conn, "funding", "city:tenri", "p"),
        ledger.account(conn, "resident", "uid:aa", "p"),
        ledger.account(conn, "merchant", "shop", "p"),
    )


def grant(
    conn: sqlite3.Connection, funding: int, resident: int, amount: int, expires_on: dt.date = TODAY
) -> int:
    """``amount`` points of program ``p`` granted from ``funding``, in a lot expiring on ``expires_on``."""
    return ledger.earn(
        conn, kind="grant", program_id="p", debit=funding, resident=resident, amount=amount,
        expires_on=expires_on, now=NOW,
    )  # fmt: skip


def redeem(conn: sqlite3.Connection, resident: int, merchant: int, amount: int, **sale: str) -> int:
    """``amount`` of the resident's points of ``p`` paid to ``merchant`` (``sale_id``, ``merchant_id``)."""
    return ledger.spend(
        conn, kind="redeem_points", program_id="p", resident=resident, credit=merchant, amount=amount,
        now=NOW, **sale,
    )  # fmt: skip


# SQLite's pragmas only: a PostgreSQL session's settings are the server's.
@pytest.mark.parametrize("database", ["sqlite"])
def test_connections_use_the_ledger_pragmas(conn: sqlite3.Connection) -> None:
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == db.BUSY_TIMEOUT_MS


def test_atomic_rolls_back_everything_on_error(conn: sqlite3.Connection) -> None:
    with pytest.raises(RuntimeError), db.atomic(conn):
        conn.execute("INSERT INTO cities(id, name, created_at) VALUES ('tsu', 'Tsu', 'x')")
        raise RuntimeError("boom")
    assert conn.execute("SELECT COUNT(*) FROM cities WHERE id = 'tsu'").fetchone()[0] == 0


def test_transfers_keep_the_ledger_summing_to_zero(conn: sqlite3.Connection) -> None:
    with db.atomic(conn):
        funding, resident, merchant = accounts(conn)
        grant(conn, funding, resident, 500, expires_on=TODAY + dt.timedelta(days=30))
        redeem(conn, resident, merchant, 200, sale_id="S1", merchant_id="shop")
    assert (
        ledger.balance(conn, funding),
        ledger.balance(conn, resident),
        ledger.balance(conn, merchant),
    ) == (-500, 300, 200)
    assert ledger.check(conn) == []


def test_a_resident_never_goes_below_zero(conn: sqlite3.Connection) -> None:
    with db.atomic(conn):
        funding, resident, merchant = accounts(conn)
        grant(conn, funding, resident, 100)
    with pytest.raises(ledger.InsufficientPoints), db.atomic(conn):
        redeem(conn, resident, merchant, 101)
    assert ledger.balance(conn, resident) == 100
    assert conn.execute("SELECT COUNT(*) FROM transfers").fetchone()[0] == 1
    assert ledger.check(conn) == []


def test_lots_are_spent_earliest_expiring_first(conn: sqlite3.Connection) -> None:
    with db.atomic(conn):
        funding, resident, merchant = accounts(conn)
        late = TODAY + dt.timedelta(days=90)
        early = TODAY + dt.timedelta(days=10)
        grant(conn, funding, resident, 300, expires_on=late)
        grant(conn, funding, resident, 200, expires_on=early)
        redeem(conn, resident, merchant, 250)
    remaining = dict(conn.execute("SELECT expires_on, remaining FROM lots").fetchall())
    assert remaining == {early.isoformat(): 0, late.isoformat(): 250}


def test_expired_lots_cannot_be_spent_and_expiry_returns_them(conn: sqlite3.Connection) -> None:
    with db.atomic(conn):
        funding, resident, merchant = accounts(conn)
        grant(conn, funding, resident, 300, expires_on=TODAY - dt.timedelta(days=1))
    with pytest.raises(ledger.InsufficientPoints), db.atomic(conn):
        redeem(conn, resident, merchant, 1)
    with db.atomic(conn):
        report = ledger.expire(conn, TODAY, NOW)
    assert (report.lots, report.points) == (1, 300)
    assert ledger.balance(conn, resident) == 0 and ledger.balance(conn, funding) == 0
    with db.atomic(conn):
        assert ledger.expire(conn, TODAY, NOW).points == 0
    assert ledger.check(conn) == []


def test_reversal_restores_drawn_lots_and_refuses_spent_awards(conn: sqlite3.Connection) -> None:
    with db.atomic(conn):
        funding, resident, merchant = accounts(conn)
        grant(conn, funding, resident, 100)
        spent = redeem(conn, resident, merchant, 100, sale_id="S1")
        awarded = ledger.earn(
            conn,
            kind="award",
            program_id="p",
            debit=funding,
            resident=resident,
            amount=10,
            expires_on=TODAY,
            now=NOW,
            sale_id="S1",
            op_kind="sale",
        )
    with db.atomic(conn):
        redeem(conn, resident, merchant, 5, sale_id="S2")
    original = {t.id: t for t in ledger.transfers_of(conn, "S1")}
    with pytest.raises(ledger.AwardSpent), db.atomic(conn):
        ledger.reverse(conn, original[awarded], NOW)
    with db.atomic(conn):
        ledger.reverse(conn, original[spent], NOW)
    assert ledger.balance(conn, resident) == 105
    assert ledger.balance(conn, merchant) == 5
    assert ledger.check(conn) == []


def test_check_reports_a_tampered_balance(conn: sqlite3.Connection) -> None:
    with db.atomic(conn):
        funding, resident, _ = accounts(conn)
        grant(conn, funding, resident, 100)
        conn.execute("UPDATE accounts SET balance = 90 WHERE id = ?", (resident,))
    problems = ledger.check(conn)
    assert any("stored balance 90" in p for p in problems)
    assert any("sum to -10" in p for p in problems)
