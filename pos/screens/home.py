"""The home screen (shop mode): today's totals, the lights, and 「カードをタッチしてください」."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import ProgressBar, Static

from points.money import format_yen
from pos.i18n import _
from pos.screens.base import CardRead, PosScreen


class HomeScreen(PosScreen):
    """Where the counter waits: a tap shows the balance, F1 or Enter starts a sale."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1,enter", "sale", _("Sale")),
        Binding("f2", "history", _("History")),
        Binding("f3", "end_of_day", _("End of day")),
        Binding("f4", "statement", _("Statement")),
        Binding("f5", "settings", _("Settings")),
        Binding("f9", "sync", _("Sync")),
    ]

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
        totals = self.pos.counter.day_totals()
        self.query_one("#totals", Static).update(
            _("Today: {count} sales, {total}").format(
                count=totals["count"], total=format_yen(totals["total"])
            )
        )
        waiting = _("{n} sales wait to be synced").format(n=totals["unsynced"]) if totals["unsynced"] else ""
        self.query_one("#pending", Static).update(waiting)

    def action_sale(self) -> None:
        """Start (or go back to) the sale in progress."""
        from pos.screens.sale import SaleScreen

        self.app.push_screen(SaleScreen())

    def action_history(self) -> None:
        """Today's sales: reprint and void."""
        from pos.screens.history import HistoryScreen

        self.app.push_screen(HistoryScreen())

    def action_end_of_day(self) -> None:
        """The end-of-day screen (日計)."""
        from pos.screens.end_of_day import EndOfDayScreen

        self.app.push_screen(EndOfDayScreen())

    def action_statement(self) -> None:
        """The settlement statement (明細) of a closed period."""
        from pos.screens.statement import StatementScreen

        self.app.push_screen(StatementScreen())

    def action_settings(self) -> None:
        """Server, reader, printer, language."""
        from pos.screens.settings import SettingsScreen

        self.app.push_screen(SettingsScreen())

    async def action_sync(self) -> None:
        """Send the offline queue now."""
        await self.pos.sync_now()
        self.refresh_totals()

    async def on_card_read(self, message: CardRead) -> None:
        """A tap with no sale open: the balance inquiry (残高照会)."""
        from pos.screens.balance import BalanceScreen

        self.app.push_screen(BalanceScreen(message.identity.card_key))
