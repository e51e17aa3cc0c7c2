"""Make the online shop guide's screenshots: each page of the special site, from the real app (PNG).

Run from the repository root: ``.venv/bin/python docs/ja/site_screenshots.py``. A real
``mykey-server serve`` on the demo data and a real ``mykey-server site`` for Miyakonojo's special
site run on 127.0.0.1 (as ``tests/server/test_site_shop_browser.py`` starts them), and Debian's
chromium (Playwright, headless, ``--no-sandbox``, nothing downloaded) visits each page at a
phone's width. The card's part (the card helper reading the code, asking the PIN and signing) is
played by a test card of a CA the database trusts, signing over the API the code the page shows.
Dates, codes and order numbers follow the day the script runs.
"""

from __future__ import annotations

import os
import pathlib
import re
import socket
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from playwright.sync_api import Browser, Page  # noqa: E402

from server.demo import MIYAKONOJO_SHOP  # noqa: E402
from tests.server.pki import Card, make_ca, make_card  # noqa: E402
from tests.support.browser import chromium  # noqa: E402
from tests.support.server import RunningServer, running_server  # noqa: E402

IMG = pathlib.Path(__file__).with_name("img")
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1100, "height": 900}


def start_site(directory: pathlib.Path, server: RunningServer) -> tuple[subprocess.Popen[bytes], str]:
    """``mykey-server site`` for Miyakonojo's shop, once it answers."""
    token = directory / "shop.token"
    token.write_text(server.tokens[MIYAKONOJO_SHOP[0]])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "server.cli", "site", "--api", server.url, "--shop-token-file",
               str(token), "--port", str(port), "--name", MIYAKONOJO_SHOP[1]]  # fmt: skip
    log = (directory / "site.log").open("ab")
    site = subprocess.Popen(
        command, stdout=log, stderr=log, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            if httpx.get(url + "/static/site.css", timeout=1).status_code == 200:
                return site, url
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            site.kill()
            raise RuntimeError(f"the site did not start; see {directory / 'site.log'}")
        time.sleep(0.1)


def approve(page: Page, server: RunningServer, card: Card) -> None:
    """Read the user code off the page and sign it with the card, as the card helper does."""
    code = re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}", page.inner_text("main"))
    assert code, page.inner_text("main")
    with httpx.Client(base_url=server.url) as api:
        found = api.post("/v1/approvals/lookup", json={"user_code": code[0]}).json()
        proof = card.proof({"challenge_id": found["challenge_id"], "nonce": found["nonce"]})
        signed = api.post("/v1/approvals/sign", json={"user_code": code[0], "pin_proof": proof})
        assert signed.status_code == 200, signed.text


def save(page: Page, name: str, *, full: bool = True, selector: str | None = None) -> None:
    """The page (or one part of it) as ``img/<name>.png``."""
    path = IMG / f"{name}.png"
    if selector is not None:
        page.locator(selector).screenshot(path=str(path))
    else:
        page.screenshot(path=str(path), full_page=full)
    print(path.relative_to(ROOT))


def resident(browser: Browser, server: RunningServer, card: Card, url: str) -> None:
    page = browser.new_context(viewport=PHONE, device_scale_factor=1).new_page()
    page.goto(f"{url}/products")
    save(page, "site_catalogue")
    page.goto(f"{url}/products/kin-kirishima")
    save(page, "site_product")
    page.goto(f"{url}/signin")
    save(page, "site_signin")
    page.get_by_role("button", name="コードを表示する").click()
    page.wait_for_url("**/signin/wait")
    save(page, "site_signin_code")
    approve(page, server, card)
    page.wait_for_url("**/me", timeout=15_000)
    # Two orders: the pottery (kept, shipped later) and the smoked tongue (cancelled).
    for product in ("shinmoe-yunomi", "buta-tan"):
        page.goto(f"{url}/products/{product}")
        page.get_by_role("button", name="カートに入れる").click()
        page.wait_for_url("**/cart")
        if product == "shinmoe-yunomi":
            save(page, "site_cart")
        page.get_by_role("button", name="ポイントで支払う").click()
        page.wait_for_url("**/checkout/wait")
        if product == "shinmoe-yunomi":
            save(page, "site_checkout_code")
        approve(page, server, card)
        page.wait_for_url(re.compile(r".*/orders/[0-9A-Z]{26}$"), timeout=15_000)
    save(page, "site_order")
    page.get_by_role("button", name="この注文を取り消す").click()
    page.wait_for_load_state()
    page.goto(f"{url}/orders")
    save(page, "site_orders")
    page.goto(f"{url}/me")
    save(page, "site_me")
    page.context.close()


def office(browser: Browser, server: RunningServer, url: str) -> None:
    shop = browser.new_context(viewport=DESK, device_scale_factor=1).new_page()
    shop.goto(f"{url}/office")
    save(shop, "office_signin")
    shop.get_by_label("トークン").fill(server.tokens["shinmoe-kama"])
    shop.get_by_role("button", name="サインイン").click()
    shop.wait_for_url("**/office")
    save(shop, "office_merchant_orders", selector="section:has(#orders)")
    save(shop, "office_merchant_products", selector="section:has(#products)")
    # Shipped: the line then offers its refund form.
    shop.get_by_label("お問い合わせ番号").first.fill("TN-2026-001")
    shop.get_by_role("button", name="発送した").first.click()
    shop.wait_for_url("**/office*")
    save(shop, "office_merchant_refund", selector="section:has(#orders)")
    save(shop, "office_merchant_payable", selector="section:has(#payable)")
    shop.context.close()

    # A product edited by its shop waits for the city's approval.
    with httpx.Client(base_url=server.url) as api:
        answer = api.put(
            "/v1/shop/products/shinmoe-tsubo",
            headers={"Authorization": f"Bearer {server.tokens['shinmoe-kama']}"},
            json={"shop_id": MIYAKONOJO_SHOP[0], "name": "新燃岳の灰釉 小壺", "description":
                  "火山灰の釉をかけた小さな壺。一点もの。", "price": 4800, "tax_rate": 10, "stock": 3},
        )  # fmt: skip
        assert answer.status_code in (200, 201), answer.text
    city = browser.new_context(viewport=DESK, device_scale_factor=1).new_page()
    city.goto(f"{url}/office")
    city.get_by_label("トークン").fill(server.tokens["miyakonojo"])
    city.get_by_role("button", name="サインイン").click()
    city.wait_for_url("**/office")
    save(city, "office_city")
    city.context.close()


def main() -> None:
    IMG.mkdir(exist_ok=True)
    authority = make_ca()
    card = make_card(authority)
    with tempfile.TemporaryDirectory() as tmp:
        directory = pathlib.Path(tmp)
        pem = directory / "ca.pem"
        pem.write_bytes(authority.pem)
        with running_server(directory / "api", card_keys=[card.card_key], trust_ca=[pem]) as server:
            site, url = start_site(directory, server)
            try:
                with chromium() as browser:
                    resident(browser, server, card, url)
                    office(browser, server, url)
            finally:
                site.terminate()
                site.wait(10)


if __name__ == "__main__":
    main()
