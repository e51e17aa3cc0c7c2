"""The server database of release 0.1 opens with today's code and keeps every row.

``tests/fixtures/release-0.1/server.db`` was written by release 0.1 (demo data, sales with points,
cash and tickets, a void, a ticket issue, a closed period). Each test works on a copy.
"""

from __future__ import annotations

import base64
import pathlib
import shutil
import sqlite3

import pytest

from server import admin, db, keys, ledger, schema
from server.store import Store

RELEASE_0_1 = pathlib.Path(__file__).parents[1] / "fixtures" / "release-0.1" / "server.db"
#: What migrations 2, 3 and 4 change on purpose; every other table must come through unchanged.
CHANGED = {
    "admin_log",
    "settlement_log",
    "meta",
    "merchants",
    "chambers",
    "transfers",
    "tickets",
    "ticket_receipts",
    "sales",
    "accounts",
    "eligibility",
    "event_awards",
    "ranking_awards",
    "principals",
    "programs",
    "claims",
}
#: Migrations 4, 6, 9, 10 and 11 add columns at the end of these tables (how many) and keep every row's
#: other columns: principals got issuer_id (9) and shop_id (10); programs online_fee_bp and claims
#: online, online_fee and online_fee_bp (11).
GROWN = {
    "transfers": 1,
    "tickets": 1,
    "ticket_receipts": 1,
    "sales": 1,
    "principals": 2,
    "programs": 1,
    "claims": 3,
}
CODES = {None: None, "ordinary": 1, "current": 2, "savings": 4}


def rows(path: pathlib.Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table of the file at ``path``, in rowid order (read with plain sqlite3)."""
    # immutable: reading the committed fixture must not leave -wal/-shm files beside it.
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {
            name: conn.execute(f"SELECT * FROM {name} ORDER BY rowid").fetchall()
            for name in names
            if name != "sqlite_sequence"
        }
    finally:
        conn.close()


def columns(conn: sqlite3.Connection) -> dict[str, list[tuple[object, ...]]]:
    """Each table's columns (name, type, not null, default, primary key) and its indexes."""
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    shape = {name: [tuple(c)[1:] for c in conn.execute(f"PRAGMA table_info({name})")] for name in names}
    shape["indexes"] = sorted(
        tuple(r) for r in conn.execute("SELECT name, tbl_name FROM sqlite_master WHERE type = 'index'")
    )
    return shape


@pytest.fixture
def old_db(tmp_path: pathlib.Path) -> pathlib.Path:
    """A copy of release 0.1's server database."""
    target = tmp_path / "server.db"
    shutil.copy(RELEASE_0_1, target)
    return target


def open_with_today(path: pathlib.Path) -> None:
    """Open the database the way the running server does, then close it."""
    Store(path).close()


def test_the_fixture_is_release_0_1() -> None:
    before = rows(RELEASE_0_1)
    assert {"admin_log", "settlement_log", "sales", "transfers"} <= before.keys()
    assert ("schema_version", "1") in before["meta"]
    assert len(before["sales"]) == 4 and len(before["transfers"]) > 0


def test_opening_upgrades_to_the_current_version(old_db: pathlib.Path) -> None:
    open_with_today(old_db)
    conn = db.connect(old_db)
    assert db.schema_version(conn) == schema.SCHEMA_VERSION
    assert schema.upgrade(conn) == []  # a second opening applies nothing
    conn.close()


def test_every_unchanged_table_keeps_every_row(old_db: pathlib.Path) -> None:
    before = rows(old_db)
    open_with_today(old_db)
    after = rows(old_db)
    for table in before.keys() - CHANGED:
        assert after[table] == before[table], table
    assert sum(len(before[t]) for t in before.keys() - CHANGED) >= 45  # programs and claims grew (11)


def test_tables_that_grew_a_column_keep_every_row(old_db: pathlib.Path) -> None:
    before = rows(old_db)
    open_with_today(old_db)
    after = rows(old_db)
    for table in GROWN:
        assert [row[: len(before[table][0])] for row in after[table]] == before[table], table
        assert all(len(row) == len(before[table][0]) + GROWN[table] for row in after[table]), table


def test_existing_transfers_get_the_kind_of_their_operation(old_db: pathlib.Path) -> None:
    open_with_today(old_db)
    conn = db.connect(old_db)
    kinds = dict(
        conn.execute("SELECT kind, group_concat(DISTINCT op_kind) FROM transfers GROUP BY kind").fetchall()
    )
    assert kinds == {
        "grant": "grant",
        "issue_ticket": "ticket_issue",
        "redeem_points": "sale",
        "redeem_ticket": "sale",
        "void": "void",
    }
    registered = dict(conn.execute("SELECT kind, COUNT(*) FROM operations GROUP BY kind").fetchall())
    assert registered == {"sale": 4, "ticket_issue": 1}
    conn.close()


def test_existing_receipts_are_found_by_their_number_written_another_way(old_db: pathlib.Path) -> None:
    open_with_today(old_db)
    conn = db.connect(old_db)
    receipt = conn.execute("SELECT merchant_id, receipt_no, date FROM ticket_receipts").fetchone()
    assert tuple(receipt) == ("yamato-bakery", "101", "2026-11-01")
    conn.close()


def test_meta_loses_only_the_old_version_row(old_db: pathlib.Path) -> None:
    before = rows(old_db)["meta"]
    open_with_today(old_db)
    after = dict(rows(old_db)["meta"])
    clear = dict(before)
    assert after.keys() == clear.keys() - {"schema_version"}
    assert {k: v for k, v in after.items() if k != keys.META_KEY} == {
        k: v for k, v in clear.items() if k not in ("schema_version", keys.META_KEY)
    }


def test_the_clear_signing_key_is_sealed_with_a_key_file_beside_it(old_db: pathlib.Path) -> None:
    clear = dict(rows(old_db)["meta"])[keys.META_KEY]
    open_with_today(old_db)
    sealed = dict(rows(old_db)["meta"])[keys.META_KEY]
    assert keys.is_sealed(sealed) and clear not in sealed
    assert base64.b64decode(clear) not in old_db.read_bytes()
    kek = keys.kek_from_file(keys.default_key_file(old_db))
    assert keys.unseal(sealed, kek) == base64.b64decode(clear)  # the same key: printed tickets still verify


def test_both_logs_become_one_audit_log_in_time_order(old_db: pathlib.Path) -> None:
    before = rows(old_db)
    open_with_today(old_db)
    after = rows(old_db)
    assert "admin_log" not in after and "settlement_log" not in after
    wanted = sorted(
        [(at, actor, action, detail, "{}") for _id, at, actor, action, detail in before["admin_log"]]
        + [tuple(row[1:]) for row in before["settlement_log"]]
    )
    assert [row[1:] for row in after["audit_log"]] == wanted
    assert len(after["audit_log"]) == len(before["admin_log"]) + len(before["settlement_log"])
    assert [row[0] for row in after["audit_log"]] == list(range(1, len(wanted) + 1))


def test_bank_account_types_become_zengin_codes(old_db: pathlib.Path) -> None:
    before = rows(old_db)
    open_with_today(old_db)
    after = rows(old_db)
    for table, type_at in (("merchants", 9), ("chambers", 5)):
        converted = [(*r[:type_at], CODES[r[type_at]], *r[type_at + 1 :]) for r in before[table]]
        assert after[table] == converted, table
        assert {r[type_at] for r in after[table]} == {1}


def test_the_upgraded_ledger_checks(old_db: pathlib.Path) -> None:
    open_with_today(old_db)
    conn = db.connect(old_db)
    assert ledger.check(conn) == []
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    conn.close()


def test_an_upgraded_database_is_shaped_like_a_new_one(old_db: pathlib.Path, tmp_path: pathlib.Path) -> None:
    open_with_today(old_db)
    admin.init(tmp_path / "new.db")
    upgraded, new = db.connect(old_db), db.connect(tmp_path / "new.db")
    assert columns(upgraded) == columns(new)
    upgraded.close()
    new.close()


def test_an_upgraded_database_takes_settlement_and_admin_lines(old_db: pathlib.Path) -> None:
    from server.settlement import payouts, store

    open_with_today(old_db)
    conn = store.ensure(db.connect(old_db))
    with db.atomic(conn):
        admin.log(conn, "test", "merchant add", "new-shop")
    payer = payouts.get_payer(conn, "city:tenri")
    assert int(payer.account.account_type) == 1
    account = payouts._account_of(conn, "merchants", "yamato-bakery")
    assert account is not None and account.account_type == 1
    assert [line["action"] for line in store.log_lines(conn)][-1] == "merchant add"
    conn.close()


def test_a_database_newer_than_the_code_is_refused_untouched(old_db: pathlib.Path) -> None:
    conn = sqlite3.connect(old_db)
    conn.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION + 1}")
    conn.close()
    before = old_db.read_bytes()
    with pytest.raises(db.SchemaTooNew, match="newer release"):
        open_with_today(old_db)
    assert old_db.read_bytes() == before


def test_a_failing_step_leaves_the_database_at_the_step_before(tmp_path: pathlib.Path) -> None:
    steps = (
        db.Migration(1, "a table", "CREATE TABLE t (x INTEGER);\nINSERT INTO t VALUES (1);"),
        db.Migration(2, "a broken step", "INSERT INTO t VALUES (2);\nINSERT INTO missing VALUES (3);"),
    )
    conn = db.connect(tmp_path / "x.db")
    with pytest.raises(sqlite3.OperationalError):
        db.upgrade(conn, steps)
    assert db.schema_version(conn) == 1
    assert [tuple(r) for r in conn.execute("SELECT x FROM t")] == [(1,)]
    conn.close()


def test_the_history_is_numbered_in_order() -> None:
    assert [m.version for m in schema.MIGRATIONS] == list(range(1, schema.SCHEMA_VERSION + 1))
    for migration in schema.MIGRATIONS:
        assert migration.statements(), migration.version
        assert all(";" not in s.rstrip(";") for s in migration.statements()), migration.version


def test_every_card_key_gets_a_resident_account_with_its_balances(old_db: pathlib.Path) -> None:
    from server import residents

    before = rows(old_db)
    open_with_today(old_db)
    conn = db.connect(old_db)
    # Release 0.1's resident accounts were owned by card keys; each key is now linked to an account.
    old = {(r[2], r[3]): r[4] for r in before["accounts"] if r[1] == "resident"}
    links = dict(conn.execute("SELECT card_key, account_number FROM card_keys").fetchall())
    assert {key for key, _ in old} <= links.keys() and len(set(links.values())) == len(links)
    after = {
        (r[0], r[1]): r[2]
        for r in conn.execute("SELECT owner, program_id, balance FROM accounts WHERE kind = 'resident'")
    }
    assert after == {(links[key], program): balance for (key, program), balance in old.items()}
    assert all(residents.normal_number(number) == number for number in links.values())
    numbers = {r[0] for r in conn.execute("SELECT number FROM resident_accounts")}
    assert numbers == set(links.values())
    # Tags and awards follow the key to its account; the ledger still checks.
    tags = conn.execute("SELECT account_number FROM eligibility").fetchall()
    assert all(r[0] in numbers for r in tags)
    assert ledger.check(conn) == []
    conn.close()


def test_a_refused_offline_sale_of_an_older_database_has_its_id_claimed(old_db: pathlib.Path) -> None:
    # Before version 14 an offline sale refused on sync left its id unclaimed (only refused_sales held
    # it); a sale now claims its id before it reads a stored answer, so the upgrade claims those ids.
    open_with_today(old_db)
    conn = db.connect(old_db)
    merchant, terminal = conn.execute("SELECT merchant_id, id FROM terminals ORDER BY id LIMIT 1").fetchone()
    with db.atomic(conn):
        conn.execute(
            "INSERT INTO refused_sales(sale_id, line_no, merchant_id, terminal_id, program_id, amount,"
            " error_code, message, request_hash, terminal_time, created_at) VALUES ('refused-1', 0, ?, ?,"
            " NULL, 300, 'insufficient_points', 'too few', 'h', '2026-11-30T10:00:00+09:00',"
            " '2026-11-30T01:00:00+00:00')",
            (merchant, terminal),
        )
    conn.execute("PRAGMA user_version = 13")
    conn.close()
    open_with_today(old_db)
    conn = db.connect(old_db)
    claimed = conn.execute(
        "SELECT kind, issuer, created_at FROM operations WHERE id = 'refused-1'"
    ).fetchone()
    assert tuple(claimed) == ("sale", merchant, "2026-11-30T01:00:00+00:00")
    assert db.schema_version(conn) == schema.SCHEMA_VERSION
    conn.close()
