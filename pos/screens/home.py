"""The home screen (shop mode): today's totals, the lights, and 「カードをタッチしてください」."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import ProgressBar, Static

from points.money import format_yen
from pos.counter import Counter
from pos.i18n import N_, _
from pos.screens.base import CardRead, PosScreen

# The screens this one opens are imported when opened: the first frame does not wait for them.


class HomeScreen(PosScreen):
    """Where the counter waits: a tap shows the balance, F1 or Enter starts a sale."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # The sale and the settings need the app's basket, card desk and settings: it opens them.
        Binding("f1,enter", "app.open_sale", N_("Sale")),
        Binding("f2", "history", N_("History")),
        Binding("f3", "end_of_day", N_("End of day")),
        Binding("f4", "statement", N_("Statement")),
        Binding("f5", "app.open_settings", N_("Settings")),
        Binding("f9", "sync", N_("Sync")),
        Binding("f11", "open_drawer", N_("Open drawer")),
    ]

    def __init__(self, counter: Counter, sync: Callable[[], Awaitable[None]]) -> None:
        super().__init__(counter)
        self.sync = sync

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        with Vertical(id="home"):
            yield Static(_("Please touch your card"), id="prompt", classes="big")
            yield Static("", id="totals")
            yield Static("", id="pending")
            yield ProgressBar(id="sync-progress", show_eta=False)
        yield from self.compose_bottom()

    def on_mount(self) -> None:
        self.query_one("#sync-progress", ProgressBar).display = False
        self.refresh_totals()

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        self.refresh_totals()

    def refresh_totals(self) -> None:
        """Today's sales and what waits to be synced."""
        totals = self.counter.day_totals()
        text = _("Today: {count} sales, {total}").format(
            count=totals["count"], total=format_yen(totals["total"])
        )
        closed = self.counter.closed_today()
        if closed is not None:
            # After the Z the totals are the next day's: say so, or ¥0 after a busy day alarms.
            booked = self.counter.journal.register_day()
            text = _(
                "Today is closed (Z {n}). Sales from now on count for {month}/{day}: {count} sales, {total}"
            ).format(
                n=closed.z_no,
                month=booked.month,
                day=booked.day,
                count=totals["count"],
                total=format_yen(totals["total"]),
            )
        self.query_one("#totals", Static).update(text)
        waiting = _("{n} sales wait to be synced").format(n=totals["unsynced"]) if totals["unsynced"] else ""
        self.query_one("#pending", Static).update(waiting)

    def action_history(self) -> None:
        """Today's sales: reprint and void."""
        from pos.screens.history import HistoryScreen

        self.app.push_screen(HistoryScreen(self.counter))

    def action_end_of_day(self) -> None:
        """The end-of-day screen (日計)."""
        from pos.screens.end_of_day import EndOfDayScreen

        self.app.push_screen(EndOfDayScreen(self.counter))

    def action_statement(self) -> None:
        """The settlement statement (明細) of a closed period."""
        from pos.screens.statement import StatementScreen

        self.app.push_screen(StatementScreen(self.counter))

    async def action_open_drawer(self) -> None:
        """The drawer key (ドロア): open the cash drawer through the printer."""
        outcome = await self.blocking(self.counter.open_drawer)
        if outcome.error is not None:
            self.notify(str(outcome.error), severity="error")
        else:
            self.notify(_("Drawer opened"), timeout=2)

    async def action_sync(self) -> None:
        """Send the offline queue now."""
        await self.sync()
        self.refresh_totals()

    async def on_card_read(self, message: CardRead) -> None:
        """A tap with no sale open: the balance inquiry (残高照会)."""
        from pos.screens.balance import BalanceScreen

        self.app.push_screen(BalanceScreen(self.counter, message.identity.card_key))
