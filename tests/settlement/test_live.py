"""Settlement against a real server: uvicorn on 127.0.0.1, SQLite on disk, the console over HTTP.

The month is the real current month (the server's clock is real): the chamber closes it early,
so a sale made after the close lands in the next period, as a late offline sale would.
"""

from __future__ import annotations

import datetime as dt
import pathlib
import subprocess
import sys
import threading
import time

import httpx
from textual.widgets import Static
from ulid import ULID

from points import bank_days, calendar
from server import db
from server.console.app import SettleApp
from server.console.client import SettleClient
from server.console.confirm import ConfirmScreen
from server.ledger import JST
from server.settlement import periods, zengin
from tests.settlement.pilot import until
from tests.support.server import RunningServer, running_server


def this_and_next_month() -> tuple[str, str]:
    today = dt.datetime.now(JST).date()
    following = (today.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return f"{today:%Y-%m}", f"{following:%Y-%m}"


def sell(srv: RunningServer, shop: str, resident: str, points: int) -> None:
    body = {
        "sale_id": str(ULID()),
        "terminal_time": dt.datetime.now(dt.UTC).isoformat(),
        "receipt_no": 7,
        "card_key": srv.cards[resident]["card_key"],
        "totals": [{"rate": 10, "amount": 2000}],
        "points": [{"program_id": "tenri-megumi", "points": points}],
        "cash": 2000 - points,
    }
    with srv.client(f"{shop}-t1") as client:
        answer = client.post("/v1/sales", json=body)
    assert answer.status_code == 200, answer.text


def register_city_payer(database: pathlib.Path) -> None:
    # The administrator registers the city's paying account while the server runs.
    command = [
        sys.executable, "-c", "import sys; from server.cli import main; sys.exit(main())",
        "payer", "set", "--db", str(database), "--owner", "city:tenri", "--code", "1234567890",
        "--name", "テンリシ", "--bank", "0162", "--branch", "180", "--number", "1111111",
    ]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True, timeout=60)


async def test_close_approve_and_pay_against_a_live_server(tmp_path: pathlib.Path) -> None:
    month, following = this_and_next_month()
    with running_server(tmp_path) as srv:
        sell(srv, "yamato-bakery", "sato", 800)
        sell(srv, "midori-cafe", "suzuki", 500)
        register_city_payer(srv.db_path)
        # The chamber clerk closes the month in the console, over HTTP.
        app = SettleApp(
            SettleClient(srv.url, srv.tokens["tenri-cci"]), month, tmp_path / "out", who="tenri-cci"
        )
        async with app.run_test(size=(140, 40)) as pilot:
            await until(pilot, lambda: "請求 0 件" in str(app.query_one("#status", Static).content))
            await pilot.click("#close")
            # Mid-month: the console warns before it closes; the clerk answers はい.
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            assert "まだ終わっていません" in str(app.screen.query_one("#warning", Static).content)
            await pilot.press("y")
            await until(pilot, lambda: len(app.claims) == 2)
            for claim_id in list(app.claims):
                await app.client.approve(claim_id)
        sell(srv, "yamato-bakery", "takahashi", 300)  # after the close: next period
        with srv.client("tenri") as city:
            for claim in city.get("/v1/claims", params={"period": month}).json():
                assert city.post(f"/v1/claims/{claim['id']}/approve").json()["state"] == "payment_approved"
            answer = city.get(f"/v1/payouts/{month}/zengin")  # dated the next bank business day
            assert answer.status_code == 200, answer.text
            paid = zengin.read(
                answer.content, bank_days.next_bank_business_day(dt.datetime.now(JST).date()).year
            )
            # One transfer, to the chamber's account (Tenri's points are paid via the chamber).
            assert paid.total == 1300 and [t.account.number for t in paid.transfers] == ["7654321"]
            recon = city.get(f"/v1/reconciliation/{month}").json()
            assert recon["balanced"] and recon["net_to_pay"] == 1300
        with srv.client("tenri-cci") as chamber:
            # The late sale waits for next month's close, which cannot happen before next month begins.
            early = chamber.post(f"/v1/periods/{following}/close")
            assert (early.status_code, early.json()["code"]) == (409, "period_not_started")
            again = chamber.post(f"/v1/periods/{month}/close").json()
            assert again["already_closed"] and again["gross"] == 1300
        with httpx.Client(base_url=srv.url) as anonymous:
            assert anonymous.get("/v1/claims").status_code == 401


def test_closing_while_shops_keep_selling_counts_every_sale_once(tmp_path: pathlib.Path) -> None:
    month, following = this_and_next_month()
    shops = ("yamato-bakery", "sakura-books", "tenri-yu", "kitasato-mart")
    residents = ("sato", "suzuki", "takahashi", "tanaka")
    with running_server(tmp_path) as srv:
        stop = threading.Event()
        made: list[int] = []

        def keep_selling(shop: str, resident: str) -> None:
            while not stop.is_set():
                sell(srv, shop, resident, 1)
                made.append(1)

        workers = [
            threading.Thread(target=keep_selling, args=pair) for pair in zip(shops, residents, strict=True)
        ]
        for worker in workers:
            worker.start()
        try:
            while len(made) < 40:
                time.sleep(0.05)
            with srv.client("tenri-cci") as chamber:
                first = chamber.post(f"/v1/periods/{month}/close").json()
            after_close = len(made)
            while len(made) < after_close + 20:
                time.sleep(0.05)
        finally:
            stop.set()
            for worker in workers:
                worker.join()
        # Next month cannot be closed before it begins: close it as the chamber would on its
        # first day, through the server's own close on the same database.
        next_period = calendar.parse_period(following)
        conn = db.connect(srv.db_path)
        try:
            closed = periods.close(conn, "tenri-cci", next_period, "tenri-cci", now=next_period.start)
        finally:
            conn.close()
        second = {"gross": closed.gross}
        # Each sale redeemed 1 point: the two periods together hold every sale exactly once.
        assert first["gross"] > 0 and second["gross"] > 0
        assert first["gross"] + second["gross"] == len(made)
        with srv.client("admin") as admin:
            for period in (month, following):
                assert admin.get(f"/v1/reconciliation/{period}").json()["balanced"]
