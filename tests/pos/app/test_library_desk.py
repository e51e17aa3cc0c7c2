"""The counter app in library mode, end to end: the real server for the terminal, the simulated
reader for the tap, the SIP2 library system on loopback, and the slip on the file printer."""

from __future__ import annotations

import hashlib
import pathlib
from collections.abc import Callable

from points.wire import BlockRequest, MembershipStatus, MembershipStatusChange, TerminalMode
from pos.app import PosApp
from pos.card.simulated import DEMO_UIDS, SimulatedReader
from pos.library.desk import InMemoryMemberships, LibraryDesk
from pos.library.sip2 import Sip2Client
from pos.screens.library import LibraryScreen
from pos.sync import ServerMemberships
from printers import decode
from tests.pos.app.conftest import SIZE
from tests.pos.app.helpers import fill, ready, settle, text_of
from tests.support.counter_server import CounterServer
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
            # No server memberships: the header names the library as its SIP2 setting does.
            assert "大牟田市立図書館" in text_of(pilot, "#shop")
            reader.tap(ALICE_CARD)
            await settle(pilot)
            assert "有明 花子" in text_of(pilot, "#patron")
            for barcode in ("1190000001", "1190000002", "1190000004"):
                await fill(pilot, "#barcode", barcode)
            await pilot.press("f10")
            await settle(pilot)
            assert "3冊を貸出しました" in text_of(pilot, "#message")
            assert "貸出中 3/10冊" in text_of(pilot, "#patron")  # the library's count after lending
            await pilot.press("f4")
            await fill(pilot, "#barcode", "1190000002")
            await settle(pilot)
            assert "返却しました: 吾輩は猫である" in text_of(pilot, "#message")
            assert "貸出中 2/10冊" in text_of(pilot, "#patron")
            assert "坊っちゃん" not in text_of(pilot, "#scanned")  # the lending's lines are gone
            # The next patron taps while the desk is returning: the scanner lends again, as it says.
            reader.remove()
            await settle(pilot)
            reader.tap(ALICE_CARD)
            await settle(pilot)
            assert text_of(pilot, "#desk-mode") == "貸出"
            assert "F10" in text_of(pilot, "#message")
    paper = "\n".join(decode((tmp_path / "receipts.bin").read_bytes()))
    assert "貸出票" in paper and "坊っちゃん" in paper and "有明" not in paper


async def test_library_mode_finds_the_patron_through_the_servers_memberships_and_links_a_first_visit(
    make_app: Callable[..., PosApp],
    reader: SimulatedReader,
    sip2_library: Sip2Library,
    real_server: CounterServer,
    tmp_path: pathlib.Path,
) -> None:
    # The demo resident's card (DEMO_UIDS[0]) is linked on the server to 1100000001 at Omuta.
    app = make_app()
    app.counter.mode_override = TerminalMode.LIBRARY
    # The SIP2 setting names no library: the name on screen can only be the server's.
    with Sip2Client(sip2_library.system("OMUTA", name="")) as client:
        app.library = LibraryDesk(client, ServerMemberships(real_server.client("library-omuta")))
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            assert isinstance(app.screen, LibraryScreen)
            await settle(pilot)
            # The header names the library (the token's issuer), not the terminal's merchant.
            assert "大牟田市立図書館" in text_of(pilot, "#shop")
            assert text_of(pilot, "#library") == "大牟田市立図書館"
            assert app.counter.config is not None
            assert app.counter.config.merchant.name not in text_of(pilot, "#shop")
            reader.tap(ALICE_CARD)
            await settle(pilot)
            assert "有明 花子" in text_of(pilot, "#patron")
            screen = app.screen
            assert screen.standing is not None and screen.standing.patron_id == "1100000001"
            await fill(pilot, "#barcode", "1190000001")
            await pilot.press("f10")
            await settle(pilot)
            assert "1冊を貸出しました" in text_of(pilot, "#message")
    # The slip names the library as the server does, though the SIP2 setting named none.
    paper = "\n".join(decode((tmp_path / "receipts.bin").read_bytes()))
    assert "大牟田市立図書館" in paper and "坊っちゃん" in paper
    # Miyama does not know the card yet: the desk links the resident's Miyama card on the first visit.
    miyama = real_server.client("library-miyama")
    app = make_app()
    app.counter.mode_override = TerminalMode.LIBRARY
    with Sip2Client(sip2_library.system("MIYAMA")) as client:
        app.library = LibraryDesk(client, ServerMemberships(miyama))
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            await settle(pilot)
            assert "みやま市立図書館" in text_of(pilot, "#shop")
            reader.tap(ALICE_CARD)
            await settle(pilot)
            assert "まだこの図書館に登録されていません" in text_of(pilot, "#message")
            await fill(pilot, "#barcode", "1300000002")
            await settle(pilot)
            assert "1300000002" in text_of(pilot, "#message")
            assert "三池 太郎" in text_of(pilot, "#patron")
    answer = miyama.membership_lookup(ALICE_KEY)
    assert answer.membership is not None and answer.membership.number == "1300000002"
    assert [e.issuer_id for e in answer.elsewhere] == ["OMUTA", "YANAGAWA"]


async def test_a_blocked_card_is_refused_at_the_library_desk_like_at_a_shop(
    make_app: Callable[..., PosApp],
    reader: SimulatedReader,
    sip2_library: Sip2Library,
    real_server: CounterServer,
) -> None:
    desk = real_server.client("tenri-enroll-1")
    number = real_server.client().lookup(ALICE_KEY).account_number
    assert number is not None
    desk.desk_block(BlockRequest(account_number=number, reason="紛失届"))
    app = make_app()
    app.counter.mode_override = TerminalMode.LIBRARY
    with Sip2Client(sip2_library.system("OMUTA")) as client:
        app.library = LibraryDesk(client, ServerMemberships(real_server.client("library-omuta")))
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            reader.tap(ALICE_CARD)
            await settle(pilot)
            assert "card_blocked" in text_of(pilot, "#message")
            assert "有明 花子" not in text_of(pilot, "#patron")
    assert "63" not in sip2_library.requests  # the library system was never asked


async def test_a_suspended_patron_is_told_so_at_the_library_desk_and_not_taken_for_a_first_visit(
    make_app: Callable[..., PosApp],
    reader: SimulatedReader,
    sip2_library: Sip2Library,
    real_server: CounterServer,
) -> None:
    omuta = real_server.client("library-omuta")
    omuta.membership_status(
        MembershipStatusChange(number="1100000001", status=MembershipStatus.SUSPENDED, reason="延滞")
    )
    app = make_app()
    app.counter.mode_override = TerminalMode.LIBRARY
    with Sip2Client(sip2_library.system("OMUTA")) as client:
        app.library = LibraryDesk(client, ServerMemberships(omuta))
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            reader.tap(ALICE_CARD)
            await settle(pilot)
            assert "この館での利用登録は停止中です" in text_of(pilot, "#message")
            assert "有明 花子" not in text_of(pilot, "#patron")
            screen = app.screen
            assert isinstance(screen, LibraryScreen) and screen.unlinked_card is None
    assert "63" not in sip2_library.requests  # the library system was never asked
