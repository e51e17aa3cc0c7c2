"""Make the guide's screenshots: the counter app itself saves SVG screenshots (Textual).

Run from the repository root: ``.venv/bin/python docs/ja/screenshots.py``. The app runs headless
against the in-process fake server of the tests and the simulated reader, so the pictures are
the same on every machine except the date and time on receipts.
"""

from __future__ import annotations

import asyncio
import datetime as dt
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
from pos.sync import ServerClient  # noqa: E402
from tests.pos.fake_server import FakeServer  # noqa: E402

IMG = pathlib.Path(__file__).with_name("img")
SIZE = (100, 34)


async def shoot() -> None:
    i18n.set_language("ja")
    tmp = pathlib.Path(tempfile.mkdtemp())
    server = FakeServer(today=dt.date(2026, 11, 27))
    reader = SimulatedReader()
    client = ServerClient("http://pos.test", "token", transport=server.transport)
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
        ticket = server.ticket(500)
        app.screen.query_one("#ticket").value = ticket  # type: ignore[attr-defined]
        await keys("enter")
        save("ticket")
        await keys("enter", *"2000", "enter")
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
        await wait(0.8)
        await keys("enter", "f2")
        save("history")
        await keys("v")
        save("void")
        await keys("escape", "f3")
        save("end_of_day")
        await keys("escape")
        server.down = True
        await keys("f1", *"300", "enter", "f10")
        await keys(*"300", "enter")
        await wait()
        save("offline")


if __name__ == "__main__":
    IMG.mkdir(exist_ok=True)
    asyncio.run(shoot())
    print("saved", sorted(p.name for p in IMG.glob("*.svg")))
