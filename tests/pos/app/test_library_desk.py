"""The counter app in library mode, end to end: the real server for the terminal, the simulated
reader for the tap, the SIP2 library system on loopback, and the slip on the file printer."""

from __future__ import annotations

import hashlib
import pathlib
from collections.abc import Callable

from points.wire import TerminalMode
from pos.app import PosApp
from pos.card.simulated import DEMO_UIDS, SimulatedReader
from pos.library.desk import InMemoryMemberships, LibraryDesk
from pos.library.sip2 import Sip2Client
from pos.screens.library import LibraryScreen
from printers import decode
from tests.pos.app.conftest import SIZE
from tests.pos.app.helpers import fill, ready, settle, text_of
from tests.support.sip2_library import Sip2Library, sip2_library

__all__ = ["sip2_library"]

ALICE_CARD = SimulatedReader.uid_card(DEMO_UIDS[0])
ALICE_KEY = "uid:" + hashlib.sha256(bytes.fromhex(DEMO_UIDS[0])).hexdigest()


async def test_library_mode_taps_lends_and_prints_the_slip(
    make_app: Callable[..., PosApp],
    reader: SimulatedReader,
    sip2_library: Sip2Library,
    tmp_path: pathlib.Path,
) -> None:
    memberships = InMemoryMemberships()
    memberships.link(ALICE_KEY, "OMUTA", "1100000001")
    app = make_app()
    app.counter.mode_override = TerminalMode.LIBRARY
    with Sip2Client(sip2_library.system("OMUTA")) as client:
        app.library = LibraryDesk(client, memberships)
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            assert isinstance(app.screen, LibraryScreen)
            reader.tap(ALICE_CARD)
            await settle(pilot)
            assert "有明 花子" in text_of(pilot, "#patron")
            for barcode in ("1190000001", "1190000002", "1190000004"):
                await fill(pilot, "#barcode", barcode)
            await pilot.press("f10")
            await settle(pilot)
            assert "3冊を貸出しました" in text_of(pilot, "#message")
    paper = "\n".join(decode((tmp_path / "receipts.bin").read_bytes()))
    assert "貸出票" in paper and "坊っちゃん" in paper and "有明" not in paper
