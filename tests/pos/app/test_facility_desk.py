"""The counter app as a facility's entrance desk (区民ひろば池袋), end to end through the real server.

The simulated reader taps the residents' cards; the desk talks to the server with the facility's
own token. 佐藤 (ALICE) is a member (H0000123); BOB's card is not yet, so his first visit links his
existing facility card; a blocked card and a suspended membership are refused in words; the city
reads the day's count, which holds no personal data.
"""

from __future__ import annotations

from points.wire import BlockRequest, MembershipStatus, MembershipStatusChange
from pos.app import PosApp
from pos.card.simulated import DEMO_UIDS, SimulatedReader
from pos.screens.facility import FacilityScreen
from tests.pos.app.conftest import CENTRE, SIZE
from tests.pos.app.helpers import fill, ready, settle, text_of
from tests.support.counter_server import ALICE, BOB, CounterServer


async def test_a_member_enters_once_a_day_and_a_first_visit_links_the_facility_card(
    facility_app: PosApp, reader: SimulatedReader, real_server: CounterServer
) -> None:
    app = facility_app
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert isinstance(app.screen, FacilityScreen)
        await settle(pilot)
        assert text_of(pilot, "#facility") == "区民ひろば池袋"
        # The header names the facility (the server's issuer), not the terminal's merchant.
        assert "区民ひろば池袋" in text_of(pilot, "#shop")
        assert app.counter.config is not None
        assert app.counter.config.merchant.name not in text_of(pilot, "#shop")
        assert "本日の入館 0人" in text_of(pilot, "#today")

        reader.tap(SimulatedReader.uid_card(DEMO_UIDS[0]))
        await settle(pilot)
        assert "H0000123" in text_of(pilot, "#member")
        assert "入館を記録しました" in text_of(pilot, "#message")
        assert "本日の入館 1人" in text_of(pilot, "#today")
        reader.remove()
        await settle(pilot)
        reader.tap(SimulatedReader.uid_card(DEMO_UIDS[0]))
        await settle(pilot)
        assert "本日はすでに入館" in text_of(pilot, "#message")
        assert "本日の入館 1人" in text_of(pilot, "#today")
        reader.remove()
        await settle(pilot)

        # BOB's card is not a member yet: his existing facility card's number is scanned.
        reader.tap(SimulatedReader.uid_card(DEMO_UIDS[1]))
        await settle(pilot)
        assert "まだこの施設に登録されていません" in text_of(pilot, "#message")
        await fill(pilot, "#number", "施設カード")  # not a card number: nothing is sent
        await settle(pilot)
        assert "英数字" in text_of(pilot, "#message")
        await fill(pilot, "#number", "H0000456")
        await settle(pilot)
        assert "H0000456" in text_of(pilot, "#member")
        assert "登録しました" in text_of(pilot, "#message")
        assert "本日の入館 2人" in text_of(pilot, "#today")
        reader.remove()
        await settle(pilot)
    centre = real_server.client(CENTRE)
    answer = centre.membership_lookup(BOB)
    assert answer.membership is not None and answer.membership.number == "H0000456"
    # The city's statistics: a count per facility per day, and nothing about who.
    counts = real_server.client("toshima").visits_today().model_dump()
    assert [(c["issuer_id"], c["visits"]) for c in counts["counts"]] == [(CENTRE, 2)]
    assert "H0000" not in str(counts) and ALICE not in str(counts)


async def test_a_blocked_card_and_a_suspended_membership_are_refused_in_words(
    facility_app: PosApp, reader: SimulatedReader, real_server: CounterServer
) -> None:
    centre = real_server.client(CENTRE)
    suspended = centre.membership_status(
        MembershipStatusChange(number="H0000123", status=MembershipStatus.SUSPENDED, reason="規約違反")
    )
    assert suspended.status is MembershipStatus.SUSPENDED
    desk = real_server.client("tenri-enroll-1")
    bob_account = real_server.client().lookup(BOB).account_number
    assert bob_account is not None
    app = facility_app
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        reader.tap(SimulatedReader.uid_card(DEMO_UIDS[0]))
        await settle(pilot)
        assert "利用登録は停止中" in text_of(pilot, "#message")
        assert "H0000123" not in text_of(pilot, "#member")
        reader.remove()
        await settle(pilot)
        centre.membership_status(MembershipStatusChange(number="H0000123", status=MembershipStatus.ACTIVE))
        reader.tap(SimulatedReader.uid_card(DEMO_UIDS[0]))
        await settle(pilot)
        assert "H0000123" in text_of(pilot, "#member")
        reader.remove()
        await settle(pilot)

        desk.desk_block(BlockRequest(account_number=bob_account, reason="紛失届"))
        reader.tap(SimulatedReader.uid_card(DEMO_UIDS[1]))
        await settle(pilot)
        assert "利用停止中" in text_of(pilot, "#message")
        assert "card_blocked" in text_of(pilot, "#message")
        assert app.screen.unlinked_card is None  # a blocked card is never offered a first visit
        assert "本日の入館 1人" in text_of(pilot, "#today")


HOSTILE = [
    "",
    " ",
    "H0000456 x",
    "施設カード",
    "9" * 400,
    "../../v1/health",
    "H 1",
    "-H1",
    "\x1a",
    "ｈ０００１",
]


async def test_hostile_numbers_typed_at_a_first_visit_never_crash_the_desk(
    facility_app: PosApp, reader: SimulatedReader, real_server: CounterServer
) -> None:
    app = facility_app
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        reader.tap(SimulatedReader.uid_card(DEMO_UIDS[1]))
        await settle(pilot)
        for text in HOSTILE:
            await fill(pilot, "#number", text)
            await settle(pilot)
            assert isinstance(app.screen, FacilityScreen), text
            assert app.screen.unlinked_card == BOB, text  # still waiting for a real number
    assert real_server.client(CENTRE).membership_lookup(BOB).membership is None
