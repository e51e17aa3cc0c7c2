"""English mode says everything the counter itself words in English (shop and program names stay)."""

from __future__ import annotations

import re
from collections.abc import Callable

from textual.widgets import Footer, Static

from pos import i18n
from pos.app import PosApp
from tests.pos.app.conftest import SIZE
from tests.pos.app.helpers import fill, ready, settle, type_in
from tests.support.counter_server import CounterServer

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def screen_text(app: PosApp) -> str:
    """Every Static's text and the key bar's descriptions on the current screen."""
    texts = [str(w.content) for w in app.screen.query(Static) if w.id not in ("shop", "receipt")]
    for footer in app.screen.query(Footer):
        texts += [str(key.render()) for key in footer.children]
    texts += [active.binding.description for active in app.screen.active_bindings.values()]
    return "\n".join(texts)


async def test_the_counter_speaks_english_on_the_sale_and_payment_screens(
    make_app: Callable[..., PosApp], real_server: CounterServer
) -> None:
    app = make_app()
    i18n.set_language("en")
    try:
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            await pilot.press("f1")
            await pilot.pause()
            await pilot.press("f2")  # 8 % food
            await type_in(pilot, "300")
            seen = screen_text(app)
            assert "Food" in seen and not JAPANESE.search(seen), seen
            await pilot.press("f10")
            await settle(pilot)
            seen = screen_text(app)
            assert not JAPANESE.search(seen), seen
            await fill(pilot, "#cash", "100")
            seen = screen_text(app)
            assert "Short" in seen and not JAPANESE.search(seen), seen
    finally:
        i18n.set_language("ja")
