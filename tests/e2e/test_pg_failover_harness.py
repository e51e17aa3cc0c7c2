"""The PostgreSQL harness itself: a throwaway cluster, and a synchronous standby that loses nothing.

The failover test runs on raw psycopg (the server's PostgreSQL storage comes with its own
failover test): writers commit rows under load through a multi-host URL, the primary's
postmaster is SIGKILLed mid-load, the standby is promoted, and every row whose COMMIT was
acknowledged is on the new primary exactly once. It prints ``failover_pause_s`` (kill to the
first write accepted after it) with the run's counts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
import pytest

from tests.support.postgres import multi_host_url, primary_with_standby

WRITERS = 4
LOAD_BEFORE_KILL_S = 1.5
LOAD_AFTER_FIRST_WRITE_S = 1.0


def test_pg_server_is_a_throwaway_cluster_on_loopback_with_fsync_on(pg_server: str) -> None:
    with psycopg.connect(pg_server) as conn:
        settings = dict(
            conn.execute(
                "SELECT name, setting FROM pg_settings WHERE name IN"
                " ('fsync', 'synchronous_commit', 'listen_addresses', 'unix_socket_directories')"
            ).fetchall()
        )
        superuser = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
    assert settings["fsync"] == "on" and settings["synchronous_commit"] == "on"
    assert settings["listen_addresses"] == "127.0.0.1"
    assert not settings["unix_socket_directories"].startswith("/var/run")
    assert superuser == (True,)


def test_each_test_gets_a_fresh_database(pg_database_from: Callable[[str], str]) -> None:
    first, second = pg_database_from("template1"), pg_database_from("template1")
    with psycopg.connect(first, autocommit=True) as conn:
        conn.execute("CREATE TABLE mine (x int)")
    with psycopg.connect(second) as conn:
        assert conn.execute("SELECT to_regclass('mine')").fetchone() == (None,)


@dataclass
class Writer:
    """One client committing rows with ids it chose, retrying an unknown outcome until it is known."""

    number: int
    url: str
    stop: threading.Event
    acknowledged: list[str] = field(default_factory=list)
    acknowledged_at: list[float] = field(default_factory=list)
    #: The port of the server that acknowledged each row (which of the two was primary then).
    acknowledged_by: list[int] = field(default_factory=list)
    #: Ids whose COMMIT got no answer (the connection broke): found afterwards, or written again.
    uncertain: list[str] = field(default_factory=list)
    errors: int = 0

    def run(self) -> None:
        conn: psycopg.Connection[tuple[object, ...]] | None = None
        pending: str | None = None
        n = 0
        while not self.stop.is_set():
            op_id = pending or f"w{self.number}-{n}"
            try:
                if conn is None:
                    conn = psycopg.connect(self.url, autocommit=True)
                if pending is not None:
                    # The outcome of this id's COMMIT was lost: ask the (new) primary before writing again.
                    found = conn.execute(
                        "SELECT inet_server_port() FROM rows_written WHERE op_id = %s", (op_id,)
                    ).fetchone()
                    if found is not None:
                        self._known(op_id, int(found[0]))
                        pending, n = None, n + 1
                        continue
                row = conn.execute(
                    "INSERT INTO rows_written (op_id, writer) VALUES (%s, %s) RETURNING inet_server_port()",
                    (op_id, self.number),
                ).fetchone()
                assert row is not None
            except psycopg.OperationalError:
                self.errors += 1
                if pending is None:
                    self.uncertain.append(op_id)
                pending = op_id
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.02)
                continue
            self._known(op_id, int(row[0]))
            pending, n = None, n + 1
        if conn is not None:
            conn.close()

    def _known(self, op_id: str, port: int) -> None:
        self.acknowledged_at.append(time.monotonic())
        self.acknowledged_by.append(port)
        self.acknowledged.append(op_id)


@pytest.mark.slow
def test_a_synchronous_standby_promoted_after_a_sigkill_has_every_acknowledged_row_once() -> None:
    with primary_with_standby() as (primary, standby):
        with psycopg.connect(primary.url, autocommit=True) as conn:
            # No unique key on op_id: a row written twice would show as two rows.
            conn.execute(
                "CREATE TABLE rows_written"
                " (seq bigserial PRIMARY KEY, op_id text NOT NULL, writer int NOT NULL)"
            )
        url = multi_host_url([primary, standby])
        stop = threading.Event()
        writers = [Writer(number, url, stop) for number in range(WRITERS)]
        threads = [threading.Thread(target=w.run, name=f"writer-{w.number}") for w in writers]
        for thread in threads:
            thread.start()
        try:
            time.sleep(LOAD_BEFORE_KILL_S)
            before_kill = sum(len(w.acknowledged) for w in writers)
            killed_at = time.monotonic()
            primary.kill()
            promote_s = standby.promote()
            first_after = _first_write_on(standby.port, writers, killed_at, timeout=30)
            time.sleep(LOAD_AFTER_FIRST_WRITE_S)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=30)

        with psycopg.connect(standby.url) as conn:
            assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (False,)
            counts = dict(conn.execute("SELECT op_id, count(*) FROM rows_written GROUP BY op_id").fetchall())
        acknowledged = [op for w in writers for op in w.acknowledged]
        uncertain = [op for w in writers for op in w.uncertain]
        lost = [op for op in acknowledged if op not in counts]
        duplicated = {op: n for op, n in counts.items() if n != 1}
        unexplained = set(counts) - set(acknowledged)
        pause = first_after - killed_at
        # The killed postmaster's orphaned backends and walsender may still finish a commit or
        # two (synchronously replicated, so on the standby); the pause counts to the new primary.
        late_on_old = sum(
            1
            for w in writers
            for at, port in zip(w.acknowledged_at, w.acknowledged_by, strict=False)
            if at > killed_at and port == primary.port
        )
        print(
            f"\nfailover_pause_s {pause:.3f} (promote {promote_s:.3f} s); failover_lost_rows {len(lost)};"
            f" duplicated {len(duplicated)}; acknowledged {len(acknowledged)} ({before_kill} before the"
            f" kill); commits without an answer {len(uncertain)}, resolved by asking the new primary;"
            f" connection errors {sum(w.errors for w in writers)}; rows on the new primary {len(counts)};"
            f" acknowledged by the old primary's orphaned backends after the kill {late_on_old}"
        )
        assert before_kill > 100, "too little load before the kill to show anything"
        assert lost == [] and duplicated == {} and unexplained == set()
        assert len(counts) == len(acknowledged)
        assert max(max(w.acknowledged_at) for w in writers) > first_after, "no load after the failover"


def _first_write_on(port: int, writers: list[Writer], moment: float, timeout: float) -> float:
    """When the server on ``port`` first acknowledged a row after ``moment`` (waits for it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        after = [
            t
            for w in writers
            for t, by in zip(list(w.acknowledged_at), list(w.acknowledged_by), strict=False)
            if t > moment and by == port
        ]
        if after:
            return min(after)
        time.sleep(0.005)
    raise AssertionError(f"no write accepted within {timeout} s of the kill")
