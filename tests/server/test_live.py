"""Against a real server (uvicorn subprocess on 127.0.0.1): concurrency, retries across a restart, TLS."""

from __future__ import annotations

import asyncio
import pathlib
import random
import subprocess
import sys

import httpx
import pytest

from server import db
from tests.server.helpers import TENRI, issue, sale
from tests.server.pki import make_ca, make_server_cert
from tests.support.server import ROOT, RunningServer, TlsFiles, running_server

SHOPS = ["yamato-bakery-t1", "sakura-books-t1", "tenri-yu-t1", "kitasato-mart-t1", "midori-cafe-t1"]
CLIENTS = 50


def mykey_server(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args], capture_output=True, text=True, cwd=ROOT, check=False
    )


async def test_fifty_concurrent_clients_never_overspend_or_reuse_a_ticket(
    live_server_on_each: RunningServer,
) -> None:
    cards = [live_server_on_each.cards[name]["card_key"] for name in ("sato", "suzuki", "takahashi")]
    with live_server_on_each.client("tenri-counter-1") as counter:
        answer = counter.post("/v1/tickets/issue", json=issue([10_000] * 4))  # 4 × 1,000-point tickets
        tickets = [t["text"] for t in answer.json()["tickets"]]
    assert len(tickets) == 4
    rng = random.Random(7)
    accepted: dict[str, dict] = {}
    card_of: dict[str, str] = {}
    refused: dict[str, str] = {}

    async def client(number: int) -> None:
        token = live_server_on_each.tokens[SHOPS[number % len(SHOPS)]]
        async with httpx.AsyncClient(
            base_url=live_server_on_each.url, headers={"Authorization": f"Bearer {token}"}
        ) as http:
            for _ in range(4):
                points = rng.randrange(300, 1600, 100)
                body = sale(rng.choice(cards), total=2000, points={TENRI: points}, cash=2000 - points)
                if rng.random() < 0.3:
                    body = {**body, "tickets": [{"text": rng.choice(tickets)}], "cash": 2000}
                reply = await http.post("/v1/sales", json=body, timeout=30)
                if reply.status_code == 200:
                    accepted[body["sale_id"]] = reply.json()
                    card_of[body["sale_id"]] = body["card_key"]
                else:
                    assert reply.status_code == 409, reply.text
                    refused[body["sale_id"]] = reply.json()["code"]

    await asyncio.gather(*(client(n) for n in range(CLIENTS)))
    assert len(accepted) + len(refused) == CLIENTS * 4
    assert set(refused.values()) <= {"insufficient_points", "ticket_already_redeemed"}
    assert "insufficient_points" in refused.values()  # the shared balances did run out
    conn = db.connect(live_server_on_each.database, readonly=True)
    stored = {row[0] for row in conn.execute("SELECT sale_id FROM sales")}
    assert stored == set(accepted)
    redeemed = [t["serial"] for result in accepted.values() for t in result["tickets"]]
    assert len(redeemed) == len(set(redeemed)) <= 4
    for card in cards:
        spent = sum(
            p["points"] for sale_id, r in accepted.items() for p in r["points"] if card_of[sale_id] == card
        )
        balance = conn.execute(
            "SELECT a.balance FROM accounts a JOIN card_keys k ON k.account_number = a.owner"
            " WHERE a.kind = 'resident' AND k.card_key = ? AND a.program_id = ?",
            (card, TENRI),
        ).fetchone()[0]
        assert balance == 5000 - spent >= 0
    check = mykey_server("check", "--db", live_server_on_each.database)
    assert check.returncode == 0, check.stdout


def test_a_sale_sent_many_times_in_parallel_and_after_a_sigkill_restart_applies_once(
    live_server_on_each: RunningServer,
) -> None:
    card = live_server_on_each.cards["sato"]["card_key"]
    body = sale(card, total=3000, points={TENRI: 1200}, awards=[TENRI])

    async def send_all(times: int) -> list[httpx.Response]:
        token = live_server_on_each.tokens["yamato-bakery-t1"]
        async with httpx.AsyncClient(
            base_url=live_server_on_each.url, headers={"Authorization": f"Bearer {token}"}
        ) as http:
            return await asyncio.gather(*(http.post("/v1/sales", json=body) for _ in range(times)))

    answers = asyncio.run(send_all(10))
    assert {a.status_code for a in answers} == {200}
    assert len({a.content for a in answers}) == 1
    live_server_on_each.restart()  # SIGKILL, as a power cut would, then start again on the same database
    after = asyncio.run(send_all(3))
    assert {a.content for a in after} == {answers[0].content}
    conn = db.connect(live_server_on_each.database, readonly=True)
    assert conn.execute("SELECT COUNT(*) FROM sales WHERE sale_id = ?", (body["sale_id"],)).fetchone()[0] == 1
    assert (
        conn.execute("SELECT COUNT(*) FROM transfers WHERE sale_id = ?", (body["sale_id"],)).fetchone()[0]
        == 2
    )
    with live_server_on_each.client("yamato-bakery-t1") as http:
        lookup = http.post("/v1/cards/lookup", json={"card_key": card}).json()
        assert http.get(f"/v1/sales/{body['sale_id']}").content == answers[0].content
    assert {b["program_id"]: b["points"] for b in lookup["balances"]}[TENRI] == 5000 - 1200 + 100
    assert mykey_server("check", "--db", live_server_on_each.database).returncode == 0


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    directory = tmp_path_factory.mktemp("tls")
    ca = make_ca("Test server CA")
    cert, key = make_server_cert(ca)
    files = TlsFiles(directory / "server.pem", directory / "server.key", directory / "ca.pem")
    files.cert.write_bytes(cert)
    files.key.write_bytes(key)
    files.ca.write_bytes(ca.pem)
    return files


def test_the_server_speaks_tls_verified_against_the_configured_ca(
    tmp_path: pathlib.Path, tls_files: TlsFiles
) -> None:
    with running_server(tmp_path / "tls", tls=tls_files) as server:
        assert server.url.startswith("https://127.0.0.1:")
        with server.client("yamato-bakery-t1") as http:
            assert http.get("/v1/terminal/config").json()["merchant"]["id"] == "yamato-bakery"
            assert http.post("/v1/sales", json=sale(total=500)).status_code == 200
        with pytest.raises(httpx.ConnectError):  # the system CAs do not know the test CA
            httpx.get(server.url + "/v1/health", verify=True)
        asyncio.run(_site_api_over_tls(server, tls_files))


async def _site_api_over_tls(server: RunningServer, tls_files: TlsFiles) -> None:
    """The special site's client (a pool of connections, one TLS context) trusts ``--api-ca`` only."""
    from server.site.client import Api, SiteError

    api = Api(server.url, server.tokens["miyakonojo-tokusen"], verify=str(tls_files.ca))
    try:
        answers = await asyncio.gather(*(api.json("GET", "/v1/shop/products") for _ in range(5)))
        assert all(a["products"] for a in answers)
    finally:
        await api.close()
    untrusting = Api(server.url, server.tokens["miyakonojo-tokusen"])
    try:
        with pytest.raises(SiteError) as refused:
            await untrusting.json("GET", "/v1/shop/products")
        assert refused.value.code == "unreachable"
    finally:
        await untrusting.close()


def test_two_worker_processes_share_one_ledger(tmp_path: pathlib.Path) -> None:
    with running_server(tmp_path / "workers", workers=2) as server:
        card = server.cards["takahashi"]["card_key"]

        async def send() -> list[httpx.Response]:
            token = server.tokens["yamato-bakery-t1"]
            async with httpx.AsyncClient(
                base_url=server.url, headers={"Authorization": f"Bearer {token}"}
            ) as http:
                bodies = [sale(card, total=500, points={TENRI: 100}) for _ in range(40)]
                return await asyncio.gather(*(http.post("/v1/sales", json=b, timeout=30) for b in bodies))

        answers = asyncio.run(send())
        assert [a.status_code for a in answers] == [200] * 40
        with server.client("yamato-bakery-t1") as http:
            lookup = http.post("/v1/cards/lookup", json={"card_key": card}).json()
        assert {b["program_id"]: b["points"] for b in lookup["balances"]}[TENRI] == 5000 - 40 * 100
    assert mykey_server("check", "--db", str(server.db_path)).returncode == 0
