"""What every counter screen shares: the status lights, a message line, card events, blocking calls."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from textual.app import ComposeResult
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static

from pos.widgets.status import StatusLights

if TYPE_CHECKING:
    from pos.app import PosApp
    from pos.card.base import CardIdentity

T = TypeVar("T")


class CardRead(Message):
    """A card was tapped and its identity read (posted to the current screen, on the app's loop)."""

    def __init__(self, identity: CardIdentity, reader: str) -> None:
        super().__init__()
        self.identity = identity
        self.reader = reader


class PosScreen(Screen[Any]):
    """A screen with the status lights on top, a message line, and the key bar at the bottom."""

    @property
    def pos(self) -> PosApp:
        """The app, typed."""
        return self.app  # type: ignore[return-value]

    def compose_top(self) -> ComposeResult:
        """The header row: shop name and status lights."""
        yield Static(self.pos.shop_title(), id="shop")
        yield StatusLights(id="status")

    def compose_bottom(self) -> ComposeResult:
        """The message line and the key bar."""
        yield Static("", id="message")
        yield Footer()

    def on_screen_resume(self) -> None:
        """Redraw the lights when the screen comes back to the top."""
        self.pos.refresh_status()

    def say(self, text: str, *, error: bool = False) -> None:
        """Show a message on the message line (red for errors)."""
        message = self.query_one("#message", Static)
        message.set_class(error, "error")
        message.update(text)

    async def blocking(self, function: Callable[..., T], *args: Any) -> T:
        """Run a blocking call (network, disk, printer, card) off the app's loop."""
        self.pos.calls_running += 1
        try:
            return await asyncio.to_thread(function, *args)
        finally:
            self.pos.calls_running -= 1
