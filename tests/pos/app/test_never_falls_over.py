"""The till never falls over: bounds where they are typed, tickets in any field, failures caught."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.pilot import Pilot

from pos.app import PosApp
from pos.journal import EntryState
from pos.screens.failure import FailureScreen
from pos.screens.home import HomeScreen
from pos.screens.receipt import ReceiptScreen
from pos.screens.resolve import ResolveScreen
from pos.screens.sale import SaleScreen
from pos.screens.tender import TenderScreen
from tests.pos.app.conftest import SIZE
from tests.pos.app.helpers import fill, ready, settle, text_of, type_in
from tests.support.counter_server import CounterServer


def sales(app: PosApp) -> list:  # type: ignore[type-arg]
    return [e for e in app.counter.today() if e.kind.value == "sale"]


async def to_cash(pilot: Pilot[int], amount: str) -> None:
    """F1, the amount, F10 with no card: the focus is on お預かり."""
    await pilot.press("f1")
    await pilot.pause()
    await type_in(pilot, amount)
    await pilot.press("f10")
    await settle(pilot)


async def test_a_ticket_scanned_into_the_cash_field_is_taken_as_a_ticket(
    make_app: Callable[..., PosApp], real_server: CounterServer
) -> None:
    (ticket,) = real_server.issue_tickets(5000)  # one 500-point ticket
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await to_cash(pilot, "500")
        assert app.focused is not None and app.focused.id == "cash"
        await type_in(pilot, ticket)  # the scanner types the QR text where the focus is
        await settle(pilot)
        assert isinstance(app.screen, TenderScreen)
        assert "500" in text_of(pilot, "#message")
        await fill(pilot, "#cash", "")
        await settle(pilot)
        assert isinstance(app.screen, ReceiptScreen)
    (entry,) = sales(app)
    assert entry.state is EntryState.ACCEPTED and entry.sale_request.cash == 0


async def test_a_ticket_scanned_while_typing_items_goes_to_payment_with_it(
    make_app: Callable[..., PosApp], real_server: CounterServer
) -> None:
    (ticket,) = real_server.issue_tickets(5000)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("f1")
        await type_in(pilot, "600")
        await fill(pilot, "#amount", ticket)
        await settle(pilot)
        assert isinstance(app.screen, TenderScreen)
        assert app.screen.checkout is not None and app.screen.checkout.remainder == 100


@pytest.mark.parametrize("typed", ["1000000000", "99999999999999999999999", "12a"])
async def test_an_amount_out_of_bounds_is_refused_where_it_is_typed(
    make_app: Callable[..., PosApp], typed: str
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await to_cash(pilot, "500")
        await type_in(pilot, typed)
        await settle(pilot)
        assert isinstance(app.screen, TenderScreen)
        message = text_of(pilot, "#message")
        assert "100,000,000" in message or "整数" in message
        await fill(pilot, "#cash", "1000")  # and the sale goes on
        await settle(pilot)
        assert isinstance(app.screen, ReceiptScreen)
    assert [e.state for e in sales(app)] == [EntryState.ACCEPTED]


async def test_a_sale_total_above_the_wire_bound_is_refused_on_the_items_screen(
    make_app: Callable[..., PosApp],
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("f1")
        await type_in(pilot, "100000000")
        await type_in(pilot, "1")
        assert isinstance(app.screen, SaleScreen)
        assert "100,000,000" in text_of(pilot, "#message")
        assert app.basket.total == 100_000_000


def boom(*_args: object, **_kwargs: object) -> None:
    raise RuntimeError("injected failure")


#: Each step of a sale, the function failing there, and whether the sale is in the journal by then.
STEPS = [
    ("add a line", "pos.checkout.Basket.add", False),
    ("open payment", "pos.counter.Counter.checkout", False),
    ("take cash", "pos.screens.tender.read_yen", False),
    ("build the request", "pos.checkout.Checkout.request", False),
    ("write the journal", "pos.journal.Journal.begin_sale", False),
    ("send", "pos.sync.ServerClient.post_sale", True),
    ("record the answer", "pos.journal.Journal.accept", True),
    ("print", "pos.printing.ReceiptPrinter.print", True),
    ("show the receipt", "pos.screens.receipt.ReceiptScreen.compose", True),
]


@pytest.mark.parametrize(("step", "target", "written"), STEPS, ids=[s[0] for s in STEPS])
async def test_a_failure_at_any_step_of_a_sale_shows_the_failure_screen_and_the_sale_is_safe(
    make_app: Callable[..., PosApp],
    real_server: CounterServer,
    monkeypatch: pytest.MonkeyPatch,
    step: str,
    target: str,
    written: bool,
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        with monkeypatch.context() as patch:
            patch.setattr(target, boom if "compose" not in target else _failing_compose)
            await pilot.press("f1")
            await pilot.pause()
            await type_in(pilot, "500")
            await pilot.press("f10")
            await settle(pilot)
            if isinstance(app.screen, TenderScreen):
                await fill(pilot, "#cash", "1000")
                await settle(pilot)
            assert isinstance(app.screen, FailureScreen), step
            assert "injected failure" in text_of(pilot, "#failure-detail")
            on_screen = text_of(pilot, "#failure-sale")
        entries = sales(app)
        if written:
            (entry,) = entries
            assert f"{entry.receipt_no}" in on_screen
            assert app.basket.lines == []  # never rung up again as new
        else:
            assert entries == [] and "F1" in on_screen
        # The app goes on: Enter leaves the failure screen, and the sale is finished or resent.
        await pilot.press("enter")
        await settle(pilot)
        if isinstance(app.screen, ResolveScreen):  # unless the background sync got the answer first
            await app.screen.retry()
            await settle(pilot)
            assert isinstance(app.screen, ReceiptScreen)
            await pilot.press("enter")
            await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        if not written:  # the basket was kept: finish the same sale
            await pilot.press("f1")
            await pilot.pause()
            assert app.basket.total in (0, 500)
            if app.basket.total == 0:
                await type_in(pilot, "500")
            await pilot.press("f10")
            await settle(pilot)
            await fill(pilot, "#cash", "1000")
            await settle(pilot)
            assert isinstance(app.screen, ReceiptScreen)
    assert len(sales(app)) == 1
    (entry,) = sales(app)
    assert entry.state in (EntryState.ACCEPTED, EntryState.PENDING)
    assert set(real_server.sales().values()) <= {"accepted"}
    assert (app.counter.journal.path.parent / "errors.log").read_text().count("injected failure") >= 1


def _failing_compose(self: object) -> object:
    raise RuntimeError("injected failure")
