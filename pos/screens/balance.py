"""The balance inquiry (残高照会): a tap with no sale open; F5 prints a balance slip."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from points.money import format_points
from points.wire import CardLookup
from pos.counter import Counter
from pos.i18n import N_, _, explain, language
from pos.screens.base import CardRead, PosScreen
from pos.sync import SyncError


class BalanceScreen(PosScreen):
    """Balances per program, points expiring soon, eligibility."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f5", "print_slip", N_("Print slip")),
        Binding("escape,enter", "back", N_("Back")),
    ]

    def __init__(self, counter: Counter, card_key: str) -> None:
        super().__init__(counter)
        self.card_key = card_key
        self.lookup: CardLookup | None = None

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        yield Static(_("Balance"), classes="big")
        yield Static(_("Looking up..."), id="balances", classes="big")
        yield from self.compose_bottom()

    async def on_mount(self) -> None:
        await self.load()

    async def load(self) -> None:
        """Ask the server for the card's balances."""
        try:
            self.lookup = await self.blocking(self.counter.lookup, self.card_key)
        except SyncError as exc:
            self.query_one("#balances", Static).update("")
            self.say(exc.message(), error=True)
            return
        programs = {p.id: p for p in self.counter.config.programs} if self.counter.config else {}
        rows = []
        for balance in self.lookup.balances:
            program = programs.get(balance.program_id)
            name = program.display_name(language()) if program else balance.program_id
            rows.append(f"{name}  {format_points(balance.points)}")
            for lot in balance.expiring:
                rows.append(
                    "  "
                    + _("{points} expire on {date}").format(
                        points=format_points(lot.points), date=lot.expires_on
                    )
                )
        for tag in self.lookup.eligibility:
            rows.append(_("Eligibility: {tags}").format(tags=f"{tag.tag} ({tag.valid_until})"))
        self.query_one("#balances", Static).update("\n".join(rows) or _("No points on this card."))

    async def action_print_slip(self) -> None:
        """Print the balance slip."""
        if self.lookup is None:
            return
        outcome = await self.blocking(self.counter.balance_slip, self.lookup)
        if outcome.error is not None:
            self.say(explain(outcome.error), error=True)
        else:
            self.say(_("Balance slip printed."))

    def action_back(self) -> None:
        """Back home."""
        self.app.pop_screen()

    async def on_card_read(self, message: CardRead) -> None:
        """Another card: show its balance instead."""
        self.card_key = message.identity.card_key
        await self.load()
