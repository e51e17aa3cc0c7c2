"""Make the guide's screenshots: the counter app itself saves SVG screenshots (Textual).

Run from the repository root: ``.venv/bin/python docs/ja/screenshots.py`` (``--desks``: only the
library and facility desks' pictures, for library.md). The app runs headless
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

from textual.widgets import Input

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from pos import i18n  # noqa: E402
from pos.app import PosApp  # noqa: E402
from pos.card.simulated import DEMO_UIDS, SimulatedReader, demo_jpki_card  # noqa: E402
from pos.counter import Counter  # noqa: E402
from pos.journal import Journal  # noqa: E402
from pos.printing import ReceiptPrinter  # noqa: E402
from tests.pos.app.helpers import fill, settle  # noqa: E402
from tests.support.counter_server import ALICE, CAROL, Clock, build_template, serving  # noqa: E402

IMG = pathlib.Path(__file__).with_name("img")
SIZE = (100, 34)


async def shoot(desks_only: bool = False) -> None:
    tmp = pathlib.Path(tempfile.mkdtemp())
    with serving(tmp / "server", build_template(tmp / "demo"), Clock()) as server:
        # Lots expiring soon, so the pictures show them and those programs are offered first.
        server.grant(ALICE, "toshima-points", 800, expires_in_days=10)
        server.grant(CAROL, "tenri-megumi", 500, expires_in_days=10)
        if not desks_only:
            await shoot_with(server.client(), tmp, server)
        await shoot_desks(tmp, server)


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
        await keys("escape", "f10")  # the first F10 only asks
        save("z_confirm")
        await keys("escape", "escape", "f1", *"1100", "enter", "f10")  # Escape leaves the day open
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


async def shoot_desks(tmp: pathlib.Path, server) -> None:  # type: ignore[no-untyped-def]
    """The library desk (大牟田市立図書館, the SIP2 emulator) and the facility desk (区民ひろば池袋)."""
    from points.wire import MembershipStatus, MembershipStatusChange, TerminalMode
    from pos.facility import FacilityDesk
    from pos.library.desk import LibraryDesk
    from pos.library.sip2 import Sip2Client
    from pos.sync import ServerMemberships
    from tests.support.sip2_ariake import six_ariake
    from tests.support.sip2_library import Sip2Library

    i18n.set_language("ja")
    sato = SimulatedReader.uid_card(DEMO_UIDS[0])  # 有明 花子 at Omuta (1100000001), H0000123 at the centre
    other = SimulatedReader.uid_card(DEMO_UIDS[1])  # a member of neither yet: the first visits

    def counter(terminal: str, name: str) -> Counter:
        return Counter(
            Journal(tmp / f"journal.{name}.db"),
            server.client(terminal),
            ReceiptPrinter(f"file://{tmp / f'{name}.bin'}"),
        )

    reader = SimulatedReader()
    with Sip2Library(six_ariake()) as libraries, Sip2Client(libraries.system("OMUTA")) as sip2:
        app = PosApp(counter("yamato-bakery-t1", "library"), reader)
        app.counter.mode_override = TerminalMode.LIBRARY
        app.library = LibraryDesk(sip2, ServerMemberships(server.client("library-omuta")))
        async with app.run_test(size=SIZE) as pilot:

            async def save(name: str) -> None:
                await settle(pilot)
                for field in app.screen.query(Input):
                    field.cursor_blink = False
                app.save_screenshot(str(IMG / f"{name}.svg"))

            async def tap(card: bytes) -> None:
                reader.remove()
                await settle(pilot)
                reader.tap(card)

            await app.ready.wait()
            await save("library_home")
            await tap(other)
            await save("library_first_visit")
            await fill(pilot, "#barcode", "1100000002")
            await save("library_linked")
            await tap(sato)
            await settle(pilot)
            for barcode in ("1190000001", "1190000002"):
                await fill(pilot, "#barcode", barcode)
            await save("library_scanned")
            await pilot.press("f10")
            await save("library_lent")
            await pilot.press("f4")
            await fill(pilot, "#barcode", "1190000001")
            await save("library_returned")
            await pilot.press("f4", "f2")
            await fill(pilot, "#barcode", "1100000004")  # 荒尾 健: fines over the library's limit
            await save("library_refused")

    centre = "toshima-hiroba-ikebukuro"
    reader = SimulatedReader()
    app = PosApp(counter("toshima-award-1", "facility"), reader)
    app.counter.mode_override = TerminalMode.FACILITY
    app.facility = FacilityDesk(server.client(centre))
    async with app.run_test(size=SIZE) as pilot:

        async def save(name: str) -> None:
            await settle(pilot)
            for field in app.screen.query(Input):
                field.cursor_blink = False
            app.save_screenshot(str(IMG / f"{name}.svg"))

        async def tap(card: bytes) -> None:
            reader.remove()
            await settle(pilot)
            reader.tap(card)

        await app.ready.wait()
        await save("facility_home")
        await tap(sato)
        await save("facility_entry")
        await tap(sato)
        await save("facility_again")
        await tap(other)
        await save("facility_first_visit")
        await fill(pilot, "#number", "H0000456")
        await save("facility_linked")
        server.client(centre).membership_status(
            MembershipStatusChange(number="H0000123", status=MembershipStatus.SUSPENDED, reason="規約違反")
        )
        await tap(sato)
        await save("facility_suspended")


if __name__ == "__main__":
    IMG.mkdir(exist_ok=True)
    asyncio.run(shoot(desks_only="--desks" in sys.argv))  # --desks: only the library and facility pages
    print("saved", sorted(p.name for p in IMG.glob("*.svg")))
