"""The city desk's renewal and replacement (引継ぎ): the resident's points go onto the new card.

1. The old card: tapped (a My Number Card signs with its PIN, accepted even when its certificate
   has expired but not when it is revoked), or, for a lost card, the account number the resident
   quotes from a balance slip typed and Enter (the clerk checked their papers; block it first with
   F9 on the desk screen).
2. The new or renewed card tapped, with its PIN when it is a My Number Card.
3. F10 links it: 「引継ぎました。残高はそのままです」, or the server's refusal in words.

Escape goes back to the desk screen. Nothing is sent before F10 but the desk challenges the
cards sign and the look-ups that show the account.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Input, Static

from pos.checkout import TenderRefused
from pos.i18n import N_, _
from pos.screens.base import CardRead, PosScreen
from pos.screens.deskcard import account_text, desk_card, shown_number
from pos.sync import ServerRefused, SyncError, refusal_text

if TYPE_CHECKING:
    from points.wire import DeskCard
    from pos.card.base import CardIdentity
    from pos.card.desk import CardDesk
    from pos.counter import Counter


class RenewScreen(PosScreen):
    """Old card (or its account number), new card, F10: the new card is linked, the old retired."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f10", "link", N_("Move to the new card")),
        Binding("f4", "restart", N_("Start over")),
        Binding("escape", "back", N_("Back")),
    ]

    def __init__(self, counter: Counter, desk: CardDesk | None = None) -> None:
        super().__init__(counter)
        self.desk = desk
        self.old: DeskCard | None = None
        self.number: str | None = None  # the quoted account number (a lost card)
        self.new: DeskCard | None = None
        self.done = False

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        yield Static(_("Card renewal / replacement"), classes="big")
        yield Static("", id="step", classes="big")
        yield Static("", id="old")
        yield Input(placeholder=_("Lost card: account number (ABCD-EFGH), Enter"), id="number")
        yield Static("", id="new")
        yield Static("", id="result", classes="big")
        yield from self.compose_bottom()

    def on_mount(self) -> None:
        self.action_restart()

    def action_restart(self) -> None:
        """Forget both cards and ask for the old one again."""
        self.old = self.new = None
        self.number = None
        self.done = False
        for selector in ("#old", "#new", "#result"):
            self.query_one(selector, Static).update("")
        self.query_one("#number", Input).value = ""
        self.step(_("Touch the old card (lost: type the account number and Enter)"))
        self.say("")

    def action_back(self) -> None:
        """Back to the desk screen."""
        self.app.pop_screen()

    def step(self, text: str) -> None:
        """Say what the clerk does next."""
        self.query_one("#step", Static).update(text)

    @property
    def has_old(self) -> bool:
        """The account is known: the old card's or the quoted number's."""
        return self.old is not None or self.number is not None

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        """The resident quotes the account number of the lost card."""
        if event.input.id != "number" or self.done:
            return
        typed = "".join(c for c in event.value if c.isascii() and c.isalnum())
        if len(typed) != 8:
            self.say(refusal_text("account_not_found"), error=True)
            return
        try:
            account = await self.blocking(lambda: self.counter.desk_account(number=typed))
        except SyncError as exc:
            self.say(exc.message(), error=True)
            return
        self.old, self.number = None, account.account_number
        self.query_one("#old", Static).update(
            _("Lost card of {account}").format(account=account_text(self, account))
        )
        self.after_old()

    def on_card_read(self, message: CardRead) -> None:
        """A card on the desk's reader: taken in a worker (its PIN screen is waited on)."""
        self.run_worker(self.take_card(message.identity), group="desk", exclusive=True)

    async def take_card(self, identity: CardIdentity) -> None:
        """The old card first, then the new one."""
        if self.done:
            self.action_restart()
        if not self.has_old:
            try:
                account = await self.blocking(lambda: self.counter.desk_account(card_key=identity.card_key))
            except SyncError as exc:
                self.say(exc.message(), error=True)
                return
            card = await desk_card(self, self.desk, identity, _("PIN of the old card"))
            if card is None:
                return
            self.old = card
            self.query_one("#old", Static).update(
                _("Old card: {account}").format(account=account_text(self, account))
            )
            self.after_old()
            return
        if self.old is not None and identity.card_key == self.old.card_key:
            self.say(_("This is the old card. Touch the new card."), error=True)
            return
        card = await desk_card(self, self.desk, identity, _("PIN of the new card"))
        if card is None:
            return
        self.new = card
        self.query_one("#new", Static).update(_("New card {key}").format(key=card.card_key[:16] + "…"))
        self.step(_("F10 moves the points to the new card"))
        self.say("")

    def after_old(self) -> None:
        self.step(_("Touch the new card"))
        self.say("")

    async def action_link(self) -> None:
        """Link the new card to the account; the old card is retired."""
        if self.done:
            return
        if not self.has_old or self.new is None:
            self.say(_("Touch the old card and the new card first."), error=True)
            return
        new, old, number = self.new, self.old, self.number
        try:
            account = await self.blocking(lambda: self.counter.link_card(new, old, number))
        except (ServerRefused, SyncError) as exc:
            self.say(exc.message(), error=True)
            return
        except TenderRefused as refused:  # training mode: nothing is sent
            self.say(refused.text(), error=True)
            return
        self.done = True
        self.query_one("#result", Static).update(_("Moved. The balance is unchanged."))
        self.query_one("#new", Static).update(
            _("New card: {account}").format(account=account_text(self, account))
        )
        self.step(_("Done: account {number}").format(number=shown_number(account.account_number)))
        self.say(_("Moved. The balance is unchanged."))
