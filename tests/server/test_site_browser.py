"""The special site in Debian's chromium (Playwright, headless, nothing downloaded), with axe-core.

The live server (uvicorn subprocess, demo data, the test card's CA trusted) and ``mykey-server site``
run on 127.0.0.1; the resident signs in with the card helper — the virtual My Number Card on
pcscd's vpcd reader, or the simulated reader with the same saved card where pcscd is not the
point — and the page, polling by itself, goes on to the resident's own page with the balance.
axe-core (the copy bundled by ``axe-playwright-python``) finds no serious or critical violation
on any page; a merchant's name of markup shows as text.
"""

from __future__ import annotations

import pathlib
import re
import sqlite3
from collections.abc import Callable, Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from pos.virtualcard.applet import JpkiCard
from pos.virtualcard.credentials import CardCredentials
from pos.virtualcard.vcard import VirtualCard
from tests.server.helpers import TENRI, sale
from tests.support import pcscd as pcscd_support
from tests.support.browser import chromium
from tests.support.server import RunningServer, running_server
from tests.support.site import ServedSite, accessible, served_site

pcscd = pcscd_support.pcscd
empty_readers = pcscd_support.empty_readers
PIN = "1234"


@pytest.fixture(scope="module")
def card_dir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    directory = tmp_path_factory.mktemp("card")
    CardCredentials.load_or_create(directory)
    return directory


@pytest.fixture
def stack(tmp_path: pathlib.Path, card_dir: pathlib.Path) -> Iterator[tuple[RunningServer, ServedSite]]:
    credentials = CardCredentials.load_or_create(card_dir)
    with (
        running_server(
            tmp_path / "srv", card_keys=[credentials.card_key], trust_ca=[card_dir / "ca.pem"]
        ) as srv,
        served_site(srv, tmp_path / "site") as site,
    ):
        yield srv, site


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def sign_in(page: Page, site: ServedSite, sign: Callable[[str], None]) -> None:
    page.goto(site.url + "/signin")
    accessible(page)
    page.get_by_role("button", name="コードを表示する").click()
    code = page.locator("#user-code").inner_text()
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}", code)
    assert "code" not in page.url.lower() and code not in page.url
    accessible(page)
    sign(code)
    page.wait_for_url(site.url + "/me", timeout=15_000)  # the page's own script saw it signed


def sell_at_markup_merchant(srv: RunningServer, card_key: str) -> None:
    conn = sqlite3.connect(srv.db_path)
    with conn:
        conn.execute("UPDATE merchants SET name = '<script>alert(1)</script>' WHERE id = 'yamato-bakery'")
    conn.close()
    token = srv.tokens["yamato-bakery-t1"]
    answer = httpx.post(
        srv.url + "/v1/sales",
        json=sale(card_key, total=800, points={TENRI: 800}),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200, answer.text


def check_own_page(page: Page) -> None:
    expect(page.get_by_role("heading", name="わたしのポイント")).to_be_visible()
    expect(page.locator(".balance .amount")).to_have_text("4,200")  # 5,000 less the 800 of the sale
    # The merchant named like markup is text in the history, and nothing ran.
    expect(page.get_by_role("cell", name="<script>alert(1)</script>")).to_be_visible()
    accessible(page)
    size = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert size >= 16
    # Keyboard: the first Tab reaches the skip link.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "本文へ移動"
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("ダウンロード")).click()
    assert pathlib.Path(download.value.path()).read_bytes().startswith("\ufeff日時".encode())


def test_a_resident_signs_in_with_the_simulated_card_and_sees_the_balance(
    stack: tuple[RunningServer, ServedSite], browser: Browser, card_dir: pathlib.Path
) -> None:
    srv, site = stack
    sell_at_markup_merchant(srv, CardCredentials.load_or_create(card_dir).card_key)
    context = browser.new_context()
    page = context.new_page()

    def sign(code: str) -> None:
        done = site.helper(code, "--reader", "sim", "--sim-card", str(card_dir), typed=f"{PIN}\n")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "天理のおみやげ特設サイト" in done.stdout and site.url in done.stdout

    sign_in(page, site, sign)
    check_own_page(page)
    cookie = next(c for c in context.cookies() if c["name"] == "mk_site")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    page.get_by_role("button", name="サインアウト").click()
    expect(page.get_by_role("heading", name="サインアウトしました")).to_be_visible()
    accessible(page)
    page.goto(site.url + "/me")
    assert page.url == site.url + "/signin"
    for path in ("/", "/no-such-page"):
        page.goto(site.url + path)
        accessible(page)
    context.close()


def test_without_javascript_the_waiting_page_refreshes_itself(
    stack: tuple[RunningServer, ServedSite], browser: Browser, card_dir: pathlib.Path
) -> None:
    _srv, site = stack
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()

    def sign(code: str) -> None:
        assert (
            site.helper(code, "--reader", "sim", "--sim-card", str(card_dir), typed=f"{PIN}\n").returncode
            == 0
        )

    page.goto(site.url + "/signin")
    page.get_by_role("button", name="コードを表示する").click()
    sign(page.locator("#user-code").inner_text())
    page.wait_for_url(site.url + "/me", timeout=15_000)  # by the <noscript> meta refresh
    expect(page.locator(".balance .amount")).to_have_text("5,000")
    context.close()


@pytest.mark.pcscd
def test_a_resident_signs_in_with_the_virtual_my_number_card_through_pcscd(
    stack: tuple[RunningServer, ServedSite], browser: Browser, card_dir: pathlib.Path, empty_readers: None
) -> None:
    _srv, site = stack
    card = VirtualCard(JpkiCard(CardCredentials.load_or_create(card_dir), pin=PIN), 0)
    card.insert()
    try:
        page = browser.new_context().new_page()

        def sign(code: str) -> None:
            done = site.helper(code, typed=f"{PIN}\n")
            assert done.returncode == 0, done.stdout + done.stderr
            assert PIN not in done.stdout + done.stderr

        sign_in(page, site, sign)
        expect(page.locator(".balance .amount")).to_have_text("5,000")
    finally:
        card.remove()
