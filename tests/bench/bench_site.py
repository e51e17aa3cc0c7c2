"""web_page_p95_ms (the catalogue and the resident's page) and checkout_per_s, each with a baseline.

A real ``mykey-server serve`` on the demo data and a real ``mykey-server site`` (its own uvicorn
process, a client of the API) for Miyakonojo's special site. 20 concurrent clients, each with a
session of its own (signed in through a sign-in approval marked signed in the database, as the
card helper's signature would), load ``/products`` and ``/me`` for DURATION seconds:

- ``web_page_p95_ms``: the 95th percentile of those pages (target < 100 ms), and its baseline
  ``web_static_p95_ms``, the site's stylesheet under the same load (the HTTP and the site's
  process, no page and no API call).
- ``web_catalogue_p95_ms`` and ``web_me_p95_ms``: each page alone under the same load (the
  resident's page asks the API once, its balances with its history; the catalogue is reused 2 s).
- ``checkout_per_s``: orders placed per second by 20 concurrent clients through
  ``POST /v1/shop/orders`` (each a pre-signed payment approval; one transaction: approval used,
  stock taken, points paid), and its baseline ``approval_per_s``, ``POST /v1/approvals`` by the
  same clients (a write of one row and its challenge through the same server).

Both processes share the machine's two cores with the load generator (httpx, asyncio).
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

from _figures import record

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

CLIENTS = 20
DURATION = float(os.environ.get("BENCH_SITE_SECONDS", "8"))
CHECKOUTS = int(os.environ.get("BENCH_SITE_CHECKOUTS", "300"))
SHOP = "miyakonojo-tokusen"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_site(directory: pathlib.Path, api_url: str, token: str) -> tuple[subprocess.Popen[bytes], str]:
    import httpx

    token_file = directory / "shop.token"
    token_file.write_text(token)
    port = free_port()
    command = [sys.executable, "-m", "server.cli", "site", "--api", api_url,
               "--shop-token-file", str(token_file), "--port", str(port),
               "--name", "都城市特設サイト"]  # fmt: skip
    log = (directory / "site.log").open("ab")
    process = subprocess.Popen(
        command, stdout=log, stderr=log, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/static/site.css", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the site did not start; see site.log")


def sign_in(db_target: str, card_key: str) -> None:
    """Mark every pending sign-in approval signed by ``card_key`` (what the card helper's signature does)."""
    from server import db, ledger

    conn = db.connect(db_target)
    try:
        number = conn.execute(
            "SELECT account_number FROM card_keys WHERE card_key = ?", (card_key,)
        ).fetchone()[0]
        with db.atomic(conn):
            conn.execute(
                "UPDATE approvals SET status = 'signed', signed_at = ?, card_key = ?, account_number = ?"
                " WHERE status = 'pending'",
                (ledger.iso(ledger.utc_now()), card_key, number),
            )
    finally:
        conn.close()


async def sessions(site_url: str, db_target: str, card_key: str) -> list[object]:
    import re

    import httpx

    clients = [httpx.AsyncClient(base_url=site_url, timeout=30) for _ in range(CLIENTS)]
    for client in clients:
        page = await client.get("/signin")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf
        await client.post("/signin", data={"csrf": csrf[1]})
    sign_in(db_target, card_key)
    for client in clients:
        done = await client.get("/signin/wait")
        assert done.status_code == 303 and done.headers["location"] == "/me", done.text
    return clients  # type: ignore[return-value]


async def load(clients: list[object], paths: list[str], seconds: float) -> list[float]:
    """Each client's session GETs ``paths`` in turn for ``seconds``, keep-alive; the latencies.

    The requests go out through a minimal asyncio HTTP/1.1 client (as ``bench_server``'s), each
    with its session's cookie, so that the load generator, not httpx, costs little of the cores.
    """
    latencies: list[float] = []
    until = time.perf_counter() + seconds

    async def run(client: Any, n: int) -> None:
        host, port = str(client.base_url).removeprefix("http://").rstrip("/").split(":")
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        reader, writer = await asyncio.open_connection(host, int(port))
        while time.perf_counter() < until:
            path = paths[n % len(paths)]
            n += 1
            started = time.perf_counter()
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
            assert head.startswith(b"HTTP/1.1 200"), (path, head[:40])
            latencies.append(time.perf_counter() - started)
        writer.close()

    await asyncio.gather(*(run(c, i) for i, c in enumerate(clients)))
    return latencies


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18] * 1000


async def writes(api_url: str, token: str, bodies: list[tuple[str, dict[str, object]]], expect: int) -> float:
    import httpx

    queue = list(bodies)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=api_url, headers=headers, timeout=60) as client:

        async def run() -> None:
            while queue:
                path, body = queue.pop()
                answer = await client.post(path, json=body)
                assert answer.status_code == expect, answer.text

        start = time.perf_counter()
        await asyncio.gather(*(run() for _ in range(CLIENTS)))
        return len(bodies) / (time.perf_counter() - start)


def main() -> None:
    from ulid import ULID

    from server import db, ledger
    from tests.support.server import running_server

    with tempfile.TemporaryDirectory() as tmp, running_server(pathlib.Path(tmp) / "api") as server:
        directory = pathlib.Path(tmp)
        key = str(server.cards["sato"]["card_key"])
        conn = db.connect(server.database)
        with db.atomic(conn):  # enough stock and points for every checkout
            conn.execute("UPDATE shop_products SET stock = 100000 WHERE product_id = 'nanban-stick'")
            from server import admin
            from server import demo as demo_data

            program = {p.id: p for p in demo_data.programs()}[demo_data.MIYAKONOJO_PROGRAM]
            admin.grant(conn, key, program, 2400 * CHECKOUTS)
        conn.close()
        site, site_url = start_site(directory, server.url, server.tokens[SHOP])
        try:
            clients = asyncio.run(_pages(site_url, server.database, key))
            record("web_page_p95_ms", round(clients[0], 1), f"/products and /me, {CLIENTS} clients")
            record("web_static_p95_ms", round(clients[1], 1), "baseline: the site's stylesheet, same load")
            record("web_catalogue_p95_ms", round(clients[2], 1), "/products alone")
            record("web_me_p95_ms", round(clients[3], 1), "/me alone (one API call a page)")
        finally:
            site.terminate()
            site.wait(10)
        approvals = [
            ("/v1/approvals", {"approval_id": str(ULID()), "purpose": "sign_in"}) for _ in range(CHECKOUTS)
        ]
        baseline = asyncio.run(writes(server.url, server.tokens[SHOP], approvals, 201))
        orders = []
        asks = []
        for _ in range(CHECKOUTS):
            order_id, approval_id = str(ULID()), str(ULID())
            asks.append(("/v1/approvals", {"approval_id": approval_id, "purpose": "payment",
                                           "order_id": order_id, "amount": 2400}))  # fmt: skip
            lines = [{"product_id": "nanban-stick", "quantity": 1}]
            orders.append(
                ("/v1/shop/orders", {"order_id": order_id, "approval_id": approval_id, "lines": lines})
            )
        asyncio.run(writes(server.url, server.tokens[SHOP], asks, 201))
        sign_in(server.database, key)
        rate = asyncio.run(writes(server.url, server.tokens[SHOP], orders, 201))
        record("checkout_per_s", round(rate, 1), f"{CHECKOUTS} orders, {CLIENTS} clients")
        record("approval_per_s", round(baseline, 1), "baseline: POST /v1/approvals, same clients")
        conn = db.connect(server.database)
        try:
            assert ledger.check(conn) == []
        finally:
            conn.close()


async def _pages(site_url: str, db_target: str, key: str) -> tuple[float, float, float, float]:
    clients = await sessions(site_url, db_target, key)
    await load(clients, ["/products", "/me"], 1.0)  # warm-up
    pages = await load(clients, ["/products", "/me"], DURATION)
    static = await load(clients, ["/static/site.css"], DURATION / 2)
    catalogue = await load(clients, ["/products"], DURATION / 2)
    mine = await load(clients, ["/me"], DURATION / 2)
    for client in clients:
        await client.aclose()  # type: ignore[attr-defined]
    return p95(pages), p95(static), p95(catalogue), p95(mine)


if __name__ == "__main__":
    main()
