"""The special site's shop in Debian's chromium (Playwright), against a live API and a live site.

A resident signs in, buys pottery from one shop and smoked tongue from another (two orders), cancels
the tongue and sees the balance change on their own page; the pottery shop ships its line with a
tracking number; the month close pays each supplying shop less the city's fee. axe-core finds no
serious or critical violation on any of these pages.

The card's part (the helper reading the code, asking the PIN and signing) is played by a test card
of a CA the database trusts, signing over the API what the page shows: the browser never sees a PIN.
"""

from __future__ import annotations

import pathlib
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from server.demo import MIYAKONOJO_BALANCE, MIYAKONOJO_PROGRAM, MIYAKONOJO_SHOP
from tests.server.pki import Authority, Card, make_ca, make_card
from tests.support.browser import chromium
from tests.support.server import RunningServer, running_server
from tests.support.site import (
    ServedSite,
    accessible,
    approve_with_card,
    buy,
    close_month_online,
    office_sign_in,
    resident_sign_in,
    running_site,
)


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
def live(tmp_path: pathlib.Path, ca: Authority, card: Card) -> Iterator[tuple[RunningServer, ServedSite]]:
    pem = tmp_path / "ca.pem"
    pem.write_bytes(ca.pem)
    with (
        running_server(tmp_path / "api", card_keys=[card.card_key], trust_ca=[pem]) as server,
        running_site(server.url, server.tokens[MIYAKONOJO_SHOP[0]], tmp_path, MIYAKONOJO_SHOP[1]) as site,
    ):
        yield server, site


def test_a_resident_buys_from_two_shops_cancels_one_a_shop_ships_and_the_close_pays_less_the_fee(
    browser: Browser, live: tuple[RunningServer, ServedSite], card: Card
) -> None:
    server, site = live
    url = site.url

    def approve(page: Page) -> None:
        approve_with_card(page, server.url, card)

    page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    page.goto(f"{url}/products")
    assert "〈玉〉金霧島" in page.inner_text("main") and "9,500円" in page.inner_text("main")
    accessible(page)
    resident_sign_in(page, url, approve)
    assert f"{MIYAKONOJO_BALANCE:,}" in page.inner_text("main")

    pottery = buy(page, url, "shinmoe-yunomi", approve)
    tongue = buy(page, url, "buta-tan", approve)
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
    office_sign_in(shop, server.tokens["shinmoe-kama"])
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
    office_sign_in(city, server.tokens["miyakonojo"])
    accessible(city)
    assert "新燃窯（都城焼）" in city.inner_text("main")

    assert close_month_online(server.database, MIYAKONOJO_PROGRAM) == {"shinmoe-kama": 2000 - 200}
