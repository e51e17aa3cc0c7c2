"""The counter app's figures, against a real server on loopback.

- ``tui_start_ms``: process start → home screen ready (config loaded, journal resumed); baseline
  ``tui_hello_start_ms``, a bare Textual app started the same way. Target < 1,500 ms.
- ``tap_to_balance_ms``: median of card-present event → balances rendered (simulated reader,
  card read through the same host code as PC/SC, lookup over HTTP); baseline
  ``lookup_roundtrip_ms``, the lookup alone. Target < 100 ms.
- ``z_report_ms``: the Z report's figures for a day of 2,000 sales, from the journal to the
  rendered bytes; baseline ``day_read_ms``, reading the day's entries alone. Target < 500 ms.
- ``scan_to_line_ms``: median of a keyboard-wedge scan (13 digits and Enter, as the scanner types
  them) of a product among 5,000 in ``items.toml`` → its line on the sale screen; baseline
  ``typed_amount_to_line_ms``, a 3-digit amount typed and Enter. Target < 50 ms.
- ``sync_10k_s``: 10,000 queued offline sales synced in journal order (``POST /v1/sales/batch``);
  baseline ``journal_queue_10k_s``, writing them to the journal. Target < 10 s.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

from _figures import record
from ulid import ULID

from points.tax import Line, TaxRate
from points.wire import RateAmount, SaleRequest
from pos.journal import Journal
from pos.sync import ServerClient, Syncer
from tests.support.server import ROOT, running_server

TERMINAL = "yamato-bakery-t1"

START_CHILD = """
import asyncio, sys, time
t0 = float(sys.argv[1])
{body}
asyncio.run(main())
print(round((time.time() - t0) * 1000))
"""

APP_BODY = """
from pos.app import build, parse_args
async def main():
    app = build(parse_args(sys.argv[2:]))
    async with app.run_test(headless=True, size=(100, 34)) as pilot:
        await app.ready.wait()
        await pilot.pause()
        assert type(app.screen).__name__ == "HomeScreen", app.screen
"""

HELLO_BODY = """
from textual.app import App
from textual.widgets import Static
class Hello(App):
    def compose(self):
        yield Static("こんにちは")
async def main():
    async with Hello().run_test(headless=True, size=(100, 34)) as pilot:
        await pilot.pause()
"""


def start_ms(body: str, args: list[str]) -> int:
    """Milliseconds from just before the process starts to the app ready (reported by the child)."""
    code = START_CHILD.format(body=body)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code, str(time.time()), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    if out.returncode:
        raise RuntimeError(out.stderr)
    return int(out.stdout.strip().splitlines()[-1])


async def taps(app_args: list[str], rounds: int) -> list[float]:
    """Tap a demo card ``rounds`` times; milliseconds from the tap to the balances on screen."""
    from textual.widgets import Static

    from pos.app import build, parse_args
    from pos.card.simulated import DEMO_UIDS, SimulatedReader
    from pos.screens.balance import BalanceScreen

    app = build(parse_args(app_args))
    reader = app.reader
    assert isinstance(reader, SimulatedReader)
    card = SimulatedReader.uid_card(DEMO_UIDS[0])
    times = []
    async with app.run_test(headless=True, size=(100, 34)) as pilot:
        await app.ready.wait()
        for _ in range(rounds):
            start = time.perf_counter()
            reader.tap(card)
            while True:
                await asyncio.sleep(0.001)
                screen = app.screen
                # The screen may be pushed before it has composed: wait for its balances widget.
                found = screen.query("#balances") if isinstance(screen, BalanceScreen) else None
                if found and " pt" in str(found.first(Static).content):
                    break
            times.append((time.perf_counter() - start) * 1000)
            reader.remove()
            await pilot.press("escape")
            await pilot.pause()
    return times


def bakery_items(path: pathlib.Path, count: int) -> list[str]:
    """Write an ``items.toml`` of ``count`` products; returns their JAN codes."""
    from points import jan

    codes = [jan.make(f"49{n:010d}") for n in range(count)]
    rows = ["default_rate = 8", '[[department]]\nkey = "A"\nname = "パン"\nrate = 8']
    rows += [
        f'[[product]]\njan = "{code}"\nname = "パン {n}"\nprice = {100 + n % 400}'
        for n, code in enumerate(codes)
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return codes


async def scans(app_args: list[str], codes: list[str], rounds: int) -> tuple[list[float], list[float]]:
    """Scan ``rounds`` codes and type ``rounds`` amounts; ms from the first key to the line shown."""
    from textual import events
    from textual.widgets import Static

    from pos.app import build, parse_args
    from pos.screens.sale import SaleScreen

    app = build(parse_args(app_args))
    scanned, typed = [], []
    async with app.run_test(headless=True, size=(100, 34)) as pilot:
        await app.ready.wait()
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, SaleScreen)
        lines = app.screen.query_one("#lines", Static)
        for round_no in range(rounds):
            for keys, times in ((codes[round_no * 97 % len(codes)], scanned), ("380", typed)):
                before = len(app.basket.lines)
                start = time.perf_counter()
                # A wedge scanner's burst: key events queued at once, as the terminal driver posts
                # them (Pilot.press waits ~70 ms for the app to go idle after each key).
                for key in keys:
                    app.post_message(events.Key(key, key))
                app.post_message(events.Key("enter", "\r"))
                deadline = time.perf_counter() + 10
                while len(app.basket.lines) == before or str(lines.content).count("\n") < before:
                    assert time.perf_counter() < deadline, "the line never appeared"
                    await asyncio.sleep(0.0005)
                times.append((time.perf_counter() - start) * 1000)
            if len(app.basket.lines) > 40:
                app.basket.lines.clear()
                app.screen.show_basket()  # type: ignore[attr-defined]
    return scanned, typed


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = pathlib.Path(tmp_name)
        with running_server(tmp / "srv") as server:
            token = server.tokens[TERMINAL]
            args = [
                "--config", str(tmp / "none.toml"), "--server", server.url, "--token", token,
                "--printer", "none", "--reader", "sim", "--journal", str(tmp / "start.db"),
            ]  # fmt: skip
            hello = statistics.median(start_ms(HELLO_BODY, []) for _ in range(3))
            start = statistics.median(start_ms(APP_BODY, args) for _ in range(3))
            record("tui_hello_start_ms", hello, "baseline: a bare Textual app")
            record("tui_start_ms", start, f"target < 600; {start / hello:.2f}x the bare app")

            card_key = str(server.cards["sato"]["card_key"])
            client = ServerClient(server.url, token)
            lookups = []
            for _ in range(30):
                begin = time.perf_counter()
                client.lookup(card_key)
                lookups.append((time.perf_counter() - begin) * 1000)
            lookup = round(statistics.median(lookups), 2)
            tap = round(statistics.median(asyncio.run(taps(args, 30))), 2)
            record("lookup_roundtrip_ms", lookup, "baseline: the lookup alone")
            record("tap_to_balance_ms", tap, f"target < 100; {tap / lookup:.1f}x the lookup")

            codes = bakery_items(tmp / "items.toml", 5_000)  # beside none.toml: the app reads it
            scanned, typed = asyncio.run(scans(args, codes, 30))
            scan, amount = round(statistics.median(scanned), 2), round(statistics.median(typed), 2)
            record("typed_amount_to_line_ms", amount, "baseline: 3 digits typed and Enter")
            record("scan_to_line_ms", scan, f"target < 50; {scan / amount:.1f}x a typed amount")
            (tmp / "items.toml").unlink()

            journal = Journal(tmp / "sync.db")
            lines = [Line("商品", 550, 2, TaxRate.REDUCED)]
            now = dt.datetime.now(dt.UTC)
            begin = time.perf_counter()
            for number in range(1, 10_001):
                sale = SaleRequest(
                    sale_id=str(ULID()),
                    terminal_time=now,
                    receipt_no=number,
                    totals=[RateAmount(rate=TaxRate.REDUCED, amount=1100)],
                    cash=1100,
                    offline=True,
                )
                journal.begin_sale(sale, lines, offline=True)
            queued = round(time.perf_counter() - begin, 2)
            begin = time.perf_counter()
            report = Syncer(journal, client).sync()
            synced = round(time.perf_counter() - begin, 2)
            assert report.error is None and report.remaining == 0 and len(report.synced) == 10_000, (
                report.error
            )
            from points.wire import TerminalConfig
            from pos import receipts
            from printers import render

            config = TerminalConfig.model_validate_json(
                str(Journal(tmp / "start.db").get_meta("terminal_config"))
            )
            day_journal = Journal(tmp / "day.db")
            for number in range(1, 2_001):
                sale = SaleRequest(
                    sale_id=str(ULID()), terminal_time=now, receipt_no=number,
                    totals=[RateAmount(rate=TaxRate.REDUCED, amount=1100)], cash=2000, offline=True,
                )  # fmt: skip
                day_journal.begin_sale(sale, lines, offline=True)
            day = day_journal.of_day(day_journal.get(sale.sale_id).day)
            begin = time.perf_counter()
            day = day_journal.of_day(day[0].day)
            read = round((time.perf_counter() - begin) * 1000, 1)
            begin = time.perf_counter()
            report = receipts.day_report(
                config, day_journal.of_day(day[0].day), day[0].day, closing=True, z_no=1
            )
            render(report)
            z_ms = round((time.perf_counter() - begin) * 1000, 1)
            assert report.sales.count == 2_000 and report.sales.amount == 2_200_000
            record("day_read_ms", read, "baseline: reading the day's 2,000 entries from the journal")
            record("z_report_ms", z_ms, f"target < 500; {z_ms / read:.1f}x the read")
            record("journal_queue_10k_s", queued, "baseline: writing the 10,000 sales to the journal")
            record("sync_10k_s", synced, f"target < 10; {synced / queued:.2f}x the journal writes")


if __name__ == "__main__":
    main()
