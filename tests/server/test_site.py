"""The special site over the real server app: sign-in by card, own page, CSRF, headers, escaping.

The site talks to the server's app through httpx (ASGI), as it would over the network; a test
card of a CA the database trusts signs what the card helper would. The browser tests
(tests/server/test_site_browser.py) drive the same pages in chromium with pcscd and the helper.
"""

from __future__ import annotations

import pathlib
import re
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from server import admin, approvals, db, ledger
from server.app import create_app
from server.site.app import COOKIE, create_site
from server.site.client import Api
from tests.server.conftest import Clock, Demo
from tests.server.helpers import TENRI, sale
from tests.server.pki import Authority, Card, make_ca, make_card

SHOP_ID = "tenri-tokusen"


@pytest.fixture(scope="module")
def ca() -> Authority:
    return make_ca()


@pytest.fixture(scope="module")
def card(ca: Authority) -> Card:
    return make_card(ca)


class World:
    def __init__(self, server: httpx.AsyncClient, browser: httpx.AsyncClient, demo: Demo) -> None:
        self.server, self.browser, self.demo = server, browser, demo

    async def csrf(self, path: str) -> str:
        page = await self.browser.get(path)
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert found, page.text
        return found[1]

    async def sign_in(self, card: Card) -> httpx.Response:
        token = await self.csrf("/signin")
        started = await self.browser.post("/signin", data={"csrf": token})
        assert started.status_code == 303 and started.headers["location"] == "/signin/wait"
        wait = await self.browser.get("/signin/wait")
        code = re.search(r'id="user-code">([A-Z0-9-]{9})<', wait.text)
        assert code, wait.text
        found = (await self.server.post("/v1/approvals/lookup", json={"user_code": code[1]})).json()
        proof = card.proof({"challenge_id": found["challenge_id"], "nonce": found["nonce"]})
        signed = await self.server.post("/v1/approvals/sign", json={"user_code": code[1], "pin_proof": proof})
        assert signed.status_code == 200, signed.text
        return await self.browser.get("/signin/wait")


@pytest.fixture
async def world(
    tmp_path: pathlib.Path, ca: Authority, card: Card, clock: Clock, fresh_demo: Callable[..., Demo]
) -> AsyncIterator[World]:
    demo = fresh_demo(tmp_path / "site", card_keys=[card.card_key], trust_ca=[ca.pem])
    conn = db.connect(demo.db_path)
    with db.atomic(conn):
        approvals.add_shop(
            conn, SHOP_ID, "天理のおみやげ", merchant_id="yamato-bakery", city_id="tenri",
            origin="https://tokusen.tenri.example", programs=[TENRI], now=ledger.utc_now(),
        )  # fmt: skip
        # A merchant whose name is markup: shown as text, never run.
        conn.execute("UPDATE merchants SET name = '<script>alert(1)</script>' WHERE id = 'yamato-bakery'")
        token = admin.add_principal(conn, SHOP_ID, "online_shop", shop_id=SHOP_ID)
    conn.close()
    app = create_app(demo.db_path, clock=clock)
    server = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api")
    api = Api("http://api", token, transport=httpx.ASGITransport(app=app))
    site = create_site(api, name="天理のおみやげ")
    browser = httpx.AsyncClient(transport=httpx.ASGITransport(app=site), base_url="http://site")
    yield World(server, browser, demo)
    await browser.aclose()
    await server.aclose()
    await api.close()
    app.state.store.close()


async def test_a_resident_signs_in_sees_the_balance_and_signs_out(world: World, card: Card) -> None:
    await world.browser.get("/")
    before = world.browser.cookies[COOKIE]
    done = await world.sign_in(card)
    assert done.status_code == 303 and done.headers["location"] == "/me"
    cookie = done.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    assert world.browser.cookies[COOKIE] != before  # a new session id once signed in
    page = await world.browser.get("/me")
    assert page.status_code == 200
    assert "5,000" in page.text and "ポイント" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert page.headers["cache-control"] == "no-store" and page.headers["x-frame-options"] == "DENY"
    csv = await world.browser.get("/me/history.csv")
    assert csv.content.startswith(b"\xef\xbb\xbf")
    token = await world.csrf("/me")
    out = await world.browser.post("/signout", data={"csrf": token})
    assert out.status_code == 200 and "サインアウトしました" in out.text
    assert (await world.browser.get("/me")).status_code == 303


async def test_a_post_without_the_sessions_csrf_token_is_refused(world: World) -> None:
    await world.browser.get("/signin")
    assert (await world.browser.post("/signin", data={})).status_code == 403
    assert (await world.browser.post("/signin", data={"csrf": "guess"})).status_code == 403
    assert (await world.browser.post("/signout", data={})).status_code == 403


async def test_markup_in_a_name_shows_as_text(world: World, card: Card) -> None:
    # A sale at the merchant whose name is markup puts that name in the resident's history.
    body = sale(card.card_key, total=500, points={TENRI: 500})
    shop = httpx.AsyncClient(
        transport=world.server._transport,
        base_url="http://api",
        headers={"Authorization": f"Bearer {world.demo.tokens['yamato-bakery-t1']}"},
    )
    answer = await shop.post("/v1/sales", json=body)
    await shop.aclose()
    assert answer.status_code == 200, answer.text
    await world.sign_in(card)
    page = (await world.browser.get("/me")).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page


async def test_an_expired_code_asks_for_a_new_one_and_cookies_are_secure_over_https(
    world: World, clock: Clock
) -> None:
    token = await world.csrf("/signin")
    await world.browser.post("/signin", data={"csrf": token})
    assert "user-code" in (await world.browser.get("/signin/wait")).text
    clock.advance(minutes=5, seconds=1)
    expired = await world.browser.get("/signin/wait")
    assert "有効期限が切れました" in expired.text and "user-code" not in expired.text
    status = await world.browser.get("/signin/status")
    assert status.json() == {"status": "none", "next": "/signin"}
    secure = httpx.AsyncClient(transport=world.browser._transport, base_url="https://site")
    first = await secure.get("/signin")
    await secure.aclose()
    assert "Secure" in first.headers["set-cookie"] and "HttpOnly" in first.headers["set-cookie"]
