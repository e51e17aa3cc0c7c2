"""pg_server_sales_per_s, pg_sale_p99_ms, pg_hot_merchant_sales_per_s, each beside noop_post_per_s.

Two ``mykey-server serve`` processes on one throwaway PostgreSQL cluster (fsync on,
synchronous_commit on, no standby); one load process with 50 keep-alive connections split
across both servers (bench_server's minimal HTTP/1.1 client), sales of one point redemption
plus one award, durable. ``spread``: clients round-robin over every demo merchant's terminal;
``hot``: every sale at one merchant, 50 cards (the merchant's receivable account is the lock
every sale takes). The ceiling ``noop_post_per_s`` is a POST the same stack answers without a
database (``POST /v1/health``: routing, middleware and the error answer, 405), measured in the
same run on the same two processes. Everything shares the machine's two cores with the load
generator and PostgreSQL, so the figures are of this machine as it was during the run.
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

from _figures import record
from bench_server import CLIENTS, WARMUP, _client

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

DURATION = float(os.environ.get("BENCH_PG_SECONDS", "6"))
SPREAD_CARDS = 200
HOT_CARDS = 50


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
    elapsed = time.perf_counter() - warm
    latencies.sort()
    return {
        "count": sum(counts),
        "per_s": sum(counts) / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000 if latencies else None,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000 if latencies else None,
        "error_count": len(errors),
        "errors": errors[:3],
    }


def load_main() -> None:
    """Entry of the load process: argv = a JSON job; prints JSON."""
    job = json.loads(sys.argv[2])
    print(
        json.dumps(asyncio.run(_load(job["urls"], job["tokens"], job["cards"], job["seconds"], job["noop"])))
    )


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


def run_load(urls: list[str], tokens: list[str], cards: list[str], noop: bool = False) -> dict[str, object]:
    job = json.dumps({"urls": urls, "tokens": tokens, "cards": cards, "seconds": DURATION, "noop": noop})
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


def main() -> None:
    import tempfile

    from tests.support.postgres import Cluster, create_database
    from tests.support.server import RunningServer, running_server

    os.environ.setdefault("MYKEY_KEY", base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
    with Cluster.throwaway() as cluster, tempfile.TemporaryDirectory() as tmp:
        url = create_database(cluster.url, "bench")
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
                spread = run_load(urls, terminals, spread_cards)
                hot = run_load(urls, [first.tokens["yamato-bakery-t1"]], hot_cards)
            finally:
                second.stop()
            check = subprocess.run(
                [sys.executable, "-m", "server.cli", "check", "--db", url],
                capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
            )  # fmt: skip
    print(check.stdout.strip().splitlines()[-1] if check.stdout.strip() else check.stderr)
    ceiling = f"ceiling noop_post_per_s {noop['per_s']:.0f}, same 2 processes, same run"
    record("noop_post_per_s", round(float(noop["per_s"])), "POST /v1/health (405) on 2 server processes")
    spread_note = f"2 processes, {CLIENTS} clients over {len(terminals)} merchants; target >= 1000"
    record("pg_server_sales_per_s", round(float(spread["per_s"])), f"{spread_note}; {ceiling}")
    record(
        "pg_sale_p99_ms",
        round(float(spread["p99_ms"]), 1),
        f"p50 {float(spread['p50_ms']):.1f} ms; target < 50",
    )  # type: ignore[arg-type]
    record("pg_hot_merchant_sales_per_s", round(float(hot["per_s"])),
           f"one merchant, {HOT_CARDS} cards; {float(hot['per_s']) / float(spread['per_s']):.2f} x spread,"
           f" target >= 0.7; p99 {float(hot['p99_ms']):.1f} ms; {ceiling}")  # type: ignore[arg-type]  # fmt: skip
    if check.returncode != 0 or spread["error_count"] or hot["error_count"]:
        sys.exit(1)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--load":
        load_main()
    else:
        main()
