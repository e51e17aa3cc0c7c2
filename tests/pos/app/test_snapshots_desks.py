"""Snapshots of the library and facility desks' screen states (pytest-textual-snapshot), in Japanese.

The same fixed day and clocks as the other snapshots (:mod:`tests.pos.app.snapshot_day`); the
facility desk talks to the real server with 区民ひろば池袋's token, the library desk to the SIP2
emulator's 大牟田市立図書館 with the server's memberships (Omuta's token).
Update with ``pytest tests/pos/app/test_snapshots_desks.py --snapshot-update`` and look at the SVGs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from textual.pilot import Pilot

from points.wire import MembershipStatus, MembershipStatusChange, TerminalMode
from pos.app import PosApp
from pos.card.simulated import DEMO_UIDS, SimulatedReader
from pos.library.desk import LibraryDesk
from pos.library.sip2 import Sip2Client
from pos.sync import ServerMemberships
from tests.pos.app.conftest import CENTRE, SIZE
from tests.pos.app.helpers import fill
from tests.pos.app.snapshot_day import (  # noqa: F401  (the fixed clocks and lots, by name)
    counter_clock,
    lots_expiring_soon,
    server_time,
    steps,
)
from tests.support.counter_server import CounterServer
from tests.support.sip2_library import Sip2Library, sip2_library

__all__ = ["sip2_library"]

ALICE_CARD = SimulatedReader.uid_card(DEMO_UIDS[0])  # a member of 区民ひろば池袋 and 大牟田 (1100000001)
BOB_CARD = SimulatedReader.uid_card(DEMO_UIDS[1])  # a member of neither yet: a first visit


@pytest.fixture
def library_app(
    make_app: Callable[..., PosApp], sip2_library: Sip2Library, real_server: CounterServer
) -> Iterator[PosApp]:
    app = make_app()
    app.counter.mode_override = TerminalMode.LIBRARY
    with Sip2Client(sip2_library.system("OMUTA")) as client:
        app.library = LibraryDesk(client, ServerMemberships(real_server.client("library-omuta")))
        yield app


def tap(reader: SimulatedReader, card: bytes) -> Callable[[Pilot[int]], None]:
    return lambda pilot: reader.tap(card)


class TestFacility:
    def test_waiting_for_a_card(self, snap_compare: Any, facility_app: PosApp) -> None:
        assert snap_compare(facility_app, terminal_size=SIZE, run_before=steps())

    def test_entry_recorded(self, snap_compare: Any, facility_app: PosApp, reader: SimulatedReader) -> None:
        assert snap_compare(facility_app, terminal_size=SIZE, run_before=steps(tap(reader, ALICE_CARD)))

    def test_first_visit_asks_the_facility_card_number(
        self, snap_compare: Any, facility_app: PosApp, reader: SimulatedReader
    ) -> None:
        assert snap_compare(facility_app, terminal_size=SIZE, run_before=steps(tap(reader, BOB_CARD)))

    def test_first_visit_linked(
        self, snap_compare: Any, facility_app: PosApp, reader: SimulatedReader
    ) -> None:
        run = steps(tap(reader, BOB_CARD), lambda p: fill(p, "#number", "H0000456"))
        assert snap_compare(facility_app, terminal_size=SIZE, run_before=run)

    def test_a_suspended_membership_is_refused(
        self, snap_compare: Any, facility_app: PosApp, reader: SimulatedReader, real_server: CounterServer
    ) -> None:
        real_server.client(CENTRE).membership_status(
            MembershipStatusChange(number="H0000123", status=MembershipStatus.SUSPENDED, reason="規約違反")
        )
        assert snap_compare(facility_app, terminal_size=SIZE, run_before=steps(tap(reader, ALICE_CARD)))


class TestLibrary:
    def test_waiting_for_a_card(self, snap_compare: Any, library_app: PosApp) -> None:
        assert snap_compare(library_app, terminal_size=SIZE, run_before=steps())

    def test_patron_with_items_scanned(
        self, snap_compare: Any, library_app: PosApp, reader: SimulatedReader
    ) -> None:
        run = steps(
            tap(reader, ALICE_CARD),
            lambda p: fill(p, "#barcode", "1190000001"),
            lambda p: fill(p, "#barcode", "1190000002"),
        )
        assert snap_compare(library_app, terminal_size=SIZE, run_before=run)

    def test_lent(self, snap_compare: Any, library_app: PosApp, reader: SimulatedReader) -> None:
        run = steps(
            tap(reader, ALICE_CARD),
            lambda p: fill(p, "#barcode", "1190000001"),
            lambda p: fill(p, "#barcode", "1190000002"),
            lambda p: p.press("f10"),
        )
        assert snap_compare(library_app, terminal_size=SIZE, run_before=run)

    def test_returned(self, snap_compare: Any, library_app: PosApp, reader: SimulatedReader) -> None:
        run = steps(
            tap(reader, ALICE_CARD),
            lambda p: fill(p, "#barcode", "1190000001"),
            lambda p: p.press("f10"),
            lambda p: p.press("f4"),
            lambda p: fill(p, "#barcode", "1190000001"),
        )
        assert snap_compare(library_app, terminal_size=SIZE, run_before=run)

    def test_first_visit_asks_the_library_card(
        self, snap_compare: Any, library_app: PosApp, reader: SimulatedReader
    ) -> None:
        assert snap_compare(library_app, terminal_size=SIZE, run_before=steps(tap(reader, BOB_CARD)))

    def test_first_visit_linked(
        self, snap_compare: Any, library_app: PosApp, reader: SimulatedReader
    ) -> None:
        run = steps(tap(reader, BOB_CARD), lambda p: fill(p, "#barcode", "1100000002"))
        assert snap_compare(library_app, terminal_size=SIZE, run_before=run)

    def test_a_patron_who_may_not_borrow(self, snap_compare: Any, library_app: PosApp) -> None:
        # 荒尾 健 owes fines over the limit: typed by number (F2), the library refuses lending.
        run = steps(lambda p: p.press("f2"), lambda p: fill(p, "#barcode", "1100000004"))
        assert snap_compare(library_app, terminal_size=SIZE, run_before=run)

    def test_a_suspended_membership_is_refused(
        self, snap_compare: Any, library_app: PosApp, reader: SimulatedReader, real_server: CounterServer
    ) -> None:
        real_server.client("library-omuta").membership_status(
            MembershipStatusChange(number="1100000001", status=MembershipStatus.SUSPENDED, reason="延滞")
        )
        assert snap_compare(library_app, terminal_size=SIZE, run_before=steps(tap(reader, ALICE_CARD)))
