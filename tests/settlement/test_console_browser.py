"""The console in a browser: ``mykey-settle serve`` in front of a live server, driven in Chromium.

One live server for the module, with a closed month holding a claim of やまとベーカリー. Each test
serves the console afresh and opens tabs in browser contexts of their own, as two clerks (or one
clerk and a passer-by) would.
"""

from __future__ import annotations

import datetime as dt
import pathlib
import ssl
import time
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser

from server.ledger import JST
from tests.server.pki import make_ca, make_server_cert
from tests.settlement.test_live import sell
from tests.support.browser import ConsoleTab, chromium, served_console
from tests.support.server import RunningServer, running_server

pytestmark = pytest.mark.slow

MERCHANT = "やまとベーカリー"
PROMPT = "トークンを入力してください"
MONTH = f"{dt.datetime.now(JST).date():%Y-%m}"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("server")) as srv:
        sell(srv, "yamato-bakery", "sato", 800)
        with srv.client("tenri-cci") as chamber:
            assert chamber.post(f"/v1/periods/{MONTH}/close").json()["claims"] == 1
        yield srv


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def console_log(srv: RunningServer) -> list[dict[str, object]]:
    with srv.client("admin") as admin:
        lines: list[dict[str, object]] = admin.get("/v1/log").json()
    return [line for line in lines if str(line["subject"]).startswith("console:")]


def signed_in(tab: ConsoleTab, srv: RunningServer) -> str:
    tab.wait_for(PROMPT)
    tab.type(srv.tokens["tenri-cci"])
    return tab.wait_for(MERCHANT)


def test_a_fresh_browser_session_sees_no_claims_until_it_signs_in(
    live: RunningServer, browser: Browser
) -> None:
    # Served as the clerks' guide used to say: the chamber's token in the environment of `serve`.
    token_env = {"MYKEY_SETTLE_TOKEN": live.tokens["tenri-cci"]}
    with served_console(live.url, "--period", MONTH, env=token_env) as console:
        first = ConsoleTab.open(browser, console.url)
        shown = first.wait_for(lambda text: PROMPT in text or MERCHANT in text)
        assert MERCHANT not in shown and "tenri-cci" not in shown
        assert PROMPT in shown
        first.type("mk_not-the-token")
        shown = first.wait_for("トークンが正しくない")
        assert MERCHANT not in shown
        first.type(live.tokens["tenri-cci"])
        shown = first.wait_for(MERCHANT)
        assert "tenri-cci (chamber)" in shown and "審査待ち" in shown
        second = ConsoleTab.open(browser, console.url)
        shown = second.wait_for(lambda text: PROMPT in text or MERCHANT in text)
        assert MERCHANT not in shown and PROMPT in shown
    actions = [(line["actor"], line["action"], line["subject"]) for line in console_log(live)]
    assert ("-", "console.signin_failed", "console:127.0.0.1") in actions
    assert ("tenri-cci", "console.signin", "console:127.0.0.1") in actions


def test_closing_the_tab_ends_its_console_process_and_signs_it_out(
    live: RunningServer, browser: Browser
) -> None:
    with served_console(live.url, "--period", MONTH) as console:
        tab = ConsoleTab.open(browser, console.url)
        signed_in(tab, live)
        [pid] = console.sessions()
        before = len(console_log(live))
        tab.page.context.close()
        deadline = time.monotonic() + 30
        while console.sessions() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert console.sessions() == []
        assert not pathlib.Path(f"/proc/{pid}").exists()
    last = console_log(live)[before:]
    assert [(line["actor"], line["action"]) for line in last] == [("tenri-cci", "console.signout")]
    assert last[0]["detail"]["reason"] == "closed"  # type: ignore[index]


def test_an_idle_session_is_signed_out_and_the_console_says_so(live: RunningServer, browser: Browser) -> None:
    with served_console(live.url, "--period", MONTH, "--idle-minutes", "0.05") as console:
        tab = ConsoleTab.open(browser, console.url)
        signed_in(tab, live)
        shown = tab.wait_for("操作のないまま")
        assert "without activity" not in shown and PROMPT in shown and MERCHANT not in shown
    idle = [line for line in console_log(live) if line["action"] == "console.signout"][-1]
    assert idle["detail"]["reason"] == "idle"  # type: ignore[index]


def test_the_console_is_served_over_tls(
    live: RunningServer, browser: Browser, tmp_path: pathlib.Path
) -> None:
    ca = make_ca("Test console CA")
    cert, key = make_server_cert(ca)
    (tmp_path / "cert.pem").write_bytes(cert)
    (tmp_path / "key.pem").write_bytes(key)
    (tmp_path / "ca.pem").write_bytes(ca.pem)
    tls = ["--tls-cert", str(tmp_path / "cert.pem"), "--tls-key", str(tmp_path / "key.pem")]
    verify = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
    with served_console(live.url, "--period", MONTH, *tls, scheme="https", verify=verify) as console:
        page = httpx.get(console.url + "/", verify=verify)
        assert "wss://127.0.0.1:" in page.text and page.headers["X-Frame-Options"] == "DENY"
        tab = ConsoleTab.open(browser, console.url, ignore_https_errors=True)
        assert "tenri-cci (chamber)" in signed_in(tab, live)


def wait_gone(pids: list[int], seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while any(pathlib.Path(f"/proc/{pid}").exists() for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not any(pathlib.Path(f"/proc/{pid}").exists() for pid in pids)


def test_stopping_serve_signs_its_sessions_out_and_ends_them(live: RunningServer, browser: Browser) -> None:
    with served_console(live.url, "--period", MONTH) as console:
        tab = ConsoleTab.open(browser, console.url)
        signed_in(tab, live)
        pids = console.sessions()
        before = len(console_log(live))
        console.process.terminate()
        console.process.wait(timeout=30)
        assert wait_gone(pids)
    last = console_log(live)[before:]
    assert [(line["action"], line["detail"]["reason"]) for line in last] == [("console.signout", "closed")]  # type: ignore[index]
