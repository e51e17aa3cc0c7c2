"""The failover scenario, once: two ``mykey-server serve`` on a multi-host URL, the primary killed.

Usage::

    from tests.e2e.failover import run_failover

    result = run_failover(tmp_path)   # needs MYKEY_KEY (or MYKEY_KEY_FILE) in the environment
    result.lost, result.pause_s, result.promote_s, result.check_returncode

A primary and a synchronous standby on loopback; two server processes on
``postgresql://h1,h2/mykey?target_session_attrs=read-write``; terminals post sales through both,
each retrying a sale with the same id until it has an answer (as the counter does), and keeping
the ids the server accepted. Every other sale redeems points from the terminal's card, and each
card is used by two terminals on different servers at once. The primary's postmaster is
SIGKILLed, the standby promoted; the servers' sessions reconnect to it, and the load carries on.
Afterwards the new primary is read: which accepted sales it holds and how often, each card's
balance, and ``mykey-server check``. The test (``test_pg_failover.py``) asserts on the result;
the bench (``tests/bench/bench_failover.py``) prints its figures.
"""

from __future__ import annotations

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

from server import admin, db, ledger
from server import demo as demo_data
from tests.server.helpers import TENRI, resident_account, sale
from tests.support.postgres import multi_host_url, primary_with_standby, with_database
from tests.support.server import ROOT, RunningServer, running_server

TERMINALS = 6
LOAD_BEFORE_KILL_S = 3.0
LOAD_AFTER_FIRST_SALE_S = 2.0
#: Cards granted points for the run; terminal n uses card n % CARDS (two terminals, two servers, one card).
CARDS = 3
GRANT = 1_000_000
REDEEM = 7
#: How long the terminals may wait for their first sale on the new primary before the run fails.
RECOVERY_TIMEOUT_S = 60.0


@dataclass
class FailoverResult:
    """What a failover run left: the terminals' counts, the new primary's contents, the timings.

    Attributes:
        accepted: the ids of every sale a terminal holds as accepted.
        before_kill: how many of them were accepted before the SIGKILL.
        stored: each sale id on the new primary and how many times it is there.
        lost: accepted sales missing from the new primary (must be empty).
        pause_s: seconds from the SIGKILL of the primary to the first sale accepted after the
            standby was promoted (the first acceptance of a post sent once the old primary and
            its backends were gone: only the new primary can have committed it).
        promote_s: seconds ``pg_ctl promote -w`` took alone (the floor of ``pause_s``).
        kill_s: seconds from the SIGKILL until the old primary's backends were gone too (the
            promotion starts then, so a pause is at least ``kill_s + promote_s``).
        retries: posts a terminal sent again (no answer, or 500/503) while the database moved.
        refused: answers no terminal should get (neither 200 nor 500/503), one line each.
        redemptions: accepted sales that redeemed points.
        balances: each card's balance on the new primary, through the server's own ledger.
        expected: each card's grant less the points of its accepted sales.
        check_returncode: ``mykey-server check`` on the new primary (0: every invariant holds).
        check_output: its standard output and error.
    """

    accepted: list[str]
    before_kill: int
    stored: dict[str, int]
    pause_s: float
    promote_s: float
    kill_s: float
    retries: int
    refused: list[str]
    redemptions: int
    balances: dict[str, int | None]
    expected: dict[str, int]
    check_returncode: int
    check_output: str
    terminals: int = TERMINALS
    cards: int = CARDS

    @property
    def lost(self) -> list[str]:
        """Accepted sales the new primary does not hold."""
        return [sale_id for sale_id in self.accepted if sale_id not in self.stored]

    @property
    def twice(self) -> dict[str, int]:
        """Sales the new primary holds more than once, with their counts."""
        return {sale_id: n for sale_id, n in self.stored.items() if n != 1}

    @property
    def unexplained(self) -> set[str]:
        """Sales on the new primary that no terminal holds as accepted (pending, or applied unasked)."""
        return set(self.stored) - set(self.accepted)

    def summary(self) -> str:
        """The run's counts and timings on one line (the test prints it; the bench notes it)."""
        after = len(self.accepted) - self.before_kill
        return (
            f"failover_lost_sales {len(self.lost)} of {len(self.accepted)} accepted"
            f" ({self.before_kill} before the kill, {after} after) through 2 server processes,"
            f" {self.terminals} terminals; failover_pause_s {self.pause_s:.3f}"
            f" (kill {self.kill_s:.3f} s, promote {self.promote_s:.3f} s); retries {self.retries};"
            f" sales on the new primary {len(self.stored)}, stored twice {len(self.twice)};"
            f" point redemptions {self.redemptions} on {self.cards} cards"
        )


@dataclass
class Terminal:
    """A counter posting sales through one server, every other one redeeming points; retried by id."""

    server: RunningServer
    token: str
    card_key: str
    stop: threading.Event
    accepted: list[str] = field(default_factory=list)
    accepted_at: list[float] = field(default_factory=list)
    #: When the post that got each acceptance was sent (the last try), in the order of ``accepted``.
    sent_at: list[float] = field(default_factory=list)
    #: Points of the accepted sales (0 for a cash sale), in the order of ``accepted``.
    redeemed: list[int] = field(default_factory=list)
    retries: int = 0
    #: An answer that is neither an acceptance nor "try again": the terminal stops on it.
    refused: str | None = None

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.server.url, headers=headers, timeout=10) as http:
            while not self.stop.is_set():
                points = REDEEM if len(self.accepted) % 2 else 0
                body = sale(self.card_key, total=300, points={TENRI: points} if points else None)
                while True:  # the same id until its outcome is known, even after stop
                    sent = time.monotonic()
                    try:
                        answer = http.post("/v1/sales", json=body)
                    except httpx.TransportError:
                        answer = None
                    if answer is not None and answer.status_code == 200:
                        break
                    if answer is not None and answer.status_code not in (500, 503):
                        self.refused = f"{answer.status_code} {answer.text[:200]}"
                        return
                    self.retries += 1
                    time.sleep(0.05)
                self.sent_at.append(sent)
                self.accepted_at.append(time.monotonic())
                self.redeemed.append(points)
                self.accepted.append(body["sale_id"])  # last: the other lists are as long


def run_failover(
    directory: pathlib.Path,
    *,
    terminals: int = TERMINALS,
    before_kill_s: float = LOAD_BEFORE_KILL_S,
    after_first_sale_s: float = LOAD_AFTER_FIRST_SALE_S,
) -> FailoverResult:
    """Run the failover under load and read the new primary; the clusters are removed after.

    Args:
        directory: an empty folder for the two servers' demo data and logs (``tmp_path``).
        terminals: terminals posting at once, alternately through the two servers.
        before_kill_s: seconds of load before the primary is killed.
        after_first_sale_s: seconds of load after the first sale accepted on the new primary.

    Raises:
        TimeoutError: no sale was accepted within ``RECOVERY_TIMEOUT_S`` of the old primary's end.
    """
    with primary_with_standby() as (primary, standby):
        with psycopg.connect(primary.url, autocommit=True) as conn:
            conn.execute("CREATE DATABASE mykey")
        url = multi_host_url([primary, standby], "mykey")
        with running_server(directory / "a", db_url=url) as first:
            second = RunningServer(
                directory / "b", directory / "b" / "unused.db", first.tokens, first.cards, db_url=url
            )
            second.directory.mkdir()
            second.start()
            cards = _granted_cards(url)
            try:
                stop = threading.Event()
                tokens = [first.tokens[n] for n in first.tokens if n.endswith("-t1")]
                counters = [
                    Terminal((first, second)[n % 2], tokens[n % len(tokens)], cards[n % CARDS], stop)
                    for n in range(terminals)
                ]
                threads = [threading.Thread(target=t.run) for t in counters]
                for thread in threads:
                    thread.start()
                try:
                    time.sleep(before_kill_s)
                    before_kill = sum(len(t.accepted) for t in counters)
                    killed_at = time.monotonic()
                    primary.kill()  # returns once the postmaster and its backends are gone
                    dead_at = time.monotonic()
                    promote_s = standby.promote()
                    first_after = _first_sale_sent_after(counters, dead_at, RECOVERY_TIMEOUT_S)
                    time.sleep(after_first_sale_s)
                finally:
                    stop.set()
                    for thread in threads:
                        thread.join(timeout=60)
            finally:
                second.stop()

        new_primary = with_database(standby.url, "mykey")
        with psycopg.connect(new_primary) as conn:
            if conn.execute("SELECT pg_is_in_recovery()").fetchone() != (False,):
                raise RuntimeError("the promoted standby is still in recovery")
            stored = dict(
                conn.execute("SELECT id, count(*) FROM operations WHERE kind = 'sale' GROUP BY id").fetchall()
            )
        checked = _mykey_server("check", "--db", new_primary)
        balances = _balances(new_primary, cards)
    expected = {card: GRANT - sum(sum(t.redeemed) for t in counters if t.card_key == card) for card in cards}
    return FailoverResult(
        accepted=[sale_id for t in counters for sale_id in t.accepted],
        before_kill=before_kill,
        stored=stored,
        pause_s=first_after - killed_at,
        promote_s=promote_s,
        kill_s=dead_at - killed_at,
        retries=sum(t.retries for t in counters),
        refused=[t.refused for t in counters if t.refused is not None],
        redemptions=sum(1 for t in counters for points in t.redeemed if points),
        balances=balances,
        expected=expected,
        check_returncode=checked.returncode,
        check_output=checked.stdout + checked.stderr,
        terminals=terminals,
    )


def _mykey_server(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args], capture_output=True, text=True, cwd=ROOT, env=env
    )


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


def _first_sale_sent_after(terminals: list[Terminal], moment: float, timeout: float) -> float:
    """When a terminal first had a sale accepted by a post sent after ``moment`` (waits for it).

    Sent after the old primary was gone, such a sale can only have been committed by the new one
    (an answer to a post sent earlier may be a commit of the old primary's, read late).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        after = [
            at
            for t in terminals
            for at, sent in zip(list(t.accepted_at), list(t.sent_at), strict=False)
            if sent > moment
        ]
        if after:
            return min(after)
        time.sleep(0.005)
    raise TimeoutError(f"no sale accepted within {timeout} s of the promotion")
