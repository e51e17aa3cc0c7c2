"""The special site's shop over the real server app: catalogue, cart, checkout by card, cancel, back office.

The site talks to the server's app through httpx (ASGI), as over the network; a test card of a CA
the database trusts signs the payment approval as the card helper would. Miyakonojo's demo site,
shops and products are the demo data's.
"""

from __future__ import annotations

import pathlib
import re
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from server import db, ledger
from server.app import create_app
from server.demo import MIYAKONOJO_BALANCE, MIYAKONOJO_PROGRAM, MIYAKONOJO_SHOP
from server.settlement import periods
from server.site.app import create_site
from server.site.client import Api
from tests.server.conftest import Clock, Demo
from tests.server.pki import Authority, Card, make_ca, make_card


@pytest.fixture(scope="module")
def ca() -> Authority:
    return make_ca()


@pytest.fixture(scope="module")
def card(ca: Authority) -> Card:
    return make_card(ca)


class World:
    def __init__(self, server: httpx.AsyncClient, browser: httpx.AsyncClient, demo: Demo) -> None:
        self.server, self.browser, self.demo = server, browser, demo
        self.office = httpx.AsyncClient(transport=browser._transport, base_url="http://site")

    async def csrf(self, path: str, client: httpx.AsyncClient | None = None) -> str:
        page = await (client or self.browser).get(path)
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert found, page.text
        return found[1]

    async def approve(self, wait_path: str, card: Card) -> httpx.Response:
        """Read the code off the waiting page, sign it with the card (the helper's part), reload."""
        wait = await self.browser.get(wait_path)
        # The code as the page shows it (a random token elsewhere on the page can look like one).
        code = re.search(r'class="user-code"[^>]*><strong[^>]*>([A-Z0-9]{4}-[A-Z0-9]{4})<', wait.text)
        assert code, wait.text
        found = (await self.server.post("/v1/approvals/lookup", json={"user_code": code[1]})).json()
        proof = card.proof({"challenge_id": found["challenge_id"], "nonce": found["nonce"]})
        signed = await self.server.post("/v1/approvals/sign", json={"user_code": code[1], "pin_proof": proof})
        assert signed.status_code == 200, signed.text
        return await self.browser.get(wait_path)

    async def buy(self, product_id: str, quantity: int, card: Card) -> str:
        token = await self.csrf("/products")
        added = await self.browser.post(
            "/cart",
            data={"csrf": token, "product_id": product_id, "quantity": str(quantity), "action": "add"},
        )
        assert added.status_code == 303
        token = await self.csrf("/cart")
        started = await self.browser.post("/checkout", data={"csrf": token})
        assert started.status_code == 303 and started.headers["location"] == "/checkout/wait", started.text
        done = await self.approve("/checkout/wait", card)
        assert done.status_code == 303, done.text
        return str(done.headers["location"]).rsplit("/", 1)[1]

    async def office_sign_in(self, who: str) -> None:
        token = await self.csrf("/office", self.office)
        answer = await self.office.post(
            "/office/signin", data={"csrf": token, "token": self.demo.tokens[who]}
        )
        assert answer.status_code == 303, answer.text


@pytest.fixture
async def world(
    tmp_path: pathlib.Path, ca: Authority, card: Card, clock: Clock, fresh_demo: Callable[..., Demo]
) -> AsyncIterator[World]:
    demo = fresh_demo(tmp_path / "site", card_keys=[card.card_key], trust_ca=[ca.pem])
    app = create_app(demo.db_path, clock=clock)
    server = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api")
    api = Api("http://api", demo.tokens[MIYAKONOJO_SHOP[0]], transport=httpx.ASGITransport(app=app))
    site = create_site(api, name=MIYAKONOJO_SHOP[1])
    browser = httpx.AsyncClient(transport=httpx.ASGITransport(app=site), base_url="http://site")
    world = World(server, browser, demo)
    yield world
    await world.office.aclose()
    await browser.aclose()
    await server.aclose()
    await api.close()
    app.state.store.close()


async def test_the_catalogue_shows_price_rate_stock_and_shop_without_signing_in(world: World) -> None:
    page = await world.browser.get("/products")
    assert page.status_code == 200
    for text in (
        "〈玉〉金霧島",
        "9,500円",
        "税込・消費税10%",
        "豚タンの燻製",
        "消費税8% 軽減税率",
        "高崎ハム工房",
    ):
        assert text in page.text.replace("&lt;", "<").replace("&gt;", ">").replace("&#x3008;", "〈"), text
    assert "在庫: 5点" in page.text  # the vase
    assert 'src="/photos/kin-kirishima" alt="〈玉〉金霧島 720mlの写真"' in page.text
    photo = await world.browser.get("/photos/kin-kirishima")
    assert photo.headers["content-type"] == "image/png" and photo.content.startswith(b"\x89PNG")
    assert "<script" not in page.text.replace('<script src="/static/poll.js" defer></script>', "")


async def test_a_resident_buys_from_two_shops_cancels_one_and_the_month_close_pays_less_the_fee(
    world: World, card: Card
) -> None:
    await world.browser.get("/signin")
    token = await world.csrf("/signin")
    await world.browser.post("/signin", data={"csrf": token})
    assert (await world.approve("/signin/wait", card)).headers["location"] == "/me"
    pottery = await world.buy("shinmoe-yunomi", 2, card)
    tongue = await world.buy("buta-tan", 1, card)
    page = (await world.browser.get(f"/orders/{tongue}")).text
    assert "豚タンの燻製" in page and "この注文を取り消す" in page
    token = await world.csrf(f"/orders/{tongue}")
    cancelled = await world.browser.post(f"/orders/{tongue}/cancel", data={"csrf": token})
    assert cancelled.status_code == 303
    assert "取り消し済み" in (await world.browser.get(f"/orders/{tongue}")).text
    mine = (await world.browser.get("/me")).text
    assert f"{MIYAKONOJO_BALANCE - 4000:,}" in mine
    history = (await world.browser.get("/orders")).text
    assert "新燃岳の灰釉 湯のみ ×2" in history and "豚タンの燻製 ×1" in history

    # The supplying shop ships its line; another shop sees none of it.
    await world.office_sign_in("takazaki-ham")
    assert "新燃岳" not in (await world.office.get("/office")).text.split('id="products"')[0]
    world.office.cookies.clear()
    await world.office_sign_in("shinmoe-kama")
    office = await world.office.get("/office")
    assert "4,000円" in office.text  # what it will be paid: 4,000 less the city's 10 %
    assert "3,600円" in office.text
    token = await world.csrf("/office", world.office)
    shipped = await world.office.post(
        "/office/lines",
        data={
            "csrf": token,
            "order_id": pottery,
            "line_no": "1",
            "action": "ship",
            "tracking_number": "TN-42",
        },
    )
    assert shipped.status_code == 303, shipped.text
    assert "TN-42" in (await world.browser.get(f"/orders/{pottery}")).text

    # The month close pays each supplying shop less the fee (the cancelled one nothing).
    conn = db.connect(world.demo.db_path)
    try:
        period = ledger.business_date(ledger.utc_now()).strftime("%Y-%m")
        periods.close(conn, "miyakonojo-cci", periods.parse_period(period), "test")
        claims = {
            row[0]: tuple(row[1:])
            for row in conn.execute(
                "SELECT merchant_id, online, online_fee, net FROM claims"
                " WHERE period_id = ? AND program_id = ?",
                (period, MIYAKONOJO_PROGRAM),
            )
        }
        assert ledger.check(conn) == []
    finally:
        conn.close()
    assert claims["shinmoe-kama"] == (4000, 400, 3600)
    assert claims.get("takazaki-ham", (0, 0, 0)) == (0, 0, 0)
    # The statements count the cancelled line with the online lines, not as a counter void (取消).
    auth = {"Authorization": f"Bearer {world.demo.tokens['takazaki-ham']}"}
    doc = (await world.server.get(f"/v1/statements/takazaki-ham/{period}", headers=auth)).json()
    [line] = [c for c in doc["claims"] if c["program_id"] == MIYAKONOJO_PROGRAM]
    assert (line["voided_count"], line["voided"], line["online_count"], line["online"]) == (0, 0, 2, 0)
    csv = await world.server.get(
        f"/v1/statements/takazaki-ham/{period}", params={"format": "csv"}, headers=auth
    )
    header, first = csv.content.decode("utf-8-sig").splitlines()[:2]
    row = dict(zip(header.split(","), first.split(","), strict=True))
    assert (row["取消件数"], row["オンライン販売件数"], row["オンライン販売"]) == ("0", "2", "0")


async def test_a_merchant_adds_a_product_the_city_approves_it_and_it_shows(world: World) -> None:
    await world.office_sign_in("miyako-chicken")
    token = await world.csrf("/office", world.office)
    added = await world.office.post(
        "/office/products",
        data={"csrf": token, "name": "<b>鶏の炭火焼</b>", "description": "", "price": "1,500",
              "tax_rate": "8", "stock": "7"},
    )  # fmt: skip
    assert added.status_code == 303, added.text
    assert "鶏の炭火焼" not in (await world.browser.get("/products")).text
    world.office.cookies.clear()
    await world.office_sign_in("miyakonojo")
    city = (await world.office.get("/office")).text
    assert "&lt;b&gt;鶏の炭火焼&lt;/b&gt;" in city and "承認待ち" in city
    found = re.search(r'name="product_id" value="([0-9A-Z]{26})"', city)
    assert found
    token = await world.csrf("/office", world.office)
    await world.office.post(
        "/office/review", data={"csrf": token, "product_id": found[1], "decision": "approve"}
    )
    shown = (await world.browser.get("/products")).text
    assert "&lt;b&gt;鶏の炭火焼&lt;/b&gt;" in shown and "1,500円" in shown
    # The merchant puts a photo on it (a multipart form, its CSRF token inside).
    world.office.cookies.clear()
    await world.office_sign_in("miyako-chicken")
    token = await world.csrf("/office", world.office)
    png = b"\x89PNG\r\n\x1a\n" + b"\x01" * 100
    files = {"photo": ("tori.png", png, "image/png")}
    refused = await world.office.post("/office/photo", data={"product_id": found[1]}, files=files)
    assert refused.status_code == 403
    put = await world.office.post("/office/photo", data={"csrf": token, "product_id": found[1]}, files=files)
    assert put.status_code == 303, put.text
    assert (await world.browser.get(f"/photos/{found[1]}")).content == png


async def test_every_shop_form_needs_the_sessions_csrf_token(world: World) -> None:
    await world.browser.get("/products")
    for path in (
        "/cart",
        "/checkout",
        "/office/signin",
        "/office/products",
        "/office/lines",
        "/office/refunds",
    ):
        assert (await world.browser.post(path, data={"product_id": "buta-tan"})).status_code == 403, path


async def test_a_merchant_refunds_a_shipped_line_from_its_page_once_per_form(
    world: World, card: Card
) -> None:
    await world.browser.get("/signin")
    token = await world.csrf("/signin")
    await world.browser.post("/signin", data={"csrf": token})
    assert (await world.approve("/signin/wait", card)).headers["location"] == "/me"
    pottery = await world.buy("shinmoe-yunomi", 2, card)  # 4,000 pt
    assert f"{MIYAKONOJO_BALANCE - 4000:,}" in (await world.browser.get("/me")).text
    await world.office_sign_in("shinmoe-kama")
    office = (await world.office.get("/office")).text
    assert "/office/refunds" not in office  # nothing shipped yet: cancel, not refund
    token = await world.csrf("/office", world.office)
    ship = {"csrf": token, "order_id": pottery, "line_no": "1", "action": "ship", "tracking_number": "TN-7"}
    assert (await world.office.post("/office/lines", data=ship)).status_code == 303
    office = (await world.office.get("/office")).text
    assert "4,000円まで" in office
    form = re.search(r'action="/office/refunds">(.*?)</form>', office, re.S)
    assert form, office
    fields = dict(re.findall(r'name="(csrf|order_id|line_no|refund_id)" value="([^"]+)"', form[1]))
    assert fields["order_id"] == pottery and len(fields["refund_id"]) == 26
    # No token, no refund.
    refused = await world.office.post("/office/refunds", data={**fields, "csrf": "x", "amount": "1500"})
    assert refused.status_code == 403
    # The same form sent twice (a double press, a reload): one refund, the points back once.
    for _ in range(2):
        sent = await world.office.post("/office/refunds", data={**fields, "amount": "1500"})
        assert sent.status_code == 303, sent.text
    assert f"{MIYAKONOJO_BALANCE - 2500:,}" in (await world.browser.get("/me")).text
    office = (await world.office.get("/office")).text
    assert "返金済み: 1,500円" in office and "2,500円まで" in office
    # A second refund (a new form) of more than is left is refused by the server, shown as such.
    form = re.search(r'action="/office/refunds">(.*?)</form>', office, re.S)
    assert form
    again = dict(re.findall(r'name="(csrf|order_id|line_no|refund_id)" value="([^"]+)"', form[1]))
    assert again["refund_id"] != fields["refund_id"]
    over = await world.office.post("/office/refunds", data={**again, "amount": "2501"})
    assert over.status_code == 400 and "refund_exceeds_line" in over.text
    assert f"{MIYAKONOJO_BALANCE - 2500:,}" in (await world.browser.get("/me")).text
    # Another shop cannot refund this line.
    world.office.cookies.clear()
    await world.office_sign_in("takazaki-ham")
    token = await world.csrf("/office", world.office)
    other = await world.office.post("/office/refunds", data={**again, "csrf": token, "amount": "100"})
    assert other.status_code == 400 and "not_found" in other.text


async def test_the_settlement_console_shows_a_claims_online_lines_apart(
    world: World, card: Card, tmp_path: pathlib.Path
) -> None:
    from textual.widgets import DataTable

    from server.console import words
    from server.console.app import SettleApp
    from server.console.client import SettleClient
    from tests.settlement.pilot import settle, until

    await world.browser.get("/signin")
    token = await world.csrf("/signin")
    await world.browser.post("/signin", data={"csrf": token})
    await world.approve("/signin/wait", card)
    kept = await world.buy("shinmoe-yunomi", 2, card)  # 4,000 of shinmoe-kama's, shipped, 1,000 refunded
    dropped = await world.buy("shinmoe-sara", 1, card)  # 3,000, cancelled before shipping
    token = await world.csrf(f"/orders/{dropped}")
    assert (await world.browser.post(f"/orders/{dropped}/cancel", data={"csrf": token})).status_code == 303
    auth = {"Authorization": f"Bearer {world.demo.tokens['shinmoe-kama']}"}
    shipped = await world.server.post(
        f"/v1/shop/orders/{kept}/lines/1/ship", json={"tracking_number": "TN-1"}, headers=auth
    )
    assert shipped.status_code == 200, shipped.text
    refund = await world.server.post(
        f"/v1/shop/orders/{kept}/lines/1/refund", json={"refund_id": "rf-1", "amount": 1000}, headers=auth
    )
    assert refund.status_code == 200, refund.text
    conn = db.connect(world.demo.db_path)
    try:
        period = ledger.business_date(ledger.utc_now()).strftime("%Y-%m")
        periods.close(conn, "miyakonojo-cci", periods.parse_period(period), "test")
    finally:
        conn.close()
    words.set_language("ja")
    client = SettleClient(
        "http://settle.test", world.demo.tokens["miyakonojo-cci"], transport=world.server._transport
    )
    today = ledger.business_date(ledger.utc_now())
    app = SettleApp(client, period, tmp_path / "out", today, who="miyakonojo-cci")
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        table = app.query_one("#claims", DataTable)
        await until(pilot, lambda: table.row_count >= 1)
        headers = [str(c.label) for c in table.columns.values()]
        assert "オンライン販売" in headers and "手数料（オンライン）" in headers
        key = f"{period}:shinmoe-kama:{MIYAKONOJO_PROGRAM}"
        row = dict(zip(headers, (str(x) for x in table.get_row(key)), strict=True))
        assert (row["オンライン販売"], row["手数料（オンライン）"], row["支払額"]) == (
            "3,000",
            "300",
            "2,700",
        )
        await app.show_lines(key)  # the drill-down of that claim
        lines = app.query_one("#lines", DataTable)
        await until(pilot, lambda: lines.row_count == 4)
        kinds = [(str(lines.get_row_at(i)[1]), str(lines.get_row_at(i)[2])) for i in range(lines.row_count)]
    assert sorted(kinds) == sorted(
        [
            ("オンライン販売", "4,000"),
            ("オンライン販売", "3,000"),
            ("オンライン注文の取消", "-3,000"),
            ("オンライン販売の返金", "-1,000"),
        ]
    ), kinds
