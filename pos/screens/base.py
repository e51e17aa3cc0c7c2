"""What every counter screen shares: the status lights, a message line, card events, blocking calls.

Screens are handed what they need in ``__init__`` (the :class:`~pos.counter.Counter` always;
the basket, the card desk or the settings where they use them) and tell the app what happened
with messages (:class:`SaleFinished`, :class:`StatusStale`, :class:`SettingsSaved`); they do not
reach through the app for its parts.

Key bindings name their description with :func:`pos.i18n.N_`; :func:`translated` puts them into
the current language when the key bar draws them, so the language chosen at start applies
whatever was imported first.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from textual.app import ComposeResult
from textual.binding import ActiveBinding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static

from pos.i18n import _
from pos.widgets.status import StatusLights

if TYPE_CHECKING:
    from pos import settings as settings_module
    from pos.card.base import CardIdentity
    from pos.counter import Counter, SaleDone

T = TypeVar("T")


class CardRead(Message):
    """A card was tapped and its identity read (posted to the current screen, on the app's loop)."""

    def __init__(self, identity: CardIdentity, reader: str) -> None:
        super().__init__()
        self.identity = identity
        self.reader = reader


class SaleFinished(Message):
    """A sale is done (answered or queued offline): the app clears the basket and shows the receipt."""

    def __init__(self, done: SaleDone) -> None:
        super().__init__()
        self.done = done


class StatusStale(Message):
    """The status lights on this screen need redrawing (it came back to the top)."""


class JournalChanged(Message):
    """The journal changed behind the current screen (a sync): screens showing it reload."""


class SettingsSaved(Message):
    """The settings screen saved new settings (they apply at the next start)."""

    def __init__(self, settings: settings_module.Settings) -> None:
        super().__init__()
        self.settings = settings


def translated(bindings: dict[str, ActiveBinding]) -> dict[str, ActiveBinding]:
    """Active bindings with their descriptions (message ids) in the current language."""
    return {
        key: active._replace(binding=dataclasses.replace(active.binding, description=_(description)))
        if (description := active.binding.description)
        else active
        for key, active in bindings.items()
    }


class PosScreen(Screen[Any]):
    """A screen with the status lights on top, a message line, and the key bar at the bottom.

    Args:
        counter: the journal, the server client and the printer, with the counter's operations.
    """

    def __init__(self, counter: Counter) -> None:
        super().__init__()
        self.counter = counter
        #: Blocking calls running off the loop for this screen (tests wait until none are left).
        self.calls_running = 0

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        """The key bar's bindings, described in the current language."""
        return translated(super().active_bindings)

    def shop_title(self) -> str:
        """The shop's name and terminal id for the header."""
        config = self.counter.config
        if config is None:
            return "mykey-pos"
        return self.titled(config.merchant.name)

    def titled(self, name: str) -> str:
        """The header's words for ``name`` (a shop, a library, a facility) and the terminal id."""
        config = self.counter.config
        terminal = config.terminal_id if config is not None else ""
        return f"{name}  [dim]{terminal}[/]" if terminal else name

    def retitle(self, name: str) -> None:
        """Show ``name`` in the header instead of the merchant's (a library's or facility's desk)."""
        self.query_one("#shop", Static).update(self.titled(name))

    def compose_top(self) -> ComposeResult:
        """The header row: shop name and status lights."""
        yield Static(self.shop_title(), id="shop")
        if getattr(self.counter, "training", False):  # a stand-in counter in tests has none
            yield Static(_("TRAINING MODE: practice only, nothing is sent"), id="training-banner")
        yield StatusLights(id="status")

    def compose_bottom(self) -> ComposeResult:
        """The message line and the key bar."""
        yield Static("", id="message")
        # Compact: at 80 columns every key of the busiest screen (the sale) still fits on one line.
        yield Footer(compact=True)

    def on_screen_resume(self) -> None:
        """Ask for the lights to be redrawn when the screen comes back to the top."""
        self.post_message(StatusStale())

    async def _dispatch_message(self, message: Message) -> None:
        # A failing handler would stop this screen's message loop and end the app: the app's
        # failure screen takes it instead (the sale stays in the basket or the journal).
        try:
            await super()._dispatch_message(message)
        except Exception as error:
            recover = getattr(self.app, "recover", None)
            if recover is None:
                raise
            recover(error)

    def say(self, text: str, *, error: bool = False) -> None:
        """Show a message on the message line (red for errors)."""
        message = self.query_one("#message", Static)
        message.set_class(error, "error")
        message.update(text)

    async def blocking(self, function: Callable[..., T], *args: Any) -> T:
        """Run a blocking call (network, disk, printer, card) off the app's loop."""
        self.calls_running += 1
        try:
            return await asyncio.to_thread(function, *args)
        finally:
            self.calls_running -= 1
