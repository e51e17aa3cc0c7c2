"""The shop flows through the real app (Textual Pilot), the simulated reader and the real server."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.pilot import Pilot

from points import tickets
from pos.app import PosApp
from pos.card.simulated import DEMO_UIDS, SimulatedReader, demo_jpki_card
from pos.journal import EntryState
from pos.screens import resolve
from pos.screens.home import HomeScreen
from pos.screens.pin import PinScreen
from pos.screens.receipt import ReceiptScreen
from pos.screens.tender import TenderScreen
from tests.pos.app.conftest import SIZE
from tests.pos.app.helpers import choose_program, fill, ready, settle, text_of, type_in
from tests.support.counter_server import ALICE, BOB, CAROL, CounterServer
from tests.support.tcp_printer import TcpPrinter, tcp_printer  # noqa: F401  (fixture)

ALICE_CARD = SimulatedReader.uid_card(DEMO_UIDS[0])
BOB_CARD = SimulatedReader.uid_card(DEMO_UIDS[1])


async def ring_up(pilot: Pilot[int], amount: str) -> None:
    """From home: start a sale and enter one amount."""
    await pilot.press("f1")
    await pilot.pause()
    await type_in(pilot, amount)


async def tap(pilot: Pilot[int], reader: SimulatedReader, card: object) -> None:
    reader.tap(card)  # type: ignore[arg-type]
    await settle(pilot)


def only_sale(app: PosApp):  # type: ignore[no-untyped-def]
    (entry,) = [e for e in app.counter.today() if e.kind.value == "sale"]
    return entry


async def test_sale_with_points_soonest_expiring_first_and_cash(
    make_app: Callable[..., PosApp], real_server: CounterServer, reader: SimulatedReader
) -> None:
    real_server.grant(ALICE, "toshima-points", 800, expires_in_days=10)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await ring_up(pilot, "1100")
        await tap(pilot, reader, ALICE_CARD)
        assert isinstance(app.screen, TenderScreen)
        assert "としまポイント" in text_of(pilot, "#program")  # expires in 10 days: offered first
        await type_in(pilot, "800")
        await fill(pilot, "#cash", "500")
        await settle(pilot)
        assert isinstance(app.screen, ReceiptScreen)
        preview = text_of(pilot, "#receipt")
        assert "やまとベーカリー" in preview and "T1234567890123" in preview
    # The server drew the soonest-expiring lot first: the 800 that expired in 10 days are gone.
    assert real_server.balance(ALICE, "toshima-points") == 1200
    assert not next(
        b for b in real_server.client().lookup(ALICE).balances if b.program_id == "toshima-points"
    ).expiring
    entry = only_sale(app)
    assert entry.state is EntryState.ACCEPTED and entry.print_count == 1
    assert entry.sale_result.change == 200


async def test_a_card_tapped_on_the_payment_screen_takes_the_points_typed_next(
    make_app: Callable[..., PosApp], real_server: CounterServer, reader: SimulatedReader
) -> None:
    # The clerk opened the payment before the resident found the card: the amount typed after
    # the tap is points, not cash received (it used to land in the cash field and close the sale).
    real_server.grant(ALICE, "toshima-points", 800, expires_in_days=10)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await ring_up(pilot, "1100")
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(app.screen, TenderScreen)
        await tap(pilot, reader, ALICE_CARD)
        await type_in(pilot, "800")
        assert isinstance(app.screen, TenderScreen)
        await fill(pilot, "#cash", "500")
        await settle(pilot)
        assert isinstance(app.screen, ReceiptScreen)
    entry = only_sale(app)
    assert [p.points for p in entry.sale_result.points] == [800]
    assert entry.sale_result.change == 200


async def test_a_card_left_on_the_reader_since_the_balance_inquiry_pays_the_sale(
    make_app: Callable[..., PosApp], real_server: CounterServer, reader: SimulatedReader
) -> None:
    real_server.grant(ALICE, "toshima-points", 800, expires_in_days=10)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await tap(pilot, reader, ALICE_CARD)  # 残高照会 on the home screen
        await pilot.press("escape")
        await settle(pilot)
        await ring_up(pilot, "1100")
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(app.screen, TenderScreen)
        assert "としまポイント" in text_of(pilot, "#program")  # the card's balances, without a second tap
        reader.remove()
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("f10")
        await settle(pilot)
        assert "としまポイント" not in text_of(pilot, "#program")  # lifted: no card any more


async def test_sale_with_a_ticket(make_app: Callable[..., PosApp], real_server: CounterServer) -> None:
    app = make_app()
    (ticket,) = real_server.issue_tickets(5000)  # 10 % of the receipt: one 500-point ticket
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await ring_up(pilot, "1100")
        await pilot.press("f10")
        await settle(pilot)
        await fill(pilot, "#ticket", ticket)
        assert "500" in text_of(pilot, "#sums")
        await fill(pilot, "#cash", "600")
        await settle(pilot)
        assert isinstance(app.screen, ReceiptScreen)
    assert list(real_server.redeemed().values()) == [only_sale(app).id]
    assert app.counter.journal.ticket_used(tickets.decode(ticket).serial)


async def test_a_used_or_forged_ticket_is_refused_at_the_counter(
    make_app: Callable[..., PosApp], real_server: CounterServer
) -> None:
    app = make_app()
    ticket, *_ = real_server.issue_tickets(3000)  # three 100-point tickets
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await ring_up(pilot, "1100")
        await pilot.press("f10")
        await settle(pilot)
        await fill(pilot, "#ticket", ticket[:-2] + ("A" if ticket[-2] != "A" else "B") + ticket[-1])
        assert "有効なポイント券ではありません" in text_of(pilot, "#message")
        await fill(pilot, "#ticket", ticket)
        await fill(pilot, "#ticket", ticket)
        assert "既に使用" in text_of(pilot, "#message")


async def test_sale_with_pin_signed_by_the_card(
    make_app: Callable[..., PosApp], real_server: CounterServer, reader: SimulatedReader
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await ring_up(pilot, "5000")
        await tap(pilot, reader, demo_jpki_card())
        await choose_program(pilot, "天理めぐみ")
        await type_in(pilot, "4000")  # above the no-PIN limit of 3,000
        await fill(pilot, "#cash", "1000")
        await settle(pilot)
        assert isinstance(app.screen, PinScreen)
        assert "3" in str(app.screen.query_one("#tries").content)
        await type_in(pilot, "1234")
        await settle(pilot, 10)
        assert isinstance(app.screen, ReceiptScreen)
    # 10 % awarded back on what was paid beyond points (the 1,000 yen in cash), not on the total.
    assert real_server.balance(CAROL, "tenri-megumi") == 5000 - 4000 + 100
    assert [(a.program_id, a.points) for a in only_sale(app).sale_result.awards] == [("tenri-megumi", 100)]
    assert only_sale(app).sale_request.pin_proof is not None


async def test_wrong_pin_shows_tries_left_and_is_never_retried_for_the_resident(
    make_app: Callable[..., PosApp], real_server: CounterServer, reader: SimulatedReader
) -> None:
    app = make_app()
    card = demo_jpki_card()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await ring_up(pilot, "4000")
        await tap(pilot, reader, card)
        await choose_program(pilot, "天理めぐみ")
        await type_in(pilot, "4000")
        await fill(pilot, "#cash", "0")
        await settle(pilot)
        await type_in(pilot, "9999")
        await settle(pilot, 10)
        assert isinstance(app.screen, PinScreen)
        assert "2" in str(app.screen.query_one("#tries").content)
        assert "暗証番号が違います" in str(app.screen.query_one("#pin-note").content)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, TenderScreen)
    assert real_server.sales() == {}
    assert card.tries_left == 2  # one wrong try, not three


async def test_a_locked_card_sends_the_resident_to_city_hall(
    make_app: Callable[..., PosApp], real_server: CounterServer, reader: SimulatedReader
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await ring_up(pilot, "4000")
        await tap(pilot, reader, demo_jpki_card(tries_left=0))
        await choose_program(pilot, "天理めぐみ")
        await type_in(pilot, "4000")
        await fill(pilot, "#cash", "0")
        await settle(pilot)
        assert isinstance(app.screen, TenderScreen)
        assert "窓口" in text_of(pilot, "#message")
    assert real_server.sales() == {}


async def test_insufficient_balance_is_refused_and_the_sale_stays_open(
    make_app: Callable[..., PosApp], real_server: CounterServer, reader: SimulatedReader
) -> None:
    real_server.leave(BOB, 100)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await ring_up(pilot, "1100")
        await tap(pilot, reader, BOB_CARD)
        await choose_program(pilot, "天理めぐみ")
        await type_in(pilot, "500")
        assert "ポイントが足りません" in text_of(pilot, "#message")
        await fill(pilot, "#points", "100")
        real_server.leave(BOB, 50)  # spent at another shop since the lookup
        await fill(pilot, "#cash", "1000")
        await settle(pilot)
        assert isinstance(app.screen, TenderScreen)
        message = text_of(pilot, "#message")
        assert "ポイントが足りません" in message and "(insufficient_points)" in message
    assert only_sale(app).state is EntryState.REFUSED
    assert len(app.basket.lines) == 1


async def test_reprint_and_void_from_history(
    make_app: Callable[..., PosApp], real_server: CounterServer
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await ring_up(pilot, "800")
        await pilot.press("f10")
        await settle(pilot)
        await fill(pilot, "#cash", "1000")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("f2")
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        assert "再発行" in text_of(pilot, "#receipt")
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("v")
        await settle(pilot)
        assert real_server.sales()[only_sale(app).id] == "accepted"  # asks first
        await pilot.press("v")
        await settle(pilot)
        assert isinstance(app.screen, ReceiptScreen)
        assert "取消" in text_of(pilot, "#receipt")
    assert real_server.sales()[only_sale(app).id] == "voided"
    assert only_sale(app).voided_at is not None and only_sale(app).print_count == 2


async def test_offline_sale_is_queued_then_synced(
    make_app: Callable[..., PosApp], real_server: CounterServer
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        real_server.outage()
        await ring_up(pilot, "1100")
        await pilot.press("f10")
        await settle(pilot)
        await fill(pilot, "#cash", "2000")
        await settle(pilot)
        assert isinstance(app.screen, ReceiptScreen)
        assert "オフライン" in text_of(pilot, "#receipt-title")
        # Cash only: no points to confirm, so the receipt does not say it waits for the server.
        assert "オフライン取引:" not in text_of(pilot, "#receipt").replace("\n", "")
        assert only_sale(app).state is EntryState.OFFLINE
        real_server.outage(False)
        await app.sync_now()
    assert only_sale(app).state is EntryState.SYNCED
    assert list(real_server.sales()) == [only_sale(app).id]


async def test_an_offline_cash_sale_with_a_card_read_says_its_award_waits_for_the_server(
    make_app: Callable[..., PosApp], real_server: CounterServer, reader: SimulatedReader
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await ring_up(pilot, "1100")
        await tap(pilot, reader, ALICE_CARD)
        real_server.outage()
        await fill(pilot, "#cash", "2000")
        await settle(pilot)
        assert isinstance(app.screen, ReceiptScreen)
        assert only_sale(app).state is EntryState.OFFLINE and only_sale(app).request["award_programs"]
        assert "オフライン取引: ポイントはサーバーで確認後に確定します" in text_of(pilot, "#receipt").replace(
            "\n", ""
        )


async def test_offline_card_points_are_disabled_with_a_reason(
    make_app: Callable[..., PosApp], real_server: CounterServer, reader: SimulatedReader
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await ring_up(pilot, "1100")
        await tap(pilot, reader, ALICE_CARD)
        real_server.outage()
        await pilot.press("f5")  # all points of the soonest-expiring program
        await fill(pilot, "#cash", "300")
        await settle(pilot)
        assert isinstance(app.screen, TenderScreen)
        assert "オフライン" in text_of(pilot, "#message")
    assert only_sale(app).state is EntryState.REFUSED
    assert real_server.sales() == {}


async def sell_with_the_answer_lost(
    pilot: Pilot[int], real_server: CounterServer, amount: str, cash: str, *, try_to_leave: bool = False
) -> None:
    """A cash sale whose answer is lost, then let through: it ends on its receipt (or the test fails)."""
    await ring_up(pilot, amount)
    await pilot.press("f10")
    await settle(pilot)
    real_server.lose_answers()
    await fill(pilot, "#cash", cash)
    await settle(pilot)
    assert isinstance(pilot.app.screen, resolve.ResolveScreen)
    if try_to_leave:
        await pilot.press("escape")  # cannot leave: the answer is not known
        assert isinstance(pilot.app.screen, resolve.ResolveScreen)
    real_server.lose_answers(False)
    for _ in range(20):
        await pilot.pause(0.1)
        if isinstance(pilot.app.screen, ReceiptScreen):
            break
    assert isinstance(pilot.app.screen, ReceiptScreen)


async def test_a_lost_answer_is_resent_with_the_same_id_until_known(
    make_app: Callable[..., PosApp], real_server: CounterServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resolve, "RETRY_SECONDS", 0.2)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await sell_with_the_answer_lost(pilot, real_server, "1100", "1100", try_to_leave=True)
    assert list(real_server.sales()) == [only_sale(app).id]  # applied once, though sent twice or more
    assert only_sale(app).state is EntryState.ACCEPTED


async def test_a_resolved_cash_sale_shows_the_change_and_opens_the_drawer(
    make_app: Callable[..., PosApp],
    real_server: CounterServer,
    tcp_printer: TcpPrinter,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A cash sale's answer is lost, then comes: the shopkeeper still sees おつり and the drawer opens."""
    monkeypatch.setattr(resolve, "RETRY_SECONDS", 0.2)
    app = make_app(printer=tcp_printer.url)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await sell_with_the_answer_lost(pilot, real_server, "1100", "2000")
        assert text_of(pilot, "#change") == "おつり ¥900"
        assert app.screen.query_one("#change-digits").value == "900"  # type: ignore[attr-defined]
    jobs = tcp_printer.wait_for_jobs(2)  # the receipt, then the drawer kick
    lines = [line for job in jobs for line in job.lines]
    assert lines.count("[drawer 0 100ms 100ms]") == 1
    assert only_sale(app).state is EntryState.ACCEPTED


async def test_a_typed_serial_redeems_a_ticket_whose_qr_code_is_torn(
    make_app: Callable[..., PosApp], real_server: CounterServer
) -> None:
    app = make_app()
    (torn,) = real_server.issue_tickets(5000)
    used, *_ = real_server.issue_tickets(3000)
    real_server.sell_elsewhere(1000, tickets=[used])
    torn_serial, used_serial = tickets.decode(torn).serial, tickets.decode(used).serial
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await ring_up(pilot, "1100")
        await pilot.press("f10")
        await settle(pilot)
        await fill(pilot, "#ticket", tickets.format_human_serial(used_serial))
        message = text_of(pilot, "#message")
        used_human = tickets.format_human_serial(used_serial)[:-2]
        assert used_human in message and "redeemed" in message  # a used ticket stays refused
        human = tickets.format_human_serial(torn_serial)
        wrong_digit = human[:-1] + str((int(human[-1]) + 1) % 10)
        await fill(pilot, "#ticket", wrong_digit)  # a wrong check digit is not a serial
        assert "有効なポイント券ではありません" in text_of(pilot, "#message")
        await fill(pilot, "#ticket", human)
        assert human[:-2] in text_of(pilot, "#message")
        assert human[:-2] in text_of(pilot, "#sums")
        await fill(pilot, "#cash", "600")
        await settle(pilot)
    result = only_sale(app).sale_result
    assert [(t.serial, t.applied) for t in result.tickets] == [(torn_serial, 500)]
    assert real_server.redeemed()[torn_serial] == only_sale(app).id
