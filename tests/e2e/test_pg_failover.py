"""The servers survive a failover: two ``mykey-server serve`` on a multi-host URL, the primary killed.

A primary and a synchronous standby; two server processes on
``postgresql://h1,h2/mykey?target_session_attrs=read-write``; terminals post sales through both,
each retrying a sale with the same id until it has an answer (as the counter does), and keeping
the ids the server accepted. Every other sale redeems points from the terminal's card, and each
card is used by two terminals on different servers at once. The primary is SIGKILLed, the standby
promoted; the servers' sessions reconnect to it. Afterwards every accepted sale is on the new
primary exactly once, each card's balance is its grant less the points of its accepted sales,
``check`` passes, and nothing is left pending. Prints ``failover_lost_sales`` and ``failover_pause_s``.
"""

from __future__ import annotations

import base64
import os
import pathlib
import secrets
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

import httpx
import psycopg
import pytest

from server import admin, db, ledger
from server import demo as demo_data
from tests.server.helpers import TENRI, resident_account, sale
from tests.support.postgres import multi_host_url, primary_with_standby, with_database
from tests.support.server import ROOT, RunningServer, running_server

TERMINALS = 6
LOAD_BEFORE_KILL_S = 3.0
LOAD_AFTER_FIRST_SALE_S = 2.0
#: Cards granted points for the test; terminal n uses card n % CARDS (two terminals, two servers, one card).
CARDS = 3
GRANT = 1_000_000
REDEEM = 7


@dataclass
class Terminal:
    """A counter posting sales through one server, every other one redeeming points; retried by id."""

    server: RunningServer
    token: str
    card_key: str
    stop: threading.Event
    accepted: list[str] = field(default_factory=list)
    accepted_at: list[float] = field(default_factory=list)
    #: Points of the accepted sales (0 for a cash sale), in the order of ``accepted``.
    redeemed: list[int] = field(default_factory=list)
    retries: int = 0

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.server.url, headers=headers, timeout=10) as http:
            while not self.stop.is_set():
                points = REDEEM if len(self.accepted) % 2 else 0
                body = sale(self.card_key, total=300, points={TENRI: points} if points else None)
                while True:  # the same id until its outcome is known, even after stop
                    try:
                        answer = http.post("/v1/sales", json=body)
                    except httpx.TransportError:
                        answer = None
                    if answer is not None and answer.status_code == 200:
                        break
                    assert answer is None or answer.status_code in (500, 503), answer.text
                    self.retries += 1
                    time.sleep(0.05)
                self.accepted.append(body["sale_id"])
                self.accepted_at.append(time.monotonic())
                self.redeemed.append(points)


def mykey_server(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args], capture_output=True, text=True, cwd=ROOT, env=env
    )


@pytest.mark.slow
def test_two_servers_carry_on_through_a_failover_and_every_accepted_sale_is_on_the_new_primary_once(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MYKEY_KEY", base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
    with primary_with_standby() as (primary, standby):
        with psycopg.connect(primary.url, autocommit=True) as conn:
            conn.execute("CREATE DATABASE mykey")
        url = multi_host_url([primary, standby], "mykey")
        with running_server(tmp_path / "a", db_url=url) as first:
            second = RunningServer(
                tmp_path / "b", tmp_path / "b" / "unused.db", first.tokens, first.cards, db_url=url
            )
            second.directory.mkdir()
            second.start()
            cards = _granted_cards(url)
            try:
                stop = threading.Event()
                tokens = [first.tokens[n] for n in first.tokens if n.endswith("-t1")]
                terminals = [
                    Terminal((first, second)[n % 2], tokens[n % len(tokens)], cards[n % CARDS], stop)
                    for n in range(TERMINALS)
                ]
                threads = [threading.Thread(target=t.run) for t in terminals]
                for thread in threads:
                    thread.start()
                try:
                    time.sleep(LOAD_BEFORE_KILL_S)
                    before_kill = sum(len(t.accepted) for t in terminals)
                    killed_at = time.monotonic()
                    primary.kill()
                    promote_s = standby.promote()
                    first_after = _first_sale_after(terminals, killed_at + promote_s, timeout=60)
                    time.sleep(LOAD_AFTER_FIRST_SALE_S)
                finally:
                    stop.set()
                    for thread in threads:
                        thread.join(timeout=60)
            finally:
                second.stop()

        new_primary = with_database(standby.url, "mykey")
        with psycopg.connect(new_primary) as conn:
            assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (False,)
            stored = dict(
                conn.execute("SELECT id, count(*) FROM operations WHERE kind = 'sale' GROUP BY id").fetchall()
            )
        accepted = [sale_id for t in terminals for sale_id in t.accepted]
        lost = [sale_id for sale_id in accepted if sale_id not in stored]
        twice = {sale_id: n for sale_id, n in stored.items() if n != 1}
        checked = mykey_server("check", "--db", new_primary)
        balances = _balances(new_primary, cards)
        expected = {
            card: GRANT - sum(sum(t.redeemed) for t in terminals if t.card_key == card) for card in cards
        }
        redemptions = sum(1 for t in terminals for points in t.redeemed if points)
        pause = first_after - killed_at
        print(
            f"\nfailover_lost_sales {len(lost)} of {len(accepted)} accepted ({before_kill} before the kill,"
            f" {len(accepted) - before_kill} after) through 2 server processes, {TERMINALS} terminals;"
            f" failover_pause_s {pause:.3f} (promote {promote_s:.3f} s);"
            f" retries {sum(t.retries for t in terminals)};"
            f" sales on the new primary {len(stored)}, stored twice {len(twice)};"
            f" point redemptions {redemptions} on {CARDS} cards"
        )
        assert before_kill > 50, "too little load before the kill"
        assert lost == [] and twice == {}
        assert len(set(accepted)) == len(accepted)
        assert set(stored) == set(accepted)  # nothing pending, nothing applied that no terminal holds
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert redemptions > 20, "too few point redemptions to show anything"
        assert balances == expected  # every acknowledged redemption, and only those, moved points


def _granted_cards(url: str) -> list[str]:
    """CARDS new card keys, each granted GRANT points of the Tenri program (before the load)."""
    program = {p.id: p for p in demo_data.programs()}[TENRI]
    keys = [f"uid:{secrets.token_hex(32)}" for _ in range(CARDS)]
    conn = db.connect(url)
    try:
        with db.atomic(conn):
            for key in keys:
                admin.grant(conn, key, program, GRANT)
    finally:
        conn.close()
    return keys


def _balances(url: str, cards: list[str]) -> dict[str, int | None]:
    """Each card's Tenri balance on the database at ``url``, through the server's own ledger."""
    conn = db.connect(url, readonly=True)
    try:
        found = {card: resident_account(conn, card, TENRI) for card in cards}
        return {
            card: None if account is None else ledger.balance(conn, account)
            for card, account in found.items()
        }
    finally:
        conn.close()


def _first_sale_after(terminals: list[Terminal], moment: float, timeout: float) -> float:
    """When a terminal first had a sale accepted after ``moment`` (waits for it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        after = [at for t in terminals for at in list(t.accepted_at) if at > moment]
        if after:
            return min(after)
        time.sleep(0.005)
    raise AssertionError(f"no sale accepted within {timeout} s of the promotion")
