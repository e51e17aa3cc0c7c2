"""The journal across a crash: SIGKILL after the server acknowledged, before the receipt printed.

Real parts: the settlement server (uvicorn subprocess), the TCP test printer, the journal on
disk, and the counter in a subprocess of its own. On restart the app must finish the sale
without selling it again: one sale on the server, one receipt printed, marked as recovered.
"""

from __future__ import annotations

import os
import pathlib
import signal
import sqlite3
import subprocess
import sys
import time

from pos.app import build, parse_args
from pos.journal import EntryState, Journal
from pos.screens.receipt import ReceiptScreen
from tests.support.server import ROOT, running_server
from tests.support.tcp_printer import TcpPrinter


def wait_for(predicate, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def accepted_unprinted(journal_path: pathlib.Path) -> bool:
    if not journal_path.exists():
        return False
    conn = sqlite3.connect(journal_path)
    try:
        row = conn.execute("SELECT state, printed_at FROM entries").fetchone()
    except sqlite3.OperationalError:
        return False  # the app has created the file but not yet its tables
    finally:
        conn.close()
    return row is not None and row[0] == "accepted" and row[1] is None


async def test_sigkill_between_answer_and_print_is_recovered_once(tmp_path: pathlib.Path) -> None:
    journal_path = tmp_path / "journal.db"
    with running_server(tmp_path / "srv") as server, TcpPrinter(stall=True) as printer:
        args = [
            "--config", str(tmp_path / "none.toml"), "--server", server.url,
            "--token", server.tokens["yamato-bakery-t1"], "--journal", str(journal_path),
            "--printer", printer.url + "?timeout=60", "--reader", "sim",
        ]  # fmt: skip
        card_key = str(server.cards["sato"]["card_key"])
        env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CONFIG_HOME": str(tmp_path)}
        crashing = subprocess.Popen(
            [sys.executable, "-m", "tests.pos.crash_sale", card_key, *args], cwd=ROOT, env=env
        )
        try:
            # The server has answered and the journal says so; the printer is not reading.
            wait_for(lambda: accepted_unprinted(journal_path))
            os.kill(crashing.pid, signal.SIGKILL)
        finally:
            crashing.wait()
        assert crashing.returncode == -signal.SIGKILL
        printer.stall = False
        printer.clear()

        app = build(parse_args(args))
        async with app.run_test(size=(100, 40)) as pilot:
            await app.ready.wait()
            for _ in range(40):
                await pilot.pause(0.05)
                if isinstance(app.screen, ReceiptScreen):
                    break
            assert isinstance(app.screen, ReceiptScreen)
            assert "再起動後に復旧" in str(app.screen.query_one("#receipt-title").content)
        (job,) = printer.wait_for_jobs(1)
        assert job.complete and "やまとベーカリー" in "\n".join(job.lines)
        with sqlite3.connect(server.db_path) as db:
            assert db.execute("SELECT count(*) FROM sales").fetchone()[0] == 1

    (entry,) = Journal(journal_path).of_day(entry_day(journal_path))
    assert entry.state is EntryState.ACCEPTED and entry.recovered and entry.print_count == 1
    assert len(printer.jobs) == 1


def entry_day(journal_path: pathlib.Path):  # type: ignore[no-untyped-def]
    import datetime as dt

    with sqlite3.connect(journal_path) as conn:
        return dt.date.fromisoformat(conn.execute("SELECT day FROM entries").fetchone()[0])
