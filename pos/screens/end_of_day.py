"""End of day (日計): totals per tender and program, unsynced count, refusals from sync; F5 prints."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from points import calendar
from points.money import format_points, format_yen
from pos import receipts
from pos.i18n import N_, _, language
from pos.screens.base import PosScreen
from pos.sync import refusal_text


class EndOfDayScreen(PosScreen):
    """The day's figures from the journal."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f5", "print_report", N_("Print")),
        Binding("escape", "back", N_("Back")),
    ]

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        yield Static(_("End of day"), classes="big")
        yield Static("", id="figures")
        yield Static("", id="refused", classes="error")
        yield from self.compose_bottom()

    def on_mount(self) -> None:
        counter = self.counter
        assert counter.config is not None
        today = calendar.today()
        unsynced = counter.day_totals()["unsynced"]
        report = receipts.end_of_day(counter.config, counter.today(), today, unsynced)
        lang = language()
        rows = [
            "{label}  {n}  {amount}".format(
                label=_("Sales"), n=report.sales.count, amount=format_yen(report.sales.amount)
            ),
            "{label}  {n}  {amount}".format(
                label=_("Voids"), n=report.voids.count, amount=format_yen(report.voids.amount)
            ),
            "{label}  {amount}".format(
                label=_("Cash"), amount=format_yen(report.cash.amount - report.change)
            ),
        ]
        for day in report.programs:
            name = day.program.display_name(lang)
            points, tickets, awarded = _("points"), _("tickets"), _("awarded")
            rows.append(
                f"{name}: {points} {format_points(day.redeemed.amount)} ({day.redeemed.count}), "
                f"{tickets} {format_yen(day.tickets.amount)} ({day.tickets.count}), "
                f"{awarded} {format_points(day.awarded.amount)}"
            )
        rows.append(_("Offline sales: {n}, not yet synced: {m}").format(n=report.offline, m=report.unsynced))
        self.query_one("#figures", Static).update("\n".join(rows))
        refused = counter.journal.refused_on_sync()
        if refused:
            lines = [_("Refused by the server on sync (disputed):")]
            lines += [
                f"  #{e.receipt_no} {format_yen(e.total)} {refusal_text(e.error_code or '', language())}"
                for e in refused
            ]
            self.query_one("#refused", Static).update("\n".join(lines))

    async def action_print_report(self) -> None:
        """Print the 日計 report."""
        outcome = await self.blocking(self.counter.end_of_day)
        from pos.screens.receipt import ReceiptScreen

        self.app.push_screen(ReceiptScreen(self.counter, outcome, _("End of day")))

    def action_back(self) -> None:
        """Back home."""
        self.app.pop_screen()
