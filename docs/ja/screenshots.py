"""Make the guide's screenshots: the counter app itself saves SVG screenshots (Textual).

Run from the repository root: ``.venv/bin/python docs/ja/screenshots.py``. The app runs headless
against the real server on the demo data (the tests' :mod:`tests.support.counter_server`) and the
simulated reader, so the pictures are the same on every machine except dates: receipts and expiry
dates follow today. (The server's clock runs: the simulated My Number Card's certificate is made
today, and the server will not trust it on a day before that.)
"""

from __future__ import annotations

import asyncio
import pathlib
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from pos import i18n  # noqa: E402
from pos.app import PosApp  # noqa: E402
from pos.card.simulated import DEMO_UIDS, SimulatedReader, demo_jpki_card  # noqa: E402
from pos.counter import Counter  # noqa: E402
from pos.journal import Journal  # noqa: E402
from pos.printing import ReceiptPrinter  # noqa: E402
from tests.support.counter_server import ALICE, CAROL, Clock, build_template, serving  # noqa: E402

IMG = pathlib.Path(__file__).with_name("img")
SIZE = (100, 34)


async def shoot() -> None:
    tmp = pathlib.Path(tempfile.mkdtemp())
    with serving(tmp / "server", build_template(tmp / "demo"), Clock()) as server:
        # Lots expiring soon, so the pictures show them and those programs are offered first.
        server.grant(ALICE, "toshima-points", 800, expires_in_days=10)
        server.grant(CAROL, "tenri-megumi", 500, expires_in_days=10)
        await shoot_with(server.client(), tmp, server)


async def shoot_with(client, tmp: pathlib.Path, server) -> None:  # type: ignore[no-untyped-def]
    i18n.set_language("ja")
    reader = SimulatedReader()
    app = PosApp(
        Counter(Journal(tmp / "journal.db"), client, ReceiptPrinter(f"file://{tmp / 'r.bin'}")), reader
    )
    alice = SimulatedReader.uid_card(DEMO_UIDS[0])

    async with app.run_test(size=SIZE) as pilot:

        async def wait(seconds: float = 0.4) -> None:
            await pilot.pause(seconds)

        async def keys(*names: str) -> None:
            for name in names:
                await pilot.press(name)
            await wait(0.2)

        def save(name: str) -> None:
            app.save_screenshot(str(IMG / f"{name}.svg"))

        await app.ready.wait()
        await wait()
        save("home")
        reader.tap(alice)
        await wait()
        save("balance")
        reader.remove()
        await keys("escape", "f1", *"1100", "enter", "f2", *"648*2", "enter")
        save("sale")
        reader.tap(alice)
        await wait()
        save("payment")
        await keys(*"800", "enter")
        (ticket,) = server.issue_tickets(5000)
        app.screen.query_one("#ticket").value = ticket  # type: ignore[attr-defined]
        await keys("enter")
        save("ticket")
        await keys("enter", *"100", "enter")
        save("short")
        app.screen.query_one("#cash").value = ""  # type: ignore[attr-defined]
        await keys(*"2000", "enter")
        await wait()
        save("receipt")
        await keys("enter", "f1", *"5000", "enter")
        reader.remove()
        reader.tap(demo_jpki_card())
        await wait(0.8)
        await keys(*"5000", "enter", "enter", "enter")
        await wait(0.8)
        save("pin")
        await keys(*"1234", "enter")
        await wait(1.5)  # the card signs (RSA) and the real server checks the signature
        await keys("enter", "f2")
        save("history")
        await keys("v")
        save("void")
        await keys("b")
        save("returns")
        await keys("escape", "escape", "f3")
        save("end_of_day")
        await keys("f5")
        await wait()
        save("x_report")
        await keys("escape", "escape", "f1", *"1100", "enter", "f10")
        await keys("f4", *"600")
        save("tenders")
        await keys("enter", *"500", "enter")
        await wait()
        await keys("escape")
        server.outage()
        await keys("f1", *"300", "enter", "f10")
        await keys(*"300", "enter")
        await wait()
        save("offline")

    # Training mode (練習モード): its own journal, the banner on every screen.
    server.outage(False)
    training = PosApp(
        Counter(Journal(tmp / "journal.training.db"), client, ReceiptPrinter(f"file://{tmp / 't.bin'}")),
        SimulatedReader(),
    )
    training.counter.start_training()
    async with training.run_test(size=SIZE) as pilot:
        await training.ready.wait()
        await pilot.press("f1", *"800", "enter")
        await pilot.pause(0.4)
        training.save_screenshot(str(IMG / "training.svg"))


if __name__ == "__main__":
    IMG.mkdir(exist_ok=True)
    asyncio.run(shoot())
    print("saved", sorted(p.name for p in IMG.glob("*.svg")))
