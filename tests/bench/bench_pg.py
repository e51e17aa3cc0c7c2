"""The PostgreSQL figures: sales per second, p99 (closed and open loop), the hot merchant, the close.

Two ``mykey-server serve`` processes on one throwaway PostgreSQL cluster (fsync on,
synchronous_commit on, no standby); one load process with 50 keep-alive connections split
across both servers (bench_server's minimal HTTP/1.1 client), sales of one point redemption
plus one award, durable. ``spread``: clients round-robin over every demo merchant's terminal;
``hot``: every sale at one merchant, 50 cards (the merchant's receivable account is the lock
every sale takes). The ceiling ``noop_post_per_s`` is a POST the same stack answers without a
database (``POST /v1/health``: routing, middleware and the error answer, 405), measured in the
same run on the same two processes. Everything shares the machine's two cores with the load
generator and PostgreSQL, so the figures are of this machine as it was during the run.

``pg_sale_p99_ms`` is the closed-loop p99 at saturation: with 50 clients always waiting, the mean
latency is 50 / rate, so the figure says more about the rate than about what one counter sees.
``pg_sale_p99_at_rate_ms`` is measured beside it (it does not replace it): the same sales offered
open loop at a fixed rate (``BENCH_PG_RATE``, 1,000/s: issue 13's throughput line), each sale's
latency counted from the moment it was due, with the generator's own lag printed beside it.

``pg_sale_statements`` is how many statements PostgreSQL ran per sale in a short spread load after
the timed ones (pg_stat_statements, its utility statements too: BEGIN, SET, COMMIT), with the
statements that most of that number is made of printed below it. Each is a round trip of the
writer or of the event loop, and, unlike the timings, the count does not move with the host: the
cluster preloads the module with tracking off (``pg_stat_statements.track = none``) and turns it
on for that load only. ``host_loop_ms`` (one fixed Python loop, best of five, at the start and
at the end of the run) says how fast the shared cores were meanwhile.

The cluster is new, and a new cluster makes each 16 MB WAL segment as it first needs it (written
through and flushed): at these rates one every 3-4 s, and each stalled every sale on both servers
for ~60 ms, the worst moments of a run. A server that has run a while renames old segments instead
(``wal_recycle``), so before the loads :func:`warm_wal` has the cluster make :data:`WAL_SEGMENTS`
and recycle them at a checkpoint, as such a server holds them.

``pg_close_1m_s`` is bench_settlement's ``close_1m_s`` on PostgreSQL: the same 1,000,000
redemptions and 10,000 voids by 500 merchants (loaded with COPY, then ANALYZE as autovacuum would),
one chamber's close of the month, in a child process whose peak memory is ``pg_close_1m_peak_mb``
(the client's; the backend works within ``work_mem``); ``pg_close_1m_baseline_scan_s`` is one
plain ``GROUP BY`` over the transfers on the same database.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import pathlib
import secrets
import subprocess
import sys
import time

from _figures import host_loop_ms, record
from bench_server import CLIENTS, WARMUP, _client, cpu_seconds, read_answer, refusal, sale_request

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

DURATION = float(os.environ.get("BENCH_PG_SECONDS", "6"))
#: The open-loop run's rate (sales/s): sales sent on a fixed schedule, whatever the answers do.
OPEN_RATE = int(os.environ.get("BENCH_PG_RATE", "1000"))
#: The length of the load whose statements are counted (s, after its warm-up).
COUNTED_SECONDS = float(os.environ.get("BENCH_PG_COUNTED_SECONDS", "2"))
#: Loaded with tracking off, so the timed loads run without it.
STATEMENTS_MODULE = {"shared_preload_libraries": "'pg_stat_statements'", "pg_stat_statements.track": "none"}
#: WAL segments made and recycled before the loads (16 MB each): more than all the loads write.
WAL_SEGMENTS = 32
SPREAD_CARDS = 200
HOT_CARDS = 50
CLOSE = """
import datetime as dt, resource, sys, time
from server import db
from server.settlement import periods
conn = db.connect(sys.argv[1])
started = time.perf_counter()
result = periods.close(conn, "bench-cci", periods.parse_period("2026-11"), "bench",
                       now=dt.datetime(2026, 12, 2, tzinfo=dt.UTC))
print(time.perf_counter() - started, result.transfers, result.claims, result.gross,
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


async def _noop(host: str, port: int, until: float, warm: float) -> int:
    reader, writer = await asyncio.open_connection(host, port)
    done = 0
    request = f"POST /v1/health HTTP/1.1\r\nHost: {host}\r\nContent-Length: 2\r\n\r\n{{}}".encode()
    while time.perf_counter() < until:
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(h.split(b":")[1]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length:")
        )
        await reader.readexactly(length)
        if time.perf_counter() >= warm:
            done += 1
    writer.close()
    return done


async def _load(
    urls: list[str], tokens: list[str], cards: list[str], seconds: float, noop: bool
) -> dict[str, object]:
    start = time.perf_counter()
    warm, until = start + WARMUP, start + WARMUP + seconds
    latencies: list[float] = []
    errors: list[str] = []
    jobs = []
    for i in range(CLIENTS):
        host, port = urls[i % len(urls)].removeprefix("http://").split(":")
        if noop:
            jobs.append(_noop(host, int(port), until, warm))
        else:
            jobs.append(
                _client(host, int(port), tokens[i % len(tokens)], cards, i, until, warm, latencies, errors)
            )
    counts = await asyncio.gather(*jobs)
    return _summary(sum(counts), time.perf_counter() - warm, latencies, errors)


def _ms(values: list[float], share: float) -> float | None:
    """The value (seconds) that ``share`` of ``values`` do not exceed, in ms; ``None`` when there are none."""
    return sorted(values)[int(len(values) * share)] * 1000 if values else None


def _summary(count: int, elapsed: float, latencies: list[float], errors: list[str]) -> dict[str, object]:
    """A load's figures: how many sales were answered, how fast, their p50 and p99, what failed."""
    return {
        "count": count,
        "per_s": count / elapsed,
        "p50_ms": _ms(latencies, 0.5),
        "p99_ms": _ms(latencies, 0.99),
        "error_count": len(errors),
        "errors": errors[:3],
    }


async def _open_loop(
    urls: list[str], tokens: list[str], cards: list[str], seconds: float, rate: int
) -> dict[str, object]:
    """Sales sent at ``rate`` a second on a fixed schedule over up to CLIENTS keep-alive connections.

    A sale's latency counts from the moment it was due, not from when a connection was free or
    the generator got round to it, so a stall is counted in full for every sale it held up (no
    coordinated omission).
    """
    pool: asyncio.Queue[tuple[str, str, asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for i in range(CLIENTS):
        host, port = urls[i % len(urls)].removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        pool.put_nowait((host, tokens[i % len(tokens)], reader, writer))
    latencies: list[float] = []
    lags: list[float] = []
    errors: list[str] = []
    start = time.perf_counter()
    warm = start + WARMUP

    async def one(n: int, due: float) -> None:
        connection = await pool.get()
        host, token, reader, writer = connection
        if due >= warm:
            lags.append(time.perf_counter() - due)
        writer.write(sale_request(host, token, cards[n % len(cards)], n))
        head, answer = await read_answer(reader)
        pool.put_nowait(connection)
        error = refusal(head, answer)
        if error is not None:
            errors.append(error)
        elif due >= warm:
            latencies.append(time.perf_counter() - due)

    tasks = []
    for n in range(int((WARMUP + seconds) * rate)):
        due = start + n / rate
        if (wait := due - time.perf_counter()) > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(one(n, due)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - warm
    for _host, _token, _reader, writer in [pool.get_nowait() for _ in range(pool.qsize())]:
        writer.close()
    return {**_summary(len(latencies), elapsed, latencies, errors), "lag_p99_ms": _ms(lags, 0.99)}


def load_main() -> None:
    """Entry of the load process: argv = a JSON job; prints JSON."""
    job = json.loads(sys.argv[2])
    if job.get("rate"):
        run = _open_loop(job["urls"], job["tokens"], job["cards"], job["seconds"], job["rate"])
    else:
        run = _load(job["urls"], job["tokens"], job["cards"], job["seconds"], job["noop"])
    print(json.dumps(asyncio.run(run)))


def warm_wal(cluster_url: str, segments: int) -> None:
    """Have the cluster make ``segments`` WAL segments and recycle them, as a server that has run a while."""
    import psycopg

    with psycopg.connect(cluster_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE wal_warm_up (filler text)")
        for _ in range(segments):
            conn.execute("INSERT INTO wal_warm_up VALUES ('x')")  # a switch needs something written since
            conn.execute("SELECT pg_switch_wal()")
        conn.execute("DROP TABLE wal_warm_up")
        conn.execute("CHECKPOINT")  # the segments before it are renamed to be the next ones


def fund(url: str, count: int, tag: str) -> list[str]:
    import hashlib

    from server import admin, db
    from server import demo as demo_data

    program = {p.id: p for p in demo_data.programs()}["tenri-megumi"]
    keys = ["uid:" + hashlib.sha256(f"bench-{tag}-{n}".encode()).hexdigest() for n in range(count)]
    conn = db.connect(url)
    with db.atomic(conn):
        for key in keys:
            admin.grant(conn, key, program, 10_000_000)
    conn.close()
    return keys


def run_load(
    urls: list[str],
    tokens: list[str],
    cards: list[str],
    noop: bool = False,
    rate: int = 0,
    seconds: float = DURATION,
) -> dict[str, object]:
    job = json.dumps(
        {"urls": urls, "tokens": tokens, "cards": cards, "seconds": seconds, "noop": noop, "rate": rate}
    )
    out = subprocess.run(
        [sys.executable, __file__, "--load", job], capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    if out.returncode:
        sys.exit(f"the load process failed:\n{out.stderr[-3000:]}")
    result: dict[str, object] = json.loads(out.stdout)
    if result["error_count"]:
        print("errors:", result["error_count"], result["errors"], file=sys.stderr)
    return result


def count_statements(
    cluster_url: str, url: str, urls: list[str], tokens: list[str], cards: list[str]
) -> tuple[float, list[tuple[float, str]]]:
    """Statements PostgreSQL ran per sale in a short spread load, and the commonest ones per sale."""
    import psycopg

    with psycopg.connect(cluster_url, autocommit=True) as admin, psycopg.connect(url, autocommit=True) as own:
        admin.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        admin.execute("ALTER SYSTEM SET pg_stat_statements.track = 'top'")
        admin.execute("SELECT pg_reload_conf()")
        time.sleep(1)  # the postmaster passes the reload on to the servers' sessions
        (database,) = own.execute("SELECT oid FROM pg_database WHERE datname = current_database()").fetchone()
        (before,) = own.execute("SELECT count(*) FROM sales").fetchone()
        admin.execute("SELECT pg_stat_statements_reset()")
        run_load(urls, tokens, cards, seconds=COUNTED_SECONDS)
        rows = admin.execute(
            "SELECT calls, query FROM pg_stat_statements WHERE dbid = %s ORDER BY calls DESC", (database,)
        ).fetchall()
        (after,) = own.execute("SELECT count(*) FROM sales").fetchone()
        admin.execute("ALTER SYSTEM RESET pg_stat_statements.track")
        admin.execute("SELECT pg_reload_conf()")
    sales = after - before
    assert sales > 0, "no sale in the counted load"
    commonest = [(calls / sales, " ".join(query.split())) for calls, query in rows]
    return sum(calls for calls, _ in rows) / sales, commonest


def bench_close(cluster_url: str) -> None:
    """pg_close_1m_s and its peak memory, on a database of its own on the same cluster."""
    import bench_settlement

    from tests.support.postgres import create_database

    url = create_database(cluster_url, "close")
    started = time.perf_counter()
    expected = bench_settlement.build(url)
    print(
        f"generated {bench_settlement.SALES:,} sales on PostgreSQL in {time.perf_counter() - started:.1f} s"
    )
    from server import db

    conn = db.connect(url)
    started = time.perf_counter()
    conn.execute("SELECT merchant_id, program_id, SUM(amount) FROM transfers GROUP BY 1, 2").fetchall()
    baseline = time.perf_counter() - started
    conn.close()
    out = subprocess.run(
        [sys.executable, "-c", CLOSE, url], capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    ).stdout.split()  # fmt: skip
    seconds, transfers, claims, gross, peak_mb = (
        float(out[0]),
        int(out[1]),
        int(out[2]),
        int(out[3]),
        float(out[4]),
    )
    sales = bench_settlement.SALES
    assert transfers == sales + bench_settlement.VOIDS and claims == bench_settlement.MERCHANTS * 2, out
    assert gross == expected, out
    record("pg_close_1m_s", round(seconds, 2), f"target < 10 s; {seconds / baseline:.1f}x the plain scan")
    record("pg_close_1m_peak_mb", round(peak_mb, 1), "the closing process's peak resident memory")
    record("pg_close_1m_baseline_scan_s", round(baseline, 2), "one GROUP BY over the transfers")


def main() -> None:
    import tempfile

    from tests.support.postgres import Cluster, create_database
    from tests.support.server import RunningServer, running_server

    os.environ.setdefault("MYKEY_KEY", base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
    loop_before = host_loop_ms()
    with Cluster.throwaway(STATEMENTS_MODULE) as cluster, tempfile.TemporaryDirectory() as tmp:
        url = create_database(cluster.url, "bench")
        warm_wal(cluster.url, WAL_SEGMENTS)
        directory = pathlib.Path(tmp)
        with running_server(directory / "a", db_url=url) as first:
            spread_cards, hot_cards = fund(url, SPREAD_CARDS, "spread"), fund(url, HOT_CARDS, "hot")
            second = RunningServer(
                directory / "b", directory / "b" / "unused.db", first.tokens, first.cards, db_url=url
            )
            second.directory.mkdir()
            second.start()
            try:
                urls = [first.url, second.url]
                terminals = [token for name, token in first.tokens.items() if name.endswith("-t1")]
                noop = run_load(urls, [], [], noop=True)
                pids = [server.process.pid for server in (first, second) if server.process is not None]
                postmaster = cluster.postmaster_pid()
                assert postmaster is not None
                before = sum(cpu_seconds(pid) for pid in pids), cpu_seconds(postmaster)
                spread = run_load(urls, terminals, spread_cards)
                after = sum(cpu_seconds(pid) for pid in pids), cpu_seconds(postmaster)
                hot = run_load(urls, [first.tokens["yamato-bakery-t1"]], hot_cards)
                steady = run_load(urls, terminals, spread_cards, rate=OPEN_RATE)
                per_sale, statements = count_statements(cluster.url, url, urls, terminals, spread_cards)
            finally:
                second.stop()
            check = subprocess.run(
                [sys.executable, "-m", "server.cli", "check", "--db", url],
                capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
            )  # fmt: skip
        if os.environ.get("BENCH_PG_CLOSE", "1") != "0":
            bench_close(cluster.url)
    print(check.stdout.strip().splitlines()[-1] if check.stdout.strip() else check.stderr)
    loop_after = host_loop_ms()
    ceiling = f"ceiling noop_post_per_s {noop['per_s']:.0f}, same 2 processes, same run"
    record("noop_post_per_s", round(float(noop["per_s"])), "POST /v1/health (405) on 2 server processes")
    spread_note = f"2 processes, {CLIENTS} clients over {len(terminals)} merchants; target >= 1000"
    record("pg_server_sales_per_s", round(float(spread["per_s"])), f"{spread_note}; {ceiling}")
    record(
        "pg_sale_p99_ms",
        round(float(spread["p99_ms"]), 1),
        f"p50 {float(spread['p50_ms']):.1f} ms; target < 50",
    )  # type: ignore[arg-type]
    record(
        "pg_sale_p99_at_rate_ms",
        round(float(steady["p99_ms"]), 1),  # type: ignore[arg-type]
        f"open loop: {OPEN_RATE} sales/s offered on a fixed schedule, {float(steady['per_s']):.0f} answered;"
        f" latency from each sale's due moment; p50 {float(steady['p50_ms']):.1f} ms;"  # type: ignore[arg-type]
        f" generator lag p99 {float(steady['lag_p99_ms']):.1f} ms",  # type: ignore[arg-type]
    )
    record("pg_hot_merchant_sales_per_s", round(float(hot["per_s"])),
           f"one merchant, {HOT_CARDS} cards; {float(hot['per_s']) / float(spread['per_s']):.2f} x spread,"
           f" target >= 0.7; p99 {float(hot['p99_ms']):.1f} ms; {ceiling}")  # type: ignore[arg-type]  # fmt: skip
    # Where the time goes: CPU a sale costs in the two server processes and in PostgreSQL's backends
    # (the warm-up's sales are sent too: counted in by the same ratio as bench_server does).
    sent = float(spread["count"]) * (DURATION + WARMUP) / DURATION
    record(
        "pg_sale_cpu_ms",
        round((after[0] - before[0]) / sent * 1000, 3),
        f"the 2 server processes, spread run; PostgreSQL {(after[1] - before[1]) / sent * 1000:.3f} ms;"
        f" load average {os.getloadavg()[0]:.1f}",
    )
    record(
        "pg_sale_statements",
        round(per_sale, 2),
        "statements PostgreSQL ran a sale (pg_stat_statements), spread load, 2 processes; each a round trip",
    )
    for share, query in statements[:16]:
        if share >= 0.05:
            print(f"  {share:5.2f}  {query[:110]}")
    record(
        "host_loop_ms",
        round(loop_before, 1),
        f"one fixed Python loop, best of 5, at bench_pg's start; {loop_after:.1f} at its end",
    )
    if check.returncode != 0 or spread["error_count"] or hot["error_count"] or steady["error_count"]:
        sys.exit(1)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--load":
        load_main()
    else:
        main()
