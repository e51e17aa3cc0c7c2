"""The city desk's merge (統合): a resident's point card account goes into their My Number Card's.

Both cards are on the desk: the UID point card is tapped first, then the My Number Card (its PIN
typed by the resident); F10 merges. Every lot with points left moves with its expiry date; the
point card keeps working, now on the My Number Card's account. The screen shows the points moved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from pos.checkout import TenderRefused
from pos.i18n import N_, _
from pos.screens.base import CardRead, PosScreen
from pos.screens.deskcard import account_text, balances_text, desk_card, shown_number
from pos.sync import ServerRefused, SyncError

if TYPE_CHECKING:
    from points.wire import DeskCard, ResidentAccount
    from pos.card.base import CardIdentity
    from pos.card.desk import CardDesk
    from pos.counter import Counter


class MergeScreen(PosScreen):
    """Point card, then My Number Card, F10: the point card's points move to the My Number Card's account."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f10", "merge", N_("Merge")),
        Binding("f4", "restart", N_("Start over")),
        Binding("escape", "back", N_("Back")),
    ]

    def __init__(self, counter: Counter, desk: CardDesk | None = None) -> None:
        super().__init__(counter)
        self.desk = desk
        self.source: DeskCard | None = None
        self.source_account: ResidentAccount | None = None
        self.target: DeskCard | None = None
        self.done = False

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        yield Static(_("Merge a point card into a My Number Card"), classes="big")
        yield Static("", id="step", classes="big")
        yield Static("", id="source")
        yield Static("", id="target")
        yield Static("", id="result", classes="big")
        yield from self.compose_bottom()

    def on_mount(self) -> None:
        self.action_restart()

    def action_restart(self) -> None:
        """Forget both cards and ask for the point card again."""
        self.source = self.target = None
        self.source_account = None
        self.done = False
        for selector in ("#source", "#target", "#result"):
            self.query_one(selector, Static).update("")
        self.query_one("#step", Static).update(_("Touch the point card"))
        self.say("")

    def action_back(self) -> None:
        """Back to the desk screen."""
        self.app.pop_screen()

    def on_card_read(self, message: CardRead) -> None:
        """A card on the desk's reader: taken in a worker (its PIN screen is waited on)."""
        self.run_worker(self.take_card(message.identity), group="desk", exclusive=True)

    async def take_card(self, identity: CardIdentity) -> None:
        """The point card first, then the My Number Card."""
        if self.done:
            self.action_restart()
        try:
            account = await self.blocking(lambda: self.counter.desk_account(card_key=identity.card_key))
        except SyncError as exc:
            self.say(exc.message(), error=True)
            return
        if self.source is None:
            if identity.certificate_der is not None:
                self.say(_("Touch the point card first, then the My Number Card."), error=True)
                return
            self.source, self.source_account = await desk_card(self, self.desk, identity, ""), account
            self.query_one("#source", Static).update(
                _("Point card: {account}").format(account=account_text(self, account))
            )
            self.query_one("#step", Static).update(_("Touch the My Number Card"))
            self.say("")
            return
        if identity.certificate_der is None:
            self.say(_("Touch the My Number Card."), error=True)
            return
        card = await desk_card(self, self.desk, identity, _("PIN of the My Number Card"))
        if card is None:
            return
        self.target = card
        self.query_one("#target", Static).update(
            _("My Number Card: {account}").format(account=account_text(self, account))
        )
        self.query_one("#step", Static).update(_("F10 merges the two accounts"))
        self.say("")

    async def action_merge(self) -> None:
        """Merge: the point card's lots move with their expiry dates."""
        if self.done:
            return
        source, target = self.source, self.target
        if source is None or target is None:
            self.say(_("Touch the point card and the My Number Card first."), error=True)
            return
        try:
            account = await self.blocking(lambda: self.counter.merge_cards(source, target))
        except (ServerRefused, SyncError) as exc:
            self.say(exc.message(), error=True)
            return
        except TenderRefused as refused:  # training mode: nothing is sent
            self.say(refused.text(), error=True)
            return
        self.done = True
        moved = balances_text(self, self.source_account.balances) if self.source_account else "-"
        self.query_one("#result", Static).update(
            _("Merged. Points moved (expiry dates kept): {points}").format(points=moved)
        )
        self.query_one("#target", Static).update(
            _("My Number Card: {account}").format(account=account_text(self, account))
        )
        self.query_one("#step", Static).update(
            _("Done: account {number}").format(number=shown_number(account.account_number))
        )
        self.say(_("Merged."))
