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
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Page

from pos.card.simulated import demo_credentials
from pos.virtualcard.applet import JpkiCard
from pos.virtualcard.vcard import VirtualCard
from server.demo import MIYAKONOJO_BALANCE, MIYAKONOJO_PROGRAM, MIYAKONOJO_SHOP
from tests.support.browser import ROOT, chromium
from tests.support.counter_server import CounterServer
from tests.support.site import (
    buy,
    close_month_online,
    office_sign_in,
    resident_sign_in,
    running_site,
    user_code,
)

pytestmark = pytest.mark.pcscd

PIN = "7395"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def site(real_server: CounterServer, tmp_path: pathlib.Path) -> Iterator[str]:
    token = real_server.tokens[MIYAKONOJO_SHOP[0]]
    with running_site(real_server.url, token, tmp_path, MIYAKONOJO_SHOP[1]) as served:
        yield served.url


def helper(server: CounterServer, page: Page) -> str:
    """Type the page's code into the card helper, say yes, give the PIN; the helper's output."""
    done = subprocess.run(
        [sys.executable, "-m", "pos.cli", "card", "helper", "--server", server.url, "--timeout", "20"],
        input=f"{user_code(page)}\ny\n{PIN}\n",
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


def pays(server: CounterServer, points: int) -> Callable[[Page], None]:
    """The card helper's approval of a payment of ``points`` to Miyakonojo's shop."""

    def approve(page: Page) -> None:
        said = helper(server, page)
        assert MIYAKONOJO_SHOP[1] in said and f"{points:,}" in said

    return approve


def signs_in(server: CounterServer) -> Callable[[Page], None]:
    """The card helper's approval of a sign-in to Miyakonojo's shop."""

    def approve(page: Page) -> None:
        said = helper(server, page)
        assert MIYAKONOJO_SHOP[2] in said and "サインイン" in said

    return approve


def test_a_resident_signs_in_and_pays_with_the_card_helper_cancels_one_order_and_a_shop_ships(
    real_server: CounterServer, vcards: Callable[..., VirtualCard], site: str, browser: Browser
) -> None:
    vcards(JpkiCard(demo_credentials(), pin=PIN)).insert()
    page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    resident_sign_in(page, site, signs_in(real_server))
    assert f"{MIYAKONOJO_BALANCE:,}" in page.inner_text("main")

    pottery = buy(page, site, "shinmoe-sara", pays(real_server, 3000))
    jerky = buy(page, site, "nanban-stick", pays(real_server, 2400))
    page.get_by_role("button", name="この注文を取り消す").click()
    page.wait_for_url(f"**/orders/{jerky}")
    assert "取り消し済み" in page.inner_text("main")
    page.goto(f"{site}/me")
    assert f"{MIYAKONOJO_BALANCE - 3000:,}" in page.inner_text("main")
    assert "ご注文の取消" in page.inner_text("main")

    shop = browser.new_context().new_page()
    shop.goto(f"{site}/office")
    office_sign_in(shop, real_server.tokens["shinmoe-kama"])
    shop.get_by_label("お問い合わせ番号").first.fill("TN-77")
    shop.get_by_role("button", name="発送した").first.click()
    shop.wait_for_url("**/office*")
    page.goto(f"{site}/orders/{pottery}")
    assert "TN-77" in page.inner_text("main")

    assert close_month_online(real_server.db_path, MIYAKONOJO_PROGRAM) == {"shinmoe-kama": 3000 - 300}
