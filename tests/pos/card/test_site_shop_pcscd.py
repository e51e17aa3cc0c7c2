"""The special site's shop in chromium with the virtual My Number Card, real pcscd + vpcd and the card helper.

The resident signs in and pays as they would: the page shows a code, the card helper (its own
process, ``mykey-pos card helper``) is given the code, shows the site, asks the PIN itself and has
the virtual card sign; the page goes on by itself. Two products from two shops are bought (two
orders), one is cancelled and the resident's page shows the balance; the pottery shop ships; the
month close pays each supplying shop less the city's fee. axe-core checks every page shown.
"""

from __future__ import annotations

import os
import pathlib
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page

from pos.card.simulated import demo_credentials
from pos.virtualcard.applet import JpkiCard
from pos.virtualcard.vcard import VirtualCard
from server import db, ledger
from server.demo import MIYAKONOJO_BALANCE, MIYAKONOJO_PROGRAM, MIYAKONOJO_SHOP
from server.settlement import periods
from tests.server.test_site_shop_browser import accessible
from tests.support.browser import chromium
from tests.support.counter_server import CounterServer

pytestmark = pytest.mark.pcscd

PIN = "7395"
ROOT = pathlib.Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def site(real_server: CounterServer, tmp_path: pathlib.Path) -> Iterator[str]:
    token = tmp_path / "shop.token"
    token.write_text(real_server.tokens[MIYAKONOJO_SHOP[0]])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "server.cli", "site", "--api", real_server.url, "--shop-token-file",
               str(token), "--port", str(port), "--name", MIYAKONOJO_SHOP[1]]  # fmt: skip
    log = (tmp_path / "site.log").open("ab")
    process = subprocess.Popen(
        command, stdout=log, stderr=log, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
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
        yield url
    finally:
        process.terminate()
        process.wait(10)


def helper(server: CounterServer, page: Page) -> str:
    """Type the page's code into the card helper, say yes, give the PIN; the helper's output."""
    code = re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}", page.inner_text("main"))
    assert code, page.inner_text("main")
    done = subprocess.run(
        [sys.executable, "-m", "pos.cli", "card", "helper", "--server", server.url, "--timeout", "20"],
        input=f"{code[0]}\ny\n{PIN}\n",
        capture_output=True,
        text=True,
        timeout=60,
        start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert PIN not in done.stdout + done.stderr
    return done.stdout


def buy(page: Page, server: CounterServer, url: str, product_id: str, points: int) -> str:
    page.goto(f"{url}/products/{product_id}")
    page.get_by_role("button", name="カートに入れる").click()
    page.wait_for_url("**/cart")
    page.get_by_role("button", name="ポイントで支払う").click()
    page.wait_for_url("**/checkout/wait")
    accessible(page)
    said = helper(server, page)
    assert MIYAKONOJO_SHOP[1] in said and f"{points:,}" in said
    page.wait_for_url(re.compile(r".*/orders/[0-9A-Z]{26}$"), timeout=20_000)
    accessible(page)
    return page.url.rsplit("/", 1)[1]


def test_a_resident_signs_in_and_pays_with_the_card_helper_cancels_one_order_and_a_shop_ships(
    real_server: CounterServer, vcards: Callable[..., VirtualCard], site: str, browser: Browser
) -> None:
    vcards(JpkiCard(demo_credentials(), pin=PIN)).insert()
    page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    page.goto(f"{site}/signin")
    accessible(page)
    page.get_by_role("button", name="コードを表示する").click()
    page.wait_for_url("**/signin/wait")
    accessible(page)
    said = helper(real_server, page)
    assert MIYAKONOJO_SHOP[2] in said and "サインイン" in said
    page.wait_for_url("**/me", timeout=20_000)
    accessible(page)
    assert f"{MIYAKONOJO_BALANCE:,}" in page.inner_text("main")

    pottery = buy(page, real_server, site, "shinmoe-sara", 3000)
    jerky = buy(page, real_server, site, "nanban-stick", 2400)
    page.get_by_role("button", name="この注文を取り消す").click()
    page.wait_for_url(f"**/orders/{jerky}")
    assert "取り消し済み" in page.inner_text("main")
    page.goto(f"{site}/me")
    assert f"{MIYAKONOJO_BALANCE - 3000:,}" in page.inner_text("main")
    assert "ご注文の取消" in page.inner_text("main")

    shop = browser.new_context().new_page()
    shop.goto(f"{site}/office")
    shop.get_by_label("トークン").fill(real_server.tokens["shinmoe-kama"])
    shop.get_by_role("button", name="サインイン").click()
    shop.wait_for_url("**/office")
    shop.get_by_label("お問い合わせ番号").first.fill("TN-77")
    shop.get_by_role("button", name="発送した").first.click()
    shop.wait_for_url("**/office*")
    page.goto(f"{site}/orders/{pottery}")
    assert "TN-77" in page.inner_text("main")

    conn = db.connect(real_server.db_path)
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
    assert paid == {"shinmoe-kama": 3000 - 300}
