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

import pathlib
import re
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from playwright.sync_api import Browser, Page  # noqa: E402

from server.demo import MIYAKONOJO_SHOP  # noqa: E402
from tests.server.pki import Card, make_ca, make_card  # noqa: E402
from tests.support.browser import chromium  # noqa: E402
from tests.support.server import RunningServer, running_server  # noqa: E402
from tests.support.site import approve_with_card, office_sign_in, running_site  # noqa: E402

IMG = pathlib.Path(__file__).with_name("img")
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1100, "height": 900}


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
    approve_with_card(page, server.url, card)
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
        approve_with_card(page, server.url, card)
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
    office_sign_in(shop, server.tokens["shinmoe-kama"])
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
    office_sign_in(city, server.tokens["miyakonojo"])
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
        with (
            running_server(directory / "api", card_keys=[card.card_key], trust_ca=[pem]) as server,
            running_site(
                server.url, server.tokens[MIYAKONOJO_SHOP[0]], directory, MIYAKONOJO_SHOP[1]
            ) as site,
            chromium() as browser,
        ):
            resident(browser, server, card, site.url)
            office(browser, server, site.url)


if __name__ == "__main__":
    main()
