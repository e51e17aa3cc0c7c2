"""Keys typed faster than the screens change land where the shopkeeper meant them (issue 11).

Under ``make demo`` on a busy machine, F10 then ``1000`` Enter in one quick burst sent the digits
to the items screen (still focused while the payment screen was being built) and the Enter to the
points field: the first Enter in お預かり did not register. The keys are posted here all at once,
as a fast hand or a loaded machine delivers them, before the app has handled the first.
"""

from __future__ import annotations

from collections.abc import Callable

from textual import events

from pos.app import PosApp
from pos.screens.receipt import ReceiptScreen
from tests.pos.app.conftest import SIZE
from tests.pos.app.helpers import ready, settle, type_in


def burst(app: PosApp, keys: str) -> None:
    """Post every key at once (no waiting between them), as the terminal hands them over."""
    names = {"F": "f10", "\r": "enter"}
    for char in keys:
        name = names.get(char, char)
        app.post_message(events.Key(name, None if name == "f10" else char))


async def test_cash_typed_right_after_f10_sells_on_the_first_enter(make_app: Callable[..., PosApp]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("f1")
        await pilot.pause()
        await type_in(pilot, "500")
        burst(app, "F1000\r")
        await settle(pilot)
        assert isinstance(app.screen, ReceiptScreen), app.screen
        (sale,) = [e for e in app.counter.today() if e.kind.value == "sale"]
        assert sale.request["cash"] == 1000


async def test_a_whole_sale_typed_in_one_burst(make_app: Callable[..., PosApp]) -> None:
    """Items, Enter to payment, cash, Enter: every key where it belongs, one sale of ¥1,000 cash."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("f1")
        await pilot.pause()
        burst(app, "300\r200\r\r1000\r")
        await settle(pilot)
        assert isinstance(app.screen, ReceiptScreen), app.screen
        (sale,) = [e for e in app.counter.today() if e.kind.value == "sale"]
        assert sale.request["cash"] == 1000
        assert sale.total == 500
