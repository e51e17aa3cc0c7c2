"""The soak: a month of counter traffic in minutes, through crashes and lost answers (DESIGN.md §5).

A real server (uvicorn, on SQLite or PostgreSQL), terminals running the real ``pos`` code in their
own processes (:mod:`tests.e2e.soak_terminal`), a loopback proxy that loses answers and cuts the
link, a TCP printer that refuses, stalls and drops jobs, an award station, a partner converting
points, a terminal whose clock is hours off — and the server and terminals SIGKILLed at random,
and on PostgreSQL the database server too (``kill_database``: SIGKILL of the postmaster, crash
recovery on restart). At the end every promise is checked, through the server's own database
layer on either database, and a broken one fails loudly with the seed.

By hand: ``python -m tests.e2e.soak --seconds 1800 --seed 7`` (``make soak``), with ``--db postgresql``
for a throwaway PostgreSQL cluster the soak starts (and kills), or ``--db postgresql://…`` for a
server of your own (a role that may create databases: the soak makes its own database there and
never kills that server).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime as dt
import json
import os
import pathlib
import random
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from ulid import ULID

from pos.journal import EntryState, Journal
from server import db as server_db
from tests.e2e.soak_desk import DeskTraffic
from tests.support import postgres
from tests.support.faultproxy import FaultPlan, FaultProxy
from tests.support.server import RunningServer, running_server
from tests.support.tcp_printer import TcpPrinter

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHOP_TERMINALS = ["yamato-bakery-t1", "sakura-books-t1", "tenri-yu-t1", "kitasato-mart-t1", "midori-cafe-t1"]


@dataclass
class SoakReport:
    """What a run did and what it checked."""

    seed: int
    seconds: float = 0.0
    faults: Counter[str] = field(default_factory=Counter)
    sales_accepted: int = 0
    sales_refused: int = 0
    sales_offline_synced: int = 0
    voids: int = 0
    awards: int = 0
    conversions: int = 0
    #: the city desk's acts that took effect: renew, block, replace, unblock, merge
    desk: Counter[str] = field(default_factory=Counter)
    checks: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def sales_per_s(self) -> float:
        """Accepted sales per second of traffic, faults included."""
        return self.sales_accepted / self.seconds if self.seconds else 0.0

    def check(self, name: str, ok: bool, detail: str = "") -> None:
        """Record one invariant check."""
        (self.checks if ok else self.failures).append(name + ("" if ok else f": {detail}"))


class Terminal:
    """One terminal process and its journal; killed and restarted by the harness."""

    def __init__(self, workdir: pathlib.Path, name: str, config: dict[str, Any]) -> None:
        self.name = name
        self.config_path = workdir / f"{name}.json"
        self.config = config
        self.process: subprocess.Popen[bytes] | None = None
        self.log = workdir / f"{name}.log"

    def start(self, **overrides: Any) -> None:
        """Start (or restart) the terminal process on its journal."""
        self.config_path.write_text(json.dumps({**self.config, **overrides}))
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.e2e.soak_terminal", str(self.config_path)],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=log,
            )

    def crashed(self) -> str | None:
        """The end of the log when the process died by itself (not killed, not stopped), else None."""
        if self.process is None or self.process.poll() in (None, 0, -signal.SIGKILL):
            return None
        return self.log.read_text(errors="replace")[-1500:]

    def kill(self) -> None:
        """SIGKILL, mid-sale or not."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def wait(self, timeout: float) -> int:
        """Wait for the process to finish; kill it when it does not."""
        assert self.process is not None
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return -9


def issue_tickets(server: RunningServer, rng: random.Random, count: int) -> list[str]:
    """Tickets from the ticket counter (Tenri rule), to be spent (and double-spent) at the shops."""
    texts: list[str] = []
    with server.client("tenri-counter-1") as http:
        for i in range(count):
            body = {
                "issue_id": str(ULID()),
                "program_id": "tenri-megumi",
                "receipts": [
                    {
                        "merchant_id": "yamato-bakery",
                        "receipt_no": f"S{rng.randrange(10**9)}-{i}",
                        "date": dt.date.today().isoformat(),
                        "amount": rng.choice([1_000, 2_000, 3_000]),
                    }
                ],
            }
            answer = http.post("/v1/tickets/issue", json=body)
            answer.raise_for_status()
            texts += [t["text"] for t in answer.json()["tickets"]]
    return texts


def post_with_retry(http: httpx.Client, path: str, body: dict[str, Any], tries: int = 20) -> int | None:
    """Send a body until an answer comes back (same id every time); the status, or None."""
    for _ in range(tries):
        try:
            return http.post(path, json=body).status_code
        except httpx.TransportError:
            time.sleep(0.1)
    return None


def side_traffic(proxy: FaultProxy, server: RunningServer, rng: random.Random, report: SoakReport) -> None:
    """An event award and a partner conversion through the faulty link, retried with the same id."""
    cards = [c["card_key"] for c in server.cards.values()]
    headers = {"toshima-award-1": "award", "skyair": "conversion"}
    who = rng.choice(list(headers))
    with httpx.Client(
        base_url=proxy.url, headers={"Authorization": f"Bearer {server.tokens[who]}"}, timeout=3
    ) as http:
        if who == "toshima-award-1":
            # The station's own event: a second award to the same card must be refused.
            body = {
                "award_id": str(ULID()),
                "card_key": rng.choice(cards),
                "program_id": "toshima-points",
                "event_id": "toshima-cleanup-2026-11",
                "kind": "volunteer",
            }
            status = post_with_retry(http, "/v1/awards", body)
            report.awards += status == 200
        else:
            body = {
                "conversion_id": f"sky-{rng.randrange(10**12)}",
                "card_key": rng.choice(cards),
                "program_id": "oguni-kitasato",
                "points": rng.choice([100, 500, 1_000]),
            }
            status = post_with_retry(http, "/v1/conversions", body)
            report.conversions += status == 200
            if status == 200 and rng.random() < 0.3:  # the partner retries: must not double
                post_with_retry(http, "/v1/conversions", body)


def inject(
    rng: random.Random,
    report: SoakReport,
    server: RunningServer,
    proxy: FaultProxy,
    printer: TcpPrinter,
    terminals: list[Terminal],
    cluster: postgres.Cluster | None = None,
    fault: str | None = None,
) -> None:
    """One random fault (or ``fault``), then back to normal; ``kill_database`` needs the soak's cluster."""
    faults = ["kill_server", "cut", "kill_terminal", "printer", "printer", "none"]
    fault = fault or rng.choice(faults + ["kill_database"] * (cluster is not None))
    if fault not in ("none", "printer"):
        report.faults[fault] += 1
    if fault == "kill_server":
        server.restart()  # SIGKILL, then start on the same port and database
    elif fault == "kill_database":
        assert cluster is not None
        cluster.kill()  # a power cut of the database server: backends and all
        time.sleep(rng.uniform(0.2, 2.0))
        cluster.start()  # crash recovery replays the WAL: every acknowledged commit is back
    elif fault == "cut":
        proxy.cut()
        time.sleep(rng.uniform(0.5, 3.0))
        proxy.cut(False)
    elif fault == "kill_terminal":
        victim = rng.choice(terminals)
        time.sleep(rng.uniform(0, 0.3))
        victim.kill()
        victim.start()
    elif fault == "printer":
        how = rng.choice(["refuse", "stall", "close_mid_job"])
        report.faults["printer_" + how] += 1
        if how == "refuse":
            printer.refuse()
            time.sleep(rng.uniform(0.5, 2))
            printer.accept()
        elif how == "stall":
            printer.stall = True
            time.sleep(rng.uniform(0.5, 2))
            printer.stall = False
        else:
            printer.close_after = rng.randrange(10, 400)
            time.sleep(rng.uniform(0.5, 2))
            printer.close_after = None


def run_soak(
    workdir: pathlib.Path,
    seconds: float,
    seed: int,
    terminals: int = 4,
    faults: bool = True,
    min_sales: int = 0,
    database: str = "sqlite",
) -> SoakReport:
    """Run the whole soak in ``workdir`` and check every invariant; returns the report.

    With ``faults=False`` nothing is injected (the baseline for the figure). ``min_sales``
    is a floor of work, not of time: on a slow machine the traffic goes on past ``seconds``
    (up to three times as long) until the server holds that many sales, so the run
    exercises what it claims to whatever the machine's speed. ``database`` is ``sqlite``,
    ``postgresql`` (a throwaway cluster, killed as one of the faults) or a ``postgresql://`` URL.
    """
    limit = seconds * 3 if min_sales else seconds
    rng = random.Random(seed)
    report = SoakReport(seed=seed)
    with contextlib.ExitStack() as stack:
        cluster, db_url = _database(stack, database, seed)
        server = stack.enter_context(running_server(workdir / "server", db_url=db_url))
        printer = stack.enter_context(TcpPrinter())
        _traffic(
            workdir, seconds, limit, rng, report, server, printer, terminals, faults, min_sales, cluster, seed
        )
    return report


def _database(
    stack: contextlib.ExitStack, database: str, seed: int
) -> tuple[postgres.Cluster | None, str | None]:
    """The cluster the soak may kill (or ``None``) and the ``--db`` URL (``None``: SQLite)."""
    if database == "sqlite":
        return None, None
    if "MYKEY_KEY" not in os.environ and "MYKEY_KEY_FILE" not in os.environ:
        # The servers on PostgreSQL seal the ticket key with a key-encryption key of the soak's.
        # Only for the soak's own run: a key left behind seals nothing else, but the servers later
        # tests start on SQLite would take it for theirs and refuse the key beside their database.
        os.environ["MYKEY_KEY"] = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
        stack.callback(os.environ.pop, "MYKEY_KEY", None)
    if database == "postgresql":
        cluster = stack.enter_context(postgres.Cluster.throwaway())
        return cluster, postgres.create_database(cluster.url, "soak")
    name = f"mykey_soak_{seed}_{os.getpid()}"
    postgres.drop_database(database, name)
    url = postgres.create_database(database, name)
    stack.callback(postgres.drop_database, database, name)
    return None, url


def _traffic(
    workdir: pathlib.Path,
    seconds: float,
    limit: float,
    rng: random.Random,
    report: SoakReport,
    server: RunningServer,
    printer: TcpPrinter,
    terminals: int,
    faults: bool,
    min_sales: int,
    cluster: postgres.Cluster | None,
    seed: int,
) -> None:
    """The traffic and the faults for ``seconds`` (to ``limit``), then the calm and every check."""
    plan = FaultPlan(drop_answer=0.03, delay_s=0.01, seed=seed) if faults else FaultPlan(seed=seed)
    proxy = FaultProxy("127.0.0.1", server.port, plan)
    proxy.start()
    tickets_file = workdir / "tickets.json"
    tickets_file.write_text(json.dumps(issue_tickets(server, rng, 30)))
    cards = [c["card_key"] for c in server.cards.values()]
    # The shops' cards change as the city desk renews, blocks, replaces and merges them.
    desk = DeskTraffic(server, workdir / "cards.json", list(cards), random.Random(seed + 1))
    stop_file = workdir / "stop"
    fleet = []
    for i, token_name in enumerate(SHOP_TERMINALS[:terminals]):
        config = {
            "seed": seed * 100 + i,
            "journal": str(workdir / f"{token_name}.journal.db"),
            "url": proxy.url,
            "token": server.tokens[token_name],
            "printer": printer.url,
            "seconds": limit + 30,
            "stop_file": str(stop_file),
            "cards": cards,
            "cards_file": str(desk.cards_file),
            "tickets_file": str(tickets_file),
            "skew_hours": 7 if i == 1 else 0,
        }
        fleet.append(Terminal(workdir, token_name, config))
    for terminal in fleet:
        terminal.start()
    started = time.monotonic()
    next_fault = started + rng.uniform(1, 4)
    while (elapsed := time.monotonic() - started) < seconds or (
        elapsed < limit and sales_on_server(server) < min_sales
    ):
        if faults and time.monotonic() >= next_fault:
            # On a cluster of its own the first fault kills the database: a short run has one.
            first = "kill_database" if cluster is not None and not report.faults else None
            inject(rng, report, server, proxy, printer, fleet, cluster, first)
            next_fault = time.monotonic() + rng.uniform(1, 4)
        side_traffic(proxy, server, rng, report)
        desk.tick(proxy)
        for terminal in fleet:
            if (log := terminal.crashed()) is not None:
                # A terminal that falls over is a failure of the run, not slower traffic.
                report.check(f"{terminal.name} never crashes", False, log)
                terminal.start()
        time.sleep(rng.uniform(0.05, 0.2))
    report.seconds = time.monotonic() - started
    # Calm: the link and the printer heal, terminals finish what they started.
    proxy.plan.drop_answer = 0.0
    proxy.cut(False)
    printer.accept()
    stop_file.write_text("stop")
    for terminal in fleet:
        terminal.wait(timeout=60)
    stop_file.unlink()
    for terminal in fleet:
        terminal.start(seconds=0, drain=True)
    for terminal in fleet:
        terminal.wait(timeout=90)
    report.faults["answer_lost"] += proxy.counts["drop_answer"]
    report.faults["link_refused"] += proxy.counts["refused"]
    proxy.stop()
    report.desk.update({act: n for act, n in desk.counts.items() if n})
    check_invariants(server, fleet, report, desk)


def sales_on_server(server: RunningServer) -> int:
    """How many sales the server holds now (read beside the running server; 0 while its database is down)."""
    try:
        with contextlib.closing(server_db.connect(server.database, readonly=True)) as db:
            return int(db.execute("SELECT COUNT(*) FROM sales").fetchone()[0])
    except Exception:  # PostgreSQL mid-restart (kill_database): asked again next round
        return 0


def check_invariants(
    server: RunningServer, fleet: list[Terminal], report: SoakReport, desk: DeskTraffic | None = None
) -> None:
    """Every promise of DESIGN.md §5, against the server's database and each terminal's journal.

    ``mykey-server check`` includes the resident accounts' (:func:`server.residents.problems`):
    no key on two accounts, no sale of a blocked or replaced key after its block or replacement;
    ``desk`` adds what the city desk's acts promised (:meth:`DeskTraffic.check`).
    """
    check = subprocess.run(
        [sys.executable, "-m", "server.cli", "check", "--db", server.database],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    report.check("mykey-server check passes", check.returncode == 0, check.stdout + check.stderr)
    # The server's own database layer: the same queries on SQLite and on PostgreSQL.
    db = server_db.connect(server.database, readonly=True)
    (ledger_sum,) = db.execute("SELECT COALESCE(SUM(balance), 0) FROM accounts").fetchone()
    report.check("the ledger sums to zero", ledger_sum == 0, f"sum {ledger_sum}")
    negative = db.execute(
        "SELECT owner, program_id, balance FROM accounts WHERE kind = 'resident' AND balance < 0"
    ).fetchall()
    report.check("no resident balance below zero", not negative, repr(negative))
    server_sales = {
        row[0]: row[1:]
        for row in db.execute("SELECT sale_id, total, status, terminal_id, offline FROM sales").fetchall()
    }
    refused_ids = {row[0] for row in db.execute("SELECT DISTINCT sale_id FROM refused_sales")}
    twice = db.execute(
        "SELECT ticket_serial, COUNT(*) FROM transfers t JOIN sales s ON s.sale_id = t.sale_id"
        " WHERE t.kind = 'redeem_ticket' AND t.reverses_id IS NULL AND s.status = 'accepted'"
        " GROUP BY ticket_serial HAVING COUNT(*) > 1"
    ).fetchall()
    report.check("no ticket redeemed twice", not twice, repr(twice))
    journal_ids: set[str] = set()
    for terminal in fleet:
        journal = Journal(pathlib.Path(terminal.config["journal"]))
        entries = journal.of_day(dt.date.today()) + journal.of_day(dt.date.today() + dt.timedelta(days=1))
        entries += journal.of_day(dt.date.today() - dt.timedelta(days=1))
        left = journal.pending() + journal.offline_queue()
        report.check(f"{terminal.name}: nothing left pending or queued", not left, repr([e.id for e in left]))
        for entry in {e.id: e for e in entries}.values():
            journal_ids.add(entry.id)
            on_server = server_sales.get(entry.id)
            if entry.state in (EntryState.ACCEPTED, EntryState.SYNCED):
                report.sales_accepted += 1
                report.sales_offline_synced += entry.state is EntryState.SYNCED
                ok = on_server is not None and on_server[0] == entry.total
                report.check(f"{terminal.name}: accepted sale {entry.id} on the server", ok, repr(on_server))
                if entry.voided_at is not None:
                    report.voids += 1
                    ok = on_server is not None and on_server[1] == "voided"
                    report.check(f"{terminal.name}: void of {entry.id} on the server", ok, repr(on_server))
            elif entry.state is EntryState.REFUSED:
                report.sales_refused += 1
                if entry.offline:
                    ok = entry.id in refused_ids
                    report.check(f"{terminal.name}: refused offline sale {entry.id} is disputed", ok)
                else:
                    ok = on_server is None
                    report.check(f"{terminal.name}: refused sale {entry.id} not on the server", ok)
        journal.close()
    unknown = set(server_sales) - journal_ids
    report.check(
        "every sale on the server is in a terminal's journal", not unknown, repr(sorted(unknown)[:5])
    )
    if desk is not None:
        for name, ok, detail in desk.check(db):
            report.check(name, ok, detail)
    reconcile_period(server, db, report)
    db.close()


def reconcile_period(server: RunningServer, db: server_db.Connection, report: SoakReport) -> None:
    """Close this month for every chamber; claims must equal what the merchants' accounts hold."""
    period = dt.datetime.now(dt.UTC).strftime("%Y-%m")
    chambers = [row[0] for row in db.execute("SELECT id FROM chambers")]
    with server.client("admin") as http:
        for chamber in chambers:
            closed = http.post(f"/v1/periods/{period}/close", params={"chamber": chamber})
            report.check(f"close {period} for {chamber}", closed.status_code == 200, closed.text[:300])
            again = http.post(f"/v1/periods/{period}/close", params={"chamber": chamber})
            ok = again.status_code == 200 and again.json()["already_closed"]
            report.check(f"closing {period} twice for {chamber} changes nothing", ok, again.text[:300])
        answer = http.get(f"/v1/reconciliation/{period}")
    if answer.status_code != 200:
        report.check("reconciliation", False, answer.text[:300])
        return
    figures = answer.json()
    ok = figures["claims_gross"] == figures["receivables_moved"] and not figures.get("uncounted")
    report.check("claims reconcile to the transfers", ok, repr(figures))
    (held,) = db.execute("SELECT COALESCE(SUM(balance), 0) FROM accounts WHERE kind = 'merchant'").fetchone()
    moved = int(figures["receivables_moved"])
    report.check("claims cover every merchant receivable", moved == held, f"{moved} vs {held}")


def main(argv: list[str] | None = None) -> int:
    """``python -m tests.e2e.soak [--seconds N] [--seed N] [--terminals N]``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1800)
    parser.add_argument("--seed", type=int, default=random.randrange(10**6))
    parser.add_argument("--terminals", type=int, default=4)
    parser.add_argument(
        "--db",
        default="sqlite",
        help="sqlite (default), postgresql (a throwaway cluster, also killed as a fault) or postgresql://…",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mykey-soak-") as tmp:
        report = run_soak(pathlib.Path(tmp), args.seconds, args.seed, args.terminals, database=args.db)
    summary = {**report.__dict__, "faults": dict(report.faults), "desk": dict(report.desk)}
    print(json.dumps({**summary, "checks": len(report.checks)}, indent=1))
    if report.failures:
        print(f"SOAK FAILED (seed {report.seed}):", *report.failures[:20], sep="\n  ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
