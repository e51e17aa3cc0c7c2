"""The city desk: tap → set the tags the clerk checked on paper (e.g. 65+); block a lost card by number.

No personal data is read from the card. The tapped card's resident account number is shown; a
resident who lost a card quotes the number (from a balance slip), the clerk checks their papers,
types it with a reason and presses F9 (F11 lifts the block when the card is found; F6-F8 tap the
simulated cards). F2 opens the renewal and replacement of a card (:mod:`pos.screens.renew`), F3
the merge of a point card into a My Number Card (:mod:`pos.screens.merge`).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Input, Static

from points.wire import EligibilityTag
from pos.checkout import TenderRefused
from pos.counter import Counter
from pos.i18n import N_, _
from pos.screens.base import CardRead, PosScreen
from pos.sync import ServerRefused, SyncError

if TYPE_CHECKING:
    from pos.card.desk import CardDesk


class EnrollScreen(PosScreen):
    """Tap a card, type the tags (e.g. ``age65``) and the valid-until date, F10 saves."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "renew", N_("Renew / replace card")),
        Binding("f3", "merge", N_("Merge cards")),
        Binding("f10", "save", N_("Save")),
        Binding("f9", "block", N_("Block lost card")),
        Binding("f11", "unblock", N_("Unblock")),
    ]

    def __init__(self, counter: Counter, desk: CardDesk | None = None) -> None:
        super().__init__(counter)
        self.card_key: str | None = None
        #: The reader's card desk: the renewal and merge screens have the cards sign with it.
        self.desk = desk

    def action_renew(self) -> None:
        """Renewal or replacement: the old card (or its account number), then the new one."""
        from pos.screens.renew import RenewScreen

        self.app.push_screen(RenewScreen(self.counter, self.desk))

    def action_merge(self) -> None:
        """Merge a point card's account into a My Number Card's (both on the desk)."""
        from pos.screens.merge import MergeScreen

        self.app.push_screen(MergeScreen(self.counter, self.desk))

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        yield Static(_("Eligibility desk"), classes="big")
        yield Static(_("Please touch your card"), id="card", classes="big")
        yield Input(value="age65", placeholder=_("Tags, e.g. age65"), id="tags")
        yield Input(value=f"{dt.date.today().year + 1}-03-31", placeholder="YYYY-MM-DD", id="until")
        yield Static("", id="current")
        yield Static("", id="account")
        yield Input(placeholder=_("Account number (ABCD-EFGH)"), id="number")
        yield Input(placeholder=_("Reason (e.g. reported lost, papers checked)"), id="reason")
        yield from self.compose_bottom()

    async def on_card_read(self, message: CardRead) -> None:
        """Show the card's current tags (a short hash of the key only)."""
        self.card_key = message.identity.card_key
        self.query_one("#card", Static).update(_("Card {key}").format(key=self.card_key[:16] + "…"))
        try:
            lookup = await self.blocking(self.counter.lookup, self.card_key)
        except SyncError as exc:
            self.say(exc.message(), error=True)
            return
        tags = ", ".join(f"{t.tag} ({t.valid_until})" for t in lookup.eligibility) or "-"
        self.query_one("#current", Static).update(_("Eligibility: {tags}").format(tags=tags))
        if lookup.account_number is not None:
            number = f"{lookup.account_number[:4]}-{lookup.account_number[4:]}"
            self.query_one("#account", Static).update(_("Account {number}").format(number=number))

    async def action_block(self, lift: bool = False) -> None:
        """Block (or unblock) the cards of the account number typed, with the reason typed."""
        number = self.query_one("#number", Input).value.strip()
        reason = self.query_one("#reason", Input).value.strip()
        if not number or not reason:
            self.say(_("Enter the account number and a reason."), error=True)
            return
        try:
            account = await self.blocking(lambda: self.counter.block_account(number, reason, lift=lift))
        except (ServerRefused, SyncError) as exc:
            self.say(exc.message(), error=True)
            return
        shown = f"{account.account_number[:4]}-{account.account_number[4:]}"
        done = _("Unblocked: {number}") if lift else _("Blocked: {number}")
        self.say(done.format(number=shown))

    async def action_unblock(self) -> None:
        """Lift a block (the card was found)."""
        await self.action_block(lift=True)

    async def action_save(self) -> None:
        """Replace the card's tags with those typed."""
        if self.card_key is None:
            self.say(_("Tap the card first."), error=True)
            return
        try:
            until = dt.date.fromisoformat(self.query_one("#until", Input).value.strip())
            names = [t.strip() for t in self.query_one("#tags", Input).value.split(",") if t.strip()]
            tags = [EligibilityTag(tag=name, valid_until=until) for name in names]
        except ValueError:
            self.say(_("Check the tags and the date."), error=True)
            return
        try:
            lookup = await self.blocking(self.counter.enroll, self.card_key, tags)
        except (ServerRefused, SyncError) as exc:
            self.say(exc.message(), error=True)
            return
        except TenderRefused as refused:  # training mode: nothing is sent
            self.say(refused.text(), error=True)
            return
        current = ", ".join(f"{t.tag} ({t.valid_until})" for t in lookup.eligibility) or "-"
        self.query_one("#current", Static).update(_("Eligibility: {tags}").format(tags=current))
        self.say(_("Saved."))
