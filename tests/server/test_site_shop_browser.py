"""The special site's shop in Debian's chromium (Playwright), against a live API and a live site.

A resident signs in, buys pottery from one shop and smoked tongue from another (two orders), cancels
the tongue and sees the balance change on their own page; the pottery shop ships its line with a
tracking number; the month close pays each supplying shop less the city's fee. axe-core finds no
serious or critical violation on any of these pages.

The card's part (the helper reading the code, asking the PIN and signing) is played by a test card
of a CA the database trusts, signing over the API what the page shows: the browser never sees a PIN.
"""

from __future__ import annotations

import os
import pathlib
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page

from server import db, ledger
from server.demo import MIYAKONOJO_BALANCE, MIYAKONOJO_PROGRAM, MIYAKONOJO_SHOP
from server.settlement import periods
from tests.server.pki import Authority, Card, make_ca, make_card
from tests.support.browser import chromium
from tests.support.server import ROOT, RunningServer, running_server

AXE = Axe()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def ca() -> Authority:
    return make_ca()


@pytest.fixture
def card(ca: Authority) -> Card:
    return make_card(ca)


@pytest.fixture
def live(tmp_path: pathlib.Path, ca: Authority, card: Card) -> Iterator[tuple[RunningServer, str]]:
    pem = tmp_path / "ca.pem"
    pem.write_bytes(ca.pem)
    with running_server(tmp_path / "api", card_keys=[card.card_key], trust_ca=[pem]) as server:
        token = tmp_path / "shop.token"
        token.write_text(server.tokens[MIYAKONOJO_SHOP[0]])
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        command = [sys.executable, "-m", "server.cli", "site", "--api", server.url, "--shop-token-file",
                   str(token), "--port", str(port), "--name", MIYAKONOJO_SHOP[1]]  # fmt: skip
        log = (tmp_path / "site.log").open("ab")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        site = subprocess.Popen(command, stdout=log, stderr=log, cwd=ROOT, env=env)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    if httpx.get(url + "/static/site.css", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the site did not start"
                time.sleep(0.1)
            yield server, url
        finally:
            site.terminate()
            site.wait(10)


def accessible(page: Page) -> None:
    """No serious or critical axe-core violation on the page as shown."""
    results = AXE.run(page)
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], (page.url, bad)


def approve(page: Page, server: RunningServer, card: Card) -> None:
    """Read the user code off the page and sign it with the card, as the card helper does."""
    code = re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}", page.inner_text("main"))
    assert code, page.inner_text("main")
    with httpx.Client(base_url=server.url) as api:
        found = api.post("/v1/approvals/lookup", json={"user_code": code[0]}).json()
        proof = card.proof({"challenge_id": found["challenge_id"], "nonce": found["nonce"]})
        signed = api.post("/v1/approvals/sign", json={"user_code": code[0], "pin_proof": proof})
        assert signed.status_code == 200, signed.text


def buy(page: Page, server: RunningServer, card: Card, product_id: str, url: str) -> str:
    page.goto(f"{url}/products/{product_id}")
    accessible(page)
    page.get_by_role("button", name="カートに入れる").click()
    page.wait_for_url("**/cart")
    accessible(page)
    page.get_by_role("button", name="ポイントで支払う").click()
    page.wait_for_url("**/checkout/wait")
    accessible(page)
    approve(page, server, card)
    page.wait_for_url(re.compile(r".*/orders/[0-9A-Z]{26}$"), timeout=15_000)
    accessible(page)
    return page.url.rsplit("/", 1)[1]


def test_a_resident_buys_from_two_shops_cancels_one_a_shop_ships_and_the_close_pays_less_the_fee(
    browser: Browser, live: tuple[RunningServer, str], card: Card
) -> None:
    server, url = live
    page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    page.goto(f"{url}/products")
    assert "〈玉〉金霧島" in page.inner_text("main") and "9,500円" in page.inner_text("main")
    accessible(page)
    page.goto(f"{url}/signin")
    page.get_by_role("button", name="コードを表示する").click()
    page.wait_for_url("**/signin/wait")
    approve(page, server, card)
    page.wait_for_url("**/me", timeout=15_000)
    accessible(page)
    assert f"{MIYAKONOJO_BALANCE:,}" in page.inner_text("main")

    pottery = buy(page, server, card, "shinmoe-yunomi", url)
    tongue = buy(page, server, card, "buta-tan", url)
    assert "豚タンの燻製" in page.inner_text("main")
    page.get_by_role("button", name="この注文を取り消す").click()
    page.wait_for_url(f"**/orders/{tongue}")
    assert "取り消し済み" in page.inner_text("main")
    page.goto(f"{url}/orders")
    accessible(page)
    page.goto(f"{url}/me")
    assert f"{MIYAKONOJO_BALANCE - 2000:,}" in page.inner_text("main")  # the tongue's points came back

    shop = browser.new_context().new_page()
    shop.goto(f"{url}/office")
    accessible(shop)
    shop.get_by_label("トークン").fill(server.tokens["shinmoe-kama"])
    shop.get_by_role("button", name="サインイン").click()
    shop.wait_for_url("**/office")
    accessible(shop)
    shop.get_by_label("お問い合わせ番号").first.fill("TN-2026-001")
    shop.get_by_role("button", name="発送した").first.click()
    shop.wait_for_url("**/office*")
    # The shipped line now offers its refund form (labelled, keyboard-usable like the others).
    assert shop.get_by_label(re.compile("返金する額")).count() == 1
    accessible(shop)
    page.goto(f"{url}/orders/{pottery}")
    assert "TN-2026-001" in page.inner_text("main") and "発送済み" in page.inner_text("main")

    city = browser.new_context().new_page()
    city.goto(f"{url}/office")
    city.get_by_label("トークン").fill(server.tokens["miyakonojo"])
    city.get_by_role("button", name="サインイン").click()
    city.wait_for_url("**/office")
    accessible(city)
    assert "新燃窯（都城焼）" in city.inner_text("main")

    conn = db.connect(server.database)
    try:
        period = ledger.business_date(ledger.utc_now()).strftime("%Y-%m")
        periods.close(conn, "miyakonojo-cci", periods.parse_period(period), "test")
        paid = dict(
            conn.execute(
                "SELECT merchant_id, net FROM claims WHERE period_id = ? AND program_id = ? AND online != 0",
                (period, MIYAKONOJO_PROGRAM),
            ).fetchall()
        )
        assert ledger.check(conn) == []
    finally:
        conn.close()
    assert paid == {"shinmoe-kama": 2000 - 200}
