"""Online sales against a live server on SQLite and PostgreSQL (docs/dev/online-api.md).

The payment approvals are asked through the API and marked signed in the database (the card's
signature over the challenge is the card approvals' tests' subject, with the virtual card); the
orders, cancels, refunds and the month close are the real server's.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import pathlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from ulid import ULID

from server import cli, db, ledger
from server.settlement import periods
from tests.support.server import RunningServer, running_server

SHOP = "miyakonojo-tokusen"
PROGRAM = "miyakonojo-points"


@pytest.fixture
def live(database: str, tmp_path: pathlib.Path, request: pytest.FixtureRequest) -> Iterator[RunningServer]:
    db_url = None
    if database == "postgresql":
        db_url = request.getfixturevalue("pg_cluster").create()
        request.getfixturevalue("pg_kek")
    # Two worker processes on PostgreSQL: the checkouts race across processes, not in one writer.
    with running_server(tmp_path / "live", db_url=db_url, workers=2 if db_url else 1) as server:
        yield server


def _conn(server: RunningServer) -> Any:
    return db.connect(server.database)


def _account(server: RunningServer, name: str = "sato") -> str:
    conn = _conn(server)
    try:
        key = server.cards[name]["card_key"]
        return str(
            conn.execute("SELECT account_number FROM card_keys WHERE card_key = ?", (key,)).fetchone()[0]
        )
    finally:
        conn.close()


def _balance(server: RunningServer, number: str) -> int:
    conn = _conn(server)
    try:
        found = ledger.find_account(conn, "resident", number, PROGRAM)
        return 0 if found is None else ledger.balance(conn, found)
    finally:
        conn.close()


def _check(server: RunningServer) -> list[str]:
    conn = _conn(server)
    try:
        return ledger.check(conn)
    finally:
        conn.close()


def _signed_payment(server: RunningServer, order_id: str, amount: int, name: str = "sato") -> str:
    """A payment approval asked by the site and signed (as the card helper's signature would)."""
    approval_id = str(ULID())
    with server.client(SHOP) as site:
        answer = site.post(
            "/v1/approvals",
            json={"approval_id": approval_id, "purpose": "payment", "order_id": order_id, "amount": amount},
        )
        assert answer.status_code == 201, answer.text
    conn = _conn(server)
    try:
        key = server.cards[name]["card_key"]
        number = conn.execute("SELECT account_number FROM card_keys WHERE card_key = ?", (key,)).fetchone()[0]
        with db.atomic(conn):
            conn.execute(
                "UPDATE approvals SET status = 'signed', signed_at = ?, card_key = ?, account_number = ?"
                " WHERE approval_id = ?",
                (ledger.iso(ledger.utc_now()), key, number, approval_id),
            )
    finally:
        conn.close()
    return approval_id


def _product(server: RunningServer, product_id: str, price: int, stock: int, merchant: str) -> None:
    with server.client(merchant) as shop, server.client("miyakonojo") as city:
        body = {"shop_id": SHOP, "name": f"<b>{product_id}</b>", "description": "", "price": price,
                "tax_rate": 8, "stock": stock}  # fmt: skip
        made = shop.put(f"/v1/shop/products/{product_id}", json=body)
        assert made.status_code == 201, made.text
        assert made.json()["status"] == "pending"
        assert city.post(f"/v1/shop/products/{product_id}/approve").json()["status"] == "approved"


def test_products_are_the_suppliers_own_and_a_changed_price_needs_approval_again(live: RunningServer) -> None:
    _product(live, "test-cup", 1200, 3, "shinmoe-kama")
    with live.client("shinmoe-kama") as kama, live.client("takazaki-ham") as ham, live.client(SHOP) as site:
        assert "test-cup" in {p["product_id"] for p in site.get("/v1/shop/products").json()["products"]}
        body = {"shop_id": SHOP, "name": "<b>test-cup</b>", "description": "", "price": 1200, "tax_rate": 8}
        assert (
            kama.put("/v1/shop/products/test-cup", json={**body, "stock": 9}).json()["status"] == "approved"
        )
        stolen = ham.put("/v1/shop/products/test-cup", json={**body, "stock": 0})
        assert stolen.status_code == 403 and stolen.json()["code"] == "forbidden"
        assert (
            kama.put("/v1/shop/products/test-cup", json={**body, "price": 1, "stock": 9}).json()["status"]
            == "pending"
        )
        assert "test-cup" not in {p["product_id"] for p in site.get("/v1/shop/products").json()["products"]}
        mine = {p["product_id"] for p in ham.get("/v1/shop/products").json()["products"]}
        assert mine == {"buta-tan"}
        png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
        put = kama.put("/v1/shop/products/test-cup/photo", content=png, headers={"Content-Type": "image/png"})
        assert put.status_code == 204, put.text
        got = httpx.get(live.url + "/v1/shop/products/test-cup/photo")
        assert got.content == png and got.headers["content-type"] == "image/png"
        bad = kama.put(
            "/v1/shop/products/test-cup/photo", content=b"<svg/>", headers={"Content-Type": "image/png"}
        )
        assert bad.json()["code"] == "invalid_request"


def _order(
    site: httpx.Client, live: RunningServer, lines: list[dict[str, Any]], total: int
) -> httpx.Response:
    order_id = str(ULID())
    approval = _signed_payment(live, order_id, total)
    return site.post("/v1/shop/orders", json={"order_id": order_id, "approval_id": approval, "lines": lines})


def test_an_order_pays_each_supplier_ships_refunds_once_and_the_close_keeps_the_fee(
    live: RunningServer,
) -> None:
    number = _account(live)
    before = _balance(live, number)
    lines = [{"product_id": "shinmoe-yunomi", "quantity": 2}, {"product_id": "buta-tan", "quantity": 1}]
    with live.client(SHOP) as site, live.client("shinmoe-kama") as kama, live.client("takazaki-ham") as ham:
        placed = _order(site, live, lines, 2 * 2000 + 5400)
        assert placed.status_code == 201, placed.text
        order = placed.json()
        assert order["status"] == "paid" and order["total"] == 9400
        assert order["points"] == [{"program_id": PROGRAM, "points": 9400}]
        assert [(x["merchant_id"], x["amount"]) for x in order["lines"]] == [
            ("shinmoe-kama", 4000),
            ("takazaki-ham", 5400),
        ]
        assert _balance(live, number) == before - 9400
        # The same body again answers the same order; another body under the id is refused.
        seen = kama.get(f"/v1/shop/orders/{order['order_id']}").json()
        assert [x["merchant_id"] for x in seen["lines"]] == ["shinmoe-kama"]
        shipped = kama.post(
            f"/v1/shop/orders/{order['order_id']}/lines/1/ship", json={"tracking_number": "1234-5678-9012"}
        )
        assert shipped.json()["lines"][0]["tracking_number"] == "1234-5678-9012"
        assert site.get(f"/v1/shop/orders/{order['order_id']}").json()["status"] == "partly_shipped"
        refused = site.post(f"/v1/shop/orders/{order['order_id']}/cancel")
        assert refused.status_code == 409 and refused.json()["code"] == "order_shipped"
        not_yet = ham.post(
            f"/v1/shop/orders/{order['order_id']}/lines/2/refund", json={"refund_id": "r-ham", "amount": 100}
        )
        assert not_yet.json()["code"] == "order_not_shipped"
        refund = {"refund_id": "r-1", "amount": 1000}
        assert (
            kama.post(f"/v1/shop/orders/{order['order_id']}/lines/1/refund", json=refund).status_code == 200
        )
        assert (
            kama.post(f"/v1/shop/orders/{order['order_id']}/lines/1/refund", json=refund).status_code == 200
        )
        too_much = kama.post(
            f"/v1/shop/orders/{order['order_id']}/lines/1/refund", json={"refund_id": "r-2", "amount": 3001}
        )
        assert too_much.json()["code"] == "refund_exceeds_line"
        assert _balance(live, number) == before - 9400 + 1000
        period = ledger.business_date(ledger.utc_now()).strftime("%Y-%m")
        payable = kama.get("/v1/shop/payable", params={"period": period}).json()
        assert (payable["gross"], payable["fee"], payable["net"]) == (3000, 300, 2700)
        # The city sees each supplier's line with the same fee share, the unshipped ham's included.
        with live.client("miyakonojo") as city:
            fees = city.get("/v1/shop/fees", params={"period": period}).json()
        assert [
            (x["merchant_id"], x["merchant_name"] != "", x["gross"], x["fee"], x["net"])
            for x in fees["lines"]
        ] == [
            ("shinmoe-kama", True, 3000, 300, 2700),
            ("takazaki-ham", True, 5400, 540, 4860),
        ]
        assert (fees["gross"], fees["fee"], fees["net"]) == (8400, 840, 7560)
    assert _check(live) == []
    conn = _conn(live)
    try:
        periods.close(conn, "miyakonojo-cci", periods.parse_period(period), "test")
        claims = {
            row[0]: tuple(row[1:])
            for row in conn.execute(
                "SELECT merchant_id, online, online_fee, gross, fee, net FROM claims WHERE period_id = ?",
                (period,),
            )
        }
    finally:
        conn.close()
    assert claims["shinmoe-kama"] == (3000, 300, 3000, 300, 2700)
    assert claims["takazaki-ham"] == (5400, 540, 5400, 540, 4860)
    assert _check(live) == []
    # The statement shows the online sales and their fee on lines of their own (オンライン販売, 手数料).
    with live.client("shinmoe-kama") as kama:
        doc = kama.get(f"/v1/statements/shinmoe-kama/{period}").json()
        line = next(c for c in doc["claims"] if c["program_id"] == PROGRAM)
        assert (line["online"], line["online_fee"], line["counter_fee"], line["net"]) == (3000, 300, 0, 2700)
        assert line["online_count"] == 2  # the line's points, and its refund
        csv = kama.get(f"/v1/statements/shinmoe-kama/{period}", params={"format": "csv"}).content.decode(
            "utf-8-sig"
        )
        header, first = csv.splitlines()[:2]
        row = dict(zip(header.split(","), first.split(","), strict=True))
        assert (row["オンライン販売"], row["手数料（オンライン）"], row["支払額"]) == ("3000", "300", "2700")


async def _post_all(live: RunningServer, requests: list[tuple[str, dict[str, Any]]], who: str) -> list[Any]:
    limits = httpx.Limits(max_connections=20)
    headers = {"Authorization": f"Bearer {live.tokens[who]}"}
    async with httpx.AsyncClient(base_url=live.url, headers=headers, limits=limits, timeout=60) as client:
        answers = await asyncio.gather(*(client.post(path, json=body) for path, body in requests))
    return [(a.status_code, a.json()) for a in answers]


def test_a_hundred_checkouts_for_the_last_five_items_make_five_orders(live: RunningServer) -> None:
    _product(live, "last-five", 100, 5, "miyako-chicken")
    requests = []
    for _ in range(100):
        order_id = str(ULID())
        approval = _signed_payment(live, order_id, 100)
        lines = [{"product_id": "last-five", "quantity": 1}]
        requests.append(("/v1/shop/orders", {"order_id": order_id, "approval_id": approval, "lines": lines}))
    number = _account(live)
    before = _balance(live, number)
    answers = asyncio.run(_post_all(live, requests, SHOP))
    placed = [body for status, body in answers if status == 201]
    refused = [body["code"] for status, body in answers if status != 201]
    assert len(placed) == 5
    assert set(refused) == {"out_of_stock"} and len(refused) == 95
    conn = _conn(live)
    try:
        stock = conn.execute("SELECT stock FROM shop_products WHERE product_id = 'last-five'").fetchone()[0]
        orders = conn.execute("SELECT COUNT(*) FROM shop_orders").fetchone()[0]
        used = conn.execute("SELECT COUNT(*) FROM approvals WHERE status = 'used'").fetchone()[0]
    finally:
        conn.close()
    assert (stock, orders, used) == (0, 5, 5)
    assert _balance(live, number) == before - 500
    assert _check(live) == []
    assert cli.main(["check", "--db", live.database]) == 0  # what an operator runs


def test_cancels_and_refunds_replayed_ten_times_at_once_give_points_back_once(live: RunningServer) -> None:
    number = _account(live)
    start = _balance(live, number)
    with live.client(SHOP) as site, live.client("takazaki-ham") as ham:
        kept = _order(site, live, [{"product_id": "buta-tan", "quantity": 1}], 5400).json()
        dropped = _order(site, live, [{"product_id": "nanban-stick", "quantity": 2}], 4800).json()
        ham.post(f"/v1/shop/orders/{kept['order_id']}/lines/1/ship", json={"tracking_number": "TN-1"})
    assert _balance(live, number) == start - 10_200
    cancel = [(f"/v1/shop/orders/{dropped['order_id']}/cancel", {})] * 10
    answers = asyncio.run(_post_all(live, cancel, SHOP))
    assert {status for status, _ in answers} == {200}
    assert {body["status"] for _, body in answers} == {"cancelled"}
    refund = [
        (f"/v1/shop/orders/{kept['order_id']}/lines/1/refund", {"refund_id": "half", "amount": 2700})
    ] * 10
    answers = asyncio.run(_post_all(live, refund, "takazaki-ham"))
    assert {status for status, _ in answers} == {200}
    assert _balance(live, number) == start - 5400 + 2700
    conn = _conn(live)
    try:
        stock = conn.execute("SELECT stock FROM shop_products WHERE product_id = 'nanban-stick'").fetchone()[
            0
        ]
        refunds = conn.execute("SELECT COUNT(*), SUM(amount) FROM shop_refunds").fetchone()
    finally:
        conn.close()
    assert stock == 30 and tuple(refunds) == (1, 2700)
    with live.client("miyako-chicken") as chicken, live.client(SHOP) as site:
        late = chicken.post(f"/v1/shop/orders/{dropped['order_id']}/lines/1/accept")
        assert late.status_code == 409 and late.json()["code"] == "order_cancelled"
        # The site refunds too (its own refund id); the line's refunds stay within its amount.
        more = site.post(
            f"/v1/shop/orders/{kept['order_id']}/lines/1/refund", json={"refund_id": "site-1", "amount": 2700}
        )
        assert more.status_code == 200 and more.json()["lines"][0]["refunded"] == 5400
        over = site.post(
            f"/v1/shop/orders/{kept['order_id']}/lines/1/refund", json={"refund_id": "site-2", "amount": 1}
        )
        assert over.json()["code"] == "refund_exceeds_line"
    assert _balance(live, number) == start
    assert _check(live) == []
    _ = dt
