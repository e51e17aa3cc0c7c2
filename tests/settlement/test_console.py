"""The settlement console (Textual Pilot) against the real app in process, with clerks' tokens."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import aiohttp
import httpx
import pytest
from textual.widgets import DataTable, Input, Static
from textual_serve.download_manager import DownloadManager

from points.calendar import previous_month
from server import db
from server.console import cli as settle_cli
from server.console import serve
from server.console.app import SettleApp
from server.console.client import ConsoleError, SettleClient
from server.console.confirm import ConfirmScreen
from server.console.signin import SignInScreen
from server.settlement import zengin
from tests.settlement.demo_server import DEC, Demo, make_demo, sell
from tests.settlement.pilot import settle, until
from tests.support.browser import served_console


@pytest.fixture
def month(tmp_path: pathlib.Path) -> Iterator[Demo]:
    d = make_demo(tmp_path / "server")
    yield d
    d.app.state.store.close()


def console(d: Demo, who: str, out: pathlib.Path) -> SettleApp:
    client = SettleClient("http://settle.test", d.tokens[who], transport=httpx.ASGITransport(app=d.app))
    return SettleApp(client, "2026-11", out, dt.date(2026, 12, 10), who=who)


def status(app: SettleApp) -> str:
    return str(app.query_one("#status", Static).content)


YAMATO = "2026-11:yamato-bakery:tenri-megumi"


async def confirm(pilot: object, app: SettleApp) -> None:
    """Answer はい to the console's question (close, approve and return each ask)."""
    await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
    await pilot.press("y")  # type: ignore[attr-defined]


async def test_a_chamber_clerk_closes_reviews_and_returns_a_claim(
    month: Demo, tmp_path: pathlib.Path
) -> None:
    await sell(month, "yamato-bakery", "sato", 1200)
    await sell(month, "sakura-books", "suzuki", 300)
    month.clock[0] = DEC
    app = console(month, "tenri-cci", tmp_path / "out")
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        table = app.query_one("#claims", DataTable)
        assert table.row_count == 0
        await pilot.click("#close")
        await confirm(pilot, app)
        # The first claim is selected: its sales are listed below.
        await until(pilot, lambda: table.row_count == 2 and app.query_one("#lines", DataTable).row_count == 1)
        assert "締めました" in status(app)
        await pilot.click("#return")
        await until(pilot, lambda: "理由" in status(app))  # a return needs a reason
        first = app.selected or ""
        app.query_one("#reason", Input).value = "レシートの写しをお願いします"
        await pilot.pause(0.3)
        await pilot.click("#return")
        await confirm(pilot, app)
        await until(pilot, lambda: app.claims[first].state == "returned")
        assert app.claims[first].return_reason == "レシートの写しをお願いします"
        table.move_cursor(row=1)
        await until(pilot, lambda: app.selected == YAMATO)
        await pilot.press("a")
        await confirm(pilot, app)
        await until(pilot, lambda: app.claims[YAMATO].state == "approved")
        assert app.selected == YAMATO
        assert "判定: 一致" in str(app.query_one("#recon", Static).content)
        await pilot.click("#summary")
        await until(pilot, lambda: (tmp_path / "out" / "summary-2026-11.csv").exists())
    summary = (tmp_path / "out" / "summary-2026-11.csv").read_bytes()
    assert summary.startswith(b"\xef\xbb\xbf") and "やまとベーカリー".encode() in summary


async def test_a_city_clerk_approves_payment_and_downloads_the_zengin_file(
    month: Demo, tmp_path: pathlib.Path
) -> None:
    await sell(month, "yamato-bakery", "sato", 1200)
    month.clock[0] = DEC
    async with month.client("tenri-cci") as chamber:
        await chamber.post("/v1/periods/2026-11/close")
        await chamber.post(f"/v1/claims/{YAMATO}/approve")
    app = console(month, "tenri", tmp_path / "out")
    zengin_file = tmp_path / "out" / "zengin-2026-11-1210.txt"
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: app.query_one("#claims", DataTable).row_count == 1)
        await pilot.press("a")
        await confirm(pilot, app)
        await until(pilot, lambda: app.claims[YAMATO].state == "payment_approved")
        await pilot.press("z")
        await until(pilot, zengin_file.exists)
        assert "全銀" in status(app)
        # A city cannot close a chamber's period: the server says so, the console shows it.
        await pilot.click("#close")
        await confirm(pilot, app)
        await until(pilot, lambda: "権限" in status(app))
    assert zengin.read(zengin_file.read_bytes(), 2026).total == 1200


async def test_an_unreachable_server_is_said_in_words(tmp_path: pathlib.Path) -> None:
    client = SettleClient("http://127.0.0.1:9", "nothing")
    app = SettleApp(client, "2026-11", tmp_path, who="nowhere")
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: "接続できません" in status(app))
        assert "Cannot reach" not in status(app) and "(unreachable)" in status(app)  # one language


async def test_an_answer_that_does_not_fit_its_model_is_said_in_words() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[{"id": "2026-11:x:y", "state": "lost"}])

    client = SettleClient("http://settle.test", "t", transport=httpx.MockTransport(answer))
    with pytest.raises(ConsoleError, match="応答を読めません") as refused:
        await client.claims("2026-11")
    assert refused.value.code == "bad_answer"
    await client.aclose()


def test_the_default_period_is_last_month() -> None:
    assert previous_month(dt.date(2026, 12, 3)).id == "2026-11"
    assert previous_month(dt.date(2027, 1, 31)).id == "2026-12"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_console_is_served_to_a_browser_on_loopback() -> None:
    port = free_port()
    command = [sys.executable, "-m", "server.console.cli", "serve", "--port", str(port)]
    served = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or served.poll() is not None:
                    raise
                time.sleep(0.2)
        assert page.status_code == 200 and "精算コンソール" in page.text
        assert f"ws://127.0.0.1:{port}/ws" in page.text
        # A page of another site cannot open a console in the clerk's browser.
        assert asyncio.run(handshake(f"ws://127.0.0.1:{port}/ws", "http://evil.example")) == 403
    finally:
        served.kill()
        served.wait()


async def test_a_chamber_clerk_sees_the_names_precheck_and_accepts_before_the_file_is_saved(
    month: Demo, tmp_path: pathlib.Path
) -> None:
    conn = db.connect(month.path)
    conn.execute("UPDATE merchants SET account_holder_kana = 'ｶ)ﾔﾏﾄﾍﾞｰｶﾘｰ' WHERE id = 'yamato-bakery'")
    conn.close()
    await sell(month, "yamato-bakery", "sato", 1200)
    month.clock[0] = DEC
    async with month.client("tenri-cci") as chamber, month.client("tenri") as city:
        await chamber.post("/v1/periods/2026-11/close")
        await chamber.post(f"/v1/claims/{YAMATO}/approve")
        await city.post(f"/v1/claims/{YAMATO}/approve")
    app = console(month, "tenri-cci", tmp_path / "out")
    zengin_file = tmp_path / "out" / "zengin-2026-11-1210.txt"
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: app.query_one("#claims", DataTable).row_count == 1)
        await pilot.press("z")
        names = app.query_one("#names", DataTable)
        await until(pilot, lambda: names.row_count == 1 and "確認" in status(app))
        assert not zengin_file.exists()
        assert names.get_row_at(0)[:4] == ["やまとベーカリー", "受取人名", "ｶ)ﾔﾏﾄﾍﾞｰｶﾘｰ", "ｶ)ﾔﾏﾄﾍﾞ-ｶﾘ-"]
        await pilot.pause(0.3)
        await pilot.click("#accept-name")
        await until(pilot, lambda: "承認しました" in status(app))
        await pilot.press("z")
        await until(pilot, zengin_file.exists)
    assert zengin.read(zengin_file.read_bytes(), 2026).transfers[0].account.holder == "ｶ)ﾔﾏﾄﾍﾞ-ｶﾘ-"


async def handshake(url: str, origin: str) -> int:
    async with aiohttp.ClientSession() as http:
        try:
            async with http.ws_connect(url, headers={"Origin": origin}):
                return 101
        except aiohttp.WSServerHandshakeError as refused:
            return refused.status


async def test_a_session_that_does_not_quit_when_its_tab_closes_is_killed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # textual-serve's AppService.stop only asks the process to quit and waits for it.
    monkeypatch.setattr(serve, "STOP_GRACE_SECONDS", 0.5)
    stubborn = [sys.executable, "-c", "print('__GANGLION__', flush=True); import time; time.sleep(60)"]

    async def ignore(data: bytes | str) -> None:
        pass

    async def close() -> None:
        pass

    service = serve.SessionService(
        stubborn, "192.0.2.1", write_bytes=ignore, write_str=ignore, close=close,
        download_manager=DownloadManager(),
    )  # fmt: skip
    await service.start(80, 24)
    assert service.pid is not None and os.kill(service.pid, 0) is None
    await asyncio.wait_for(service.stop(), 5)
    assert service._process is not None and service._process.returncode == -signal.SIGKILL


def test_a_session_never_inherits_the_token_and_learns_the_browser_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MYKEY_SETTLE_TOKEN", "mk_secret")

    async def nothing(*args: object) -> None:
        pass

    service = serve.SessionService(
        ["true"], "192.0.2.1", write_bytes=nothing, write_str=nothing, close=nothing,
        download_manager=DownloadManager(),
    )  # fmt: skip
    environment = service._build_environment()
    assert "MYKEY_SETTLE_TOKEN" not in environment and environment[serve.REMOTE_ENV] == "192.0.2.1"


def test_serve_takes_no_token_and_no_open_port_without_tls(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = tmp_path / "token"
    token.write_text("mk_test\n")
    assert settle_cli.main(["serve", "--token-file", str(token)]) == 2
    assert settle_cli.main(["serve", "--token", "mk_test"]) == 2
    assert "各ブラウザでサインイン" in capsys.readouterr().err  # Japanese by default, alone
    assert settle_cli.main(["serve", "--host", "0.0.0.0", "--language", "en"]) == 2
    assert "needs TLS" in capsys.readouterr().err
    assert settle_cli.main(["serve", "--host", "0.0.0.0", "--tls-cert", str(token)]) == 2


async def test_without_a_token_the_console_asks_for_one_and_shows_nothing_until_it_is_right(
    month: Demo, tmp_path: pathlib.Path
) -> None:
    await sell(month, "yamato-bakery", "sato", 1200)
    month.clock[0] = DEC
    async with month.client("tenri-cci") as chamber:
        await chamber.post("/v1/periods/2026-11/close")
    client = SettleClient("http://settle.test", transport=httpx.ASGITransport(app=month.app))
    app = SettleApp(client, "2026-11", tmp_path, remote="192.0.2.9")
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, SignInScreen)
        await pilot.press("r", "a", "z")  # typed into the token field, never actions
        app.screen.query_one("#token", Input).value = "mk_wrong"
        await pilot.press("enter")
        await until(
            pilot,
            lambda: "トークンが正しくない" in str(app.screen.query_one("#signin-status", Static).content),
        )
        assert app.claims == {} and not client.has_token
        app.screen.query_one("#token", Input).value = month.tokens["tenri-cci"]
        await pilot.press("enter")
        await until(pilot, lambda: YAMATO in app.claims)
        assert not isinstance(app.screen, SignInScreen) and "tenri-cci" in app.sub_title
        await pilot.click("#signout")
        await until(pilot, lambda: isinstance(app.screen, SignInScreen))
        assert app.claims == {} and app.query_one("#claims", DataTable).row_count == 0
        assert not client.has_token


async def test_a_session_ends_when_serve_is_killed() -> None:
    with served_console("http://127.0.0.1:9") as console:
        async with aiohttp.ClientSession() as http, http.ws_connect(console.url + "/ws") as websocket:
            await websocket.receive(timeout=30)  # the console has started and drawn
            pids = console.sessions()
            assert len(pids) == 1
            os.kill(console.process.pid, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while pathlib.Path(f"/proc/{pids[0]}").exists() and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert not pathlib.Path(f"/proc/{pids[0]}").exists()
