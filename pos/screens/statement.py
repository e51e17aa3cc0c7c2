"""The merchant's settlement statement (明細) for a closed period, fetched from the server."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Input, Static

from points import calendar
from points.money import format_yen
from pos.counter import Counter
from pos.i18n import N_, _
from pos.screens.base import PosScreen
from pos.sync import SyncError


class StatementScreen(PosScreen):
    """Type a period (e.g. 2026-10) and Enter: the statement as the server gives it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f5", "print_statement", N_("Print")),
        Binding("escape", "back", N_("Back")),
    ]

    def __init__(self, counter: Counter) -> None:
        super().__init__(counter)
        self.data: dict[str, object] | None = None

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        yield Static(_("Settlement statement"), classes="big")
        yield Input(placeholder=_("Period, e.g. 2026-10"), id="period")
        yield Static("", id="statement", markup=False)
        yield from self.compose_bottom()

    def on_mount(self) -> None:
        self.query_one("#period", Input).focus()

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        """Fetch the period's statement (a name that is not a period is refused here, not sent)."""
        try:
            period = calendar.parse_period(event.value.strip())
        except calendar.PeriodError:
            self.say(_("Type the period as year-month, e.g. 2026-10."), error=True)
            return
        try:
            statement = await self.blocking(self.counter.statement, period.id)
        except SyncError as exc:
            self.say(exc.message(), error=True)
            return
        self.data = statement
        totals = statement.get("totals", {})
        rows = [f"{statement.get('period_id')}  {statement.get('merchant', {}).get('name', '')}"]
        for claim in statement.get("claims", []):
            state = claim.get("state_ja") or claim["state"]
            rows.append(f"{claim['program_name']}: {format_yen(claim['net'])}  ({state})")
        if statement.get("period_state", "closed") == "closed":
            paid = format_yen(int(totals.get("net", 0)))
        else:  # an open month pays nothing yet: say 未締め rather than ¥0
            paid = str(statement.get("period_state_ja") or "未締め")
        rows.append(_("Total paid: {amount}").format(amount=paid))
        if totals.get("disputed"):
            rows.append(_("Disputed: {amount}").format(amount=format_yen(int(totals["disputed"]))))
        self.query_one("#statement", Static).update("\n".join(rows))

    async def action_print_statement(self) -> None:
        """Print the statement slip."""
        if self.data is None:
            return
        outcome = await self.blocking(self.counter.print_statement, self.data)
        from pos.screens.receipt import ReceiptScreen

        self.app.push_screen(ReceiptScreen(self.counter, outcome, _("Settlement statement")))

    def action_back(self) -> None:
        """Back home."""
        self.app.pop_screen()
