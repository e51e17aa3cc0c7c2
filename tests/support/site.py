"""The special site for tests: ``mykey-server site`` as a subprocess beside a live server, on 127.0.0.1.

Usage::

    with running_server(tmp / "srv", card_keys=[key], trust_ca=[ca]) as srv, served_site(srv, tmp) as site:
        site.url            # http://127.0.0.1:PORT
        site.shop_token     # the online_shop token it runs with
        site.helper(code, "--reader", "sim", "--sim-card", dir, typed="1234\\n")   # the card helper

    with running_site(srv.url, srv.tokens[MIYAKONOJO_SHOP[0]], tmp, MIYAKONOJO_SHOP[1]) as site:
        ...                 # a shop the demo data already has

The steps a browser (Playwright) takes on its pages are here too: the axe-core check, the test
card's approval of the code a page shows, the office's sign-in with a token, a purchase.
"""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

import httpx
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from server import admin, approvals, db, ledger
from server.settlement import periods
from tests.server.pki import Card
from tests.support.browser import ROOT, free_port
from tests.support.server import RunningServer

SHOP_ID = "tenri-tokusen"
SITE_NAME = "天理のおみやげ特設サイト"


@dataclass
class ServedSite:
    url: str
    api_url: str
    shop_token: str
    process: subprocess.Popen[bytes]

    def helper(self, code: str, *extra: str, typed: str = "") -> subprocess.CompletedProcess[str]:
        """``mykey-pos card helper`` as its own process with no terminal (getpass reads stdin)."""
        return subprocess.run(
            [sys.executable, "-m", "pos.cli", "card", "helper", "--server", self.api_url, "--code", code,
             "--yes", "--timeout", "20", *extra],
            input=typed, capture_output=True, text=True, timeout=60, start_new_session=True, cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False,
        )  # fmt: skip


def add_shop(database: str | pathlib.Path, origin: str) -> str:
    """The demo city's online shop (run by the demo bakery, accepting tenri-megumi) and its token."""
    conn = db.connect(database)
    with db.atomic(conn):
        approvals.add_shop(
            conn, SHOP_ID, SITE_NAME, merchant_id="yamato-bakery", city_id="tenri", origin=origin,
            programs=["tenri-megumi"], now=ledger.utc_now(),
        )  # fmt: skip
        token = admin.add_principal(conn, SHOP_ID, "online_shop", shop_id=SHOP_ID)
    conn.close()
    return token


@contextmanager
def served_site(server: RunningServer, directory: pathlib.Path) -> Iterator[ServedSite]:
    """The site for ``server``'s demo data, served until the block ends."""
    port = free_port()
    token = add_shop(server.database, f"http://127.0.0.1:{port}")
    with running_site(server.url, token, directory, SITE_NAME, port=port) as site:
        yield site


@contextmanager
def running_site(
    api_url: str, shop_token: str, directory: pathlib.Path, name: str, *, port: int | None = None
) -> Iterator[ServedSite]:
    """``mykey-server site`` for the shop of ``shop_token`` against ``api_url``, until the block ends.

    The token is handed over in a file only its owner reads, as in production; the site's output goes
    to ``directory / "site.log"``.
    """
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    directory.mkdir(parents=True, exist_ok=True)
    token_file = directory / "shop.token"
    token_file.write_text(shop_token)
    token_file.chmod(0o600)
    log = (directory / "site.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "site", "--api", api_url,
         "--shop-token-file", str(token_file), "--port", str(port), "--name", name],
        cwd=ROOT, stdout=log, stderr=log, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(url + "/static/site.css", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the site did not start; see {directory / 'site.log'}")
            time.sleep(0.1)
        yield ServedSite(url, api_url, shop_token, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


# In the browser ------------------------------------------------------------------------


@cache
def _axe() -> Axe:
    return Axe()


def accessible(page: Page) -> None:
    """No serious or critical axe-core violation on the page as shown."""
    results = _axe().run(page)
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], (page.url, bad)


def user_code(page: Page) -> str:
    """The code the page shows for the card helper (``XXXX-XXXX``)."""
    code = re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}", page.inner_text("main"))
    assert code, page.inner_text("main")
    return code[0]


def approve_with_card(page: Page, api_url: str, card: Card) -> None:
    """Sign the code the page shows with the test card over the API, as the card helper does."""
    code = user_code(page)
    with httpx.Client(base_url=api_url) as api:
        found = api.post("/v1/approvals/lookup", json={"user_code": code}).json()
        proof = card.proof({"challenge_id": found["challenge_id"], "nonce": found["nonce"]})
        signed = api.post("/v1/approvals/sign", json={"user_code": code, "pin_proof": proof})
        assert signed.status_code == 200, signed.text


def resident_sign_in(page: Page, site_url: str, approve: Callable[[Page], object]) -> None:
    """Sign in on the site's sign-in page: show the code, ``approve`` it, wait for the resident's page."""
    page.goto(f"{site_url}/signin")
    accessible(page)
    page.get_by_role("button", name="コードを表示する").click()
    page.wait_for_url("**/signin/wait")
    accessible(page)
    approve(page)
    page.wait_for_url("**/me", timeout=20_000)
    accessible(page)


def buy(page: Page, site_url: str, product_id: str, approve: Callable[[Page], object]) -> str:
    """Put one of the product in the cart and pay with points (``approve`` signs); the order's id."""
    page.goto(f"{site_url}/products/{product_id}")
    accessible(page)
    page.get_by_role("button", name="カートに入れる").click()
    page.wait_for_url("**/cart")
    accessible(page)
    page.get_by_role("button", name="ポイントで支払う").click()
    page.wait_for_url("**/checkout/wait")
    accessible(page)
    approve(page)
    page.wait_for_url(re.compile(r".*/orders/[0-9A-Z]{26}$"), timeout=20_000)
    accessible(page)
    return page.url.rsplit("/", 1)[1]


def office_sign_in(page: Page, token: str) -> None:
    """Sign in on the office page shown, with a merchant's or a city's token."""
    page.get_by_label("トークン").fill(token)
    page.get_by_role("button", name="サインイン").click()
    page.wait_for_url("**/office")


def close_month_online(database: str | pathlib.Path, program_id: str) -> dict[str, int]:
    """Close this month for Miyakonojo's chamber; each shop's pay for its online sales in ``program_id``."""
    conn = db.connect(database)
    try:
        period = ledger.business_date(ledger.utc_now()).strftime("%Y-%m")
        periods.close(conn, "miyakonojo-cci", periods.parse_period(period), "test")
        paid = dict(
            conn.execute(
                "SELECT merchant_id, net FROM claims WHERE period_id = ? AND program_id = ? AND online != 0",
                (period, program_id),
            ).fetchall()
        )
        assert ledger.check(conn) == []
    finally:
        conn.close()
    return {str(k): int(v) for k, v in paid.items()}
