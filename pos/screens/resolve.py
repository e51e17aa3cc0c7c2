"""A sale whose answer was lost: resend the same sale (same id, same body) until the answer is known.

The screen cannot be left with Escape: the sale is either on the server or not, and until the
answer comes the counter must not let the same basket be rung up as a new sale.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from points.money import format_yen
from pos.counter import Counter, SaleUnresolved
from pos.i18n import _
from pos.journal import Entry
from pos.screens.base import PosScreen, SaleFinished
from pos.sync import ServerRefused

#: Seconds between resends.
RETRY_SECONDS = 2.0


class ResolveScreen(PosScreen):
    """Waits for the answer to one pending sale, resending it every few seconds."""

    def __init__(self, counter: Counter, entry: Entry) -> None:
        super().__init__(counter)
        self.entry = entry
        self.attempts = 0

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        with Vertical(id="resolve"):
            yield Static(_("Waiting for the server's answer"), classes="big")
            yield Static(
                _("Receipt {no}, {amount}: the same sale is being resent. Do not ring it up again.").format(
                    no=self.entry.receipt_no, amount=format_yen(self.entry.total)
                )
            )
            yield Static("", id="attempts")
        yield from self.compose_bottom()

    def on_mount(self) -> None:
        self.set_interval(RETRY_SECONDS, self.retry)

    async def retry(self) -> None:
        """Resend once; on an answer, finish the sale."""
        self.attempts += 1
        self.query_one("#attempts", Static).update(_("Attempts: {n}").format(n=self.attempts))
        try:
            done = await self.blocking(self.counter.resolve, self.entry)
        except SaleUnresolved as unresolved:
            self.say(unresolved.cause.message(), error=True)
        except ServerRefused as refused:
            self.say(refused.message(), error=True)
            self.app.pop_screen()
        else:
            self.post_message(SaleFinished(done))
