"""Small helpers that make Pilot tests read like the counter work they check."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from pos.app import PosApp


async def ready(pilot: Pilot[int]) -> PosApp:
    """Wait until the app loaded its config and shows its first screen."""
    app: PosApp = pilot.app  # type: ignore[assignment]
    await app.ready.wait()
    await pilot.pause()
    return app


async def type_in(pilot: Pilot[int], text: str, *, enter: bool = True) -> None:
    """Type into the focused input (and press Enter)."""
    for char in text:
        await pilot.press(char)
    if enter:
        await pilot.press("enter")
    await pilot.pause()


async def fill(pilot: Pilot[int], selector: str, text: str) -> None:
    """Focus an input, put the text in at once (as a scanner or a paste would), Enter."""
    field = pilot.app.screen.query_one(selector, Input)
    field.focus()
    field.value = text
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()


def text_of(pilot: Pilot[int], selector: str) -> str:
    """The text of a Static on the current screen."""
    return str(pilot.app.screen.query_one(selector, Static).content)


async def settle(pilot: Pilot[int], rounds: int = 3) -> None:
    """Let workers (network, printer) finish and the screen update."""
    for _ in range(rounds):
        await pilot.pause(0.05)
    # Workers may wait on a modal screen (the PIN): poll (up to ~10 s on a loaded machine) rather
    # than wait on them; a card being read counts as busy too.
    app = pilot.app
    for _ in range(200):
        busy = [w for w in app.workers if w.group != "cards" and not w.is_finished]
        reading = (
            app.card_busy  # type: ignore[attr-defined]
            or app.calls_running > 0  # type: ignore[attr-defined]
            or (app.reader is not None and len(app.reader.events) > 0)  # type: ignore[attr-defined]
        )
        if (not busy and not reading) or isinstance(app.screen, ModalScreen):
            break
        await pilot.pause(0.05)
    await pilot.pause()


async def choose_program(pilot: Pilot[int], name: str) -> None:
    """On the payment screen, F2 until the points field is for the program called ``name``."""
    for _ in range(8):
        if name in text_of(pilot, "#program"):
            return
        await pilot.press("f2")
        await pilot.pause()
    raise AssertionError(f"{name} is not offered: {text_of(pilot, '#program')}")
