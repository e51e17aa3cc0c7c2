"""``mykey-server backup`` and ``restore``: the restore drill under load (SQLite), pg_dump on PostgreSQL."""

from __future__ import annotations

import pathlib
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import httpx
import psycopg
import pytest

from server.dburl import location, parse_database_url, redact, sqlite_path
from tests.server.helpers import TENRI, sale
from tests.support.server import ROOT, RunningServer

SHOPS = ["yamato-bakery-t1", "sakura-books-t1", "tenri-yu-t1", "kitasato-mart-t1"]
LOAD_BEFORE_BACKUP_S = 1.0
LOAD_DURING_BACKUP_S = 0.5


def mykey_server(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args], capture_output=True, text=True, cwd=ROOT, check=False
    )


class Till:
    """One shop terminal posting small point sales until told to stop; notes when each was acknowledged."""

    def __init__(self, server: RunningServer, shop: str, card_key: str, stop: threading.Event) -> None:
        self.server, self.shop, self.card_key, self.stop = server, shop, card_key, stop
        self.acknowledged: dict[str, float] = {}

    def run(self) -> None:
        with self.server.client(self.shop, timeout=30) as http:
            while not self.stop.is_set():
                body = sale(self.card_key, total=100, points={TENRI: 1})
                reply = http.post("/v1/sales", json=body)
                assert reply.status_code == 200, reply.text
                self.acknowledged[body["sale_id"]] = time.monotonic()


@pytest.mark.slow
def test_restore_drill_a_backup_under_load_restores_every_sale_acknowledged_before_it(
    live_server: RunningServer, tmp_path: pathlib.Path
) -> None:
    stop = threading.Event()
    cards = [card["card_key"] for card in live_server.cards.values() if card["card_key"]]
    tills = [Till(live_server, shop, str(cards[n % len(cards)]), stop) for n, shop in enumerate(SHOPS)]
    threads = [threading.Thread(target=till.run) for till in tills]
    for thread in threads:
        thread.start()
    try:
        time.sleep(LOAD_BEFORE_BACKUP_S)
        backup_started = time.monotonic()
        backed_up = mykey_server(
            "backup", "--db", f"sqlite:///{live_server.db_path}", "--to", str(tmp_path / "backup.db")
        )
        backup_ended = time.monotonic()
        time.sleep(LOAD_DURING_BACKUP_S)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert backed_up.returncode == 0, backed_up.stderr
    assert not (tmp_path / "backup.db-wal").exists()  # one file is the whole backup

    restored = mykey_server(
        "restore", "--from", str(tmp_path / "backup.db"), "--db", str(tmp_path / "new.db")
    )
    assert restored.returncode == 0, restored.stderr
    check = mykey_server("check", "--db", str(tmp_path / "new.db"))
    assert check.returncode == 0, check.stdout + check.stderr
    assert "ledger consistent" in check.stdout

    acknowledged = {sale_id: at for till in tills for sale_id, at in till.acknowledged.items()}
    before = {sale_id for sale_id, at in acknowledged.items() if at < backup_started}
    with sqlite3.connect(tmp_path / "new.db") as conn:
        in_backup = {row[0] for row in conn.execute("SELECT sale_id FROM sales")}
    print(
        f"\nrestore drill: {len(acknowledged)} sales acknowledged, {len(before)} before the backup began,"
        f" {len(in_backup)} in the backup ({len(in_backup - before)} acknowledged while it ran);"
        f" backup took {backup_ended - backup_started:.2f} s (the command, as a subprocess)"
    )
    assert len(before) > 20, "too little load before the backup to show anything"
    assert before <= in_backup <= set(acknowledged)
    assert len(acknowledged) > len(in_backup), "the server kept taking sales after the backup"


def test_a_backup_never_overwrites_and_a_restore_never_lands_on_an_existing_database(
    live_server: RunningServer, tmp_path: pathlib.Path
) -> None:
    target = tmp_path / "backup.db"
    target.write_bytes(b"yesterday's backup")
    refused = mykey_server("backup", "--db", str(live_server.db_path), "--to", str(target))
    assert refused.returncode == 1 and "exists" in refused.stderr
    assert target.read_bytes() == b"yesterday's backup"
    fresh = tmp_path / "fresh.db"
    assert mykey_server("backup", "--db", str(live_server.db_path), "--to", str(fresh)).returncode == 0
    onto_live = mykey_server("restore", "--from", str(fresh), "--db", str(live_server.db_path))
    assert onto_live.returncode == 1 and "exists" in onto_live.stderr
    assert httpx.get(live_server.url + "/v1/health").status_code == 200
    assert mykey_server(
        "backup", "--db", str(tmp_path / "nothing.db"), "--to", str(tmp_path / "b2")
    ).returncode
    assert not (tmp_path / "nothing.db").exists()  # a backup of nothing made no database either


def test_database_urls_name_sqlite_files_or_postgresql_and_never_show_a_password() -> None:
    assert parse_database_url("mykey.db").path == pathlib.Path("mykey.db")
    assert parse_database_url("sqlite:////var/lib/mykey.db").path == pathlib.Path("/var/lib/mykey.db")
    multi = "postgresql://u:secret@h1:5432,h2:5432/pos?target_session_attrs=read-write"
    assert parse_database_url(multi).kind == "postgresql" and parse_database_url(multi).url == multi
    assert "secret" not in redact(multi) and "secret" not in redact("host=h password=secret")
    with pytest.raises(ValueError):
        parse_database_url("mysql://h/pos")
    # The store, check and copy read the same parser: one answer per --db.
    assert sqlite_path("sqlite:///data/my%20key.db") == pathlib.Path("data/my key.db")
    assert location(multi) == multi and location("mykey.db") == pathlib.Path("mykey.db")
    with pytest.raises(ValueError):
        sqlite_path(multi)


def test_pg_dump_backup_restores_into_an_empty_database_only(
    pg_database_from: Callable[[str], str], tmp_path: pathlib.Path
) -> None:
    source, target = pg_database_from("template1"), pg_database_from("template1")
    with psycopg.connect(source) as conn:
        conn.execute(
            "CREATE TABLE sales (sale_id text PRIMARY KEY, total integer NOT NULL CHECK (total >= 0))"
        )
        conn.execute("INSERT INTO sales SELECT 'S' || n, n FROM generate_series(1, 500) AS n")
    dump = tmp_path / "pos.dump"
    backed_up = mykey_server("backup", "--db", source, "--to", str(dump))
    assert backed_up.returncode == 0, backed_up.stderr
    restored = mykey_server("restore", "--from", str(dump), "--db", target)
    assert restored.returncode == 0, restored.stderr
    with psycopg.connect(target) as conn:
        assert conn.execute("SELECT count(*), sum(total) FROM sales").fetchone() == (500, 125250)
    again = mykey_server("restore", "--from", str(dump), "--db", target)
    assert again.returncode == 1 and "restore into a new, empty database" in again.stderr
