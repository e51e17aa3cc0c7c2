"""The library desk (図書館カウンター): tap the card → the patron's standing, scan to lend or return.

The screen is handed a :class:`~pos.library.desk.LibraryDesk` (the library's SIP2 system and the
memberships) and what prints the lending slip; it decides nothing itself. The patron's name comes
from the library's system and is shown here only: it is neither stored nor logged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Input, Static

from pos.i18n import N_, _
from pos.library.desk import LibraryDesk, Standing
from pos.library.errors import LibraryError
from pos.screens.base import CardRead, PosScreen
from printers.documents import LendingSlip

TOKYO = ZoneInfo("Asia/Tokyo")
NOT_LINKED_YET = N_(
    "This card is not registered at this library yet: scan the library card (or F2, its number) to link it."
)


class LibraryScreen(PosScreen):
    """Tap a card (or type a patron number), scan barcodes, F10 lends them; F4 switches to returns.

    Args:
        counter: the counter (its header and training mode).
        desk: this library's desk (SIP2 client and memberships).
        print_slip: prints a lending slip (the counter's receipt printer).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f10", "lend", N_("Lend")),
        Binding("f4", "toggle_returns", N_("Lend / return")),
        Binding("f2", "patron_number", N_("Patron number")),
    ]

    def __init__(self, counter: Any, desk: LibraryDesk, print_slip: Callable[[LendingSlip], object]) -> None:
        super().__init__(counter)
        self.desk = desk
        self.print_slip = print_slip
        self.standing: Standing | None = None
        self.scanned: list[str] = []
        self.returning = False
        #: A tapped card this library does not know yet: the next patron number links to it (first visit).
        self.unlinked_card: str | None = None

    def shop_title(self) -> str:
        """The library's name in the header (not the terminal's merchant), until the server's arrives."""
        return self.titled(self.desk.library_name)

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        yield Static(self.desk.library_name, classes="big", id="library")
        yield Static(_("Please touch your card"), id="patron", classes="big")
        yield Static("", id="reasons")
        yield Static(_("Lending"), id="desk-mode")
        yield Input(placeholder=_("Scan a barcode"), id="barcode")
        yield Static("", id="scanned")
        yield from self.compose_bottom()

    async def on_mount(self) -> None:
        """The library's own name, as the server knows the library's token, in the header and on top."""
        try:
            name = await self.blocking(self.desk.own_name)
        except LookupError as error:
            self.say(str(error), error=True)
            return
        self.retitle(name)
        self.query_one("#library", Static).update(name)

    # The patron ---------------------------------------------------------------------

    async def on_card_read(self, message: CardRead) -> None:
        """This library's patron number for the card, then the patron's standing."""
        card_key = message.identity.card_key
        self.unlinked_card = None
        try:
            patron = await self.blocking(self.desk.patron_for_card, card_key)
        except LookupError as error:
            self.clear_patron()
            self.say(str(error), error=True)
            return
        if patron is None:
            self.clear_patron()
            self.unlinked_card = card_key
            self.say(_(NOT_LINKED_YET), error=True)
            return
        await self.show_patron(patron)

    async def link_patron(self, card_key: str, patron: str) -> None:
        """First visit: the library checks the number, then the server links it to the card (once)."""
        self.unlinked_card = None
        try:
            standing = await self.blocking(self.desk.first_visit, card_key, patron)
        except LibraryError as error:
            self.clear_patron()
            self.say(error.message(), error=True)
            return
        except LookupError as error:
            self.clear_patron()
            self.say(str(error), error=True)
            return
        if any(reason.code == "not_a_patron" for reason in standing.reasons):
            self.clear_patron()
            self.say(standing.reasons[0].message(), error=True)
            return
        self.show_standing(standing)
        self.say(_("The card is now linked to this library's number {number}.").format(number=patron))

    async def show_patron(self, patron: str) -> None:
        """Ask the library about ``patron`` and show whether they may borrow."""
        try:
            standing = await self.blocking(self.desk.standing, patron)
        except LibraryError as error:
            self.clear_patron()
            self.say(error.message(), error=True)
            return
        self.show_standing(standing)

    def show_standing(self, standing: Standing) -> None:
        """Show the library's answer: the patron, whether they may borrow, and why not."""
        self.standing = standing
        self.scanned = []
        if self.returning:  # a patron at the desk has come to borrow: the scanner lends again
            self.returning = False
            self.query_one("#desk-mode", Static).update(_("Lending"))
        self.show_loans(standing)
        reasons = self.query_one("#reasons", Static)
        reasons.set_class(not standing.may_borrow, "error")
        reasons.update("\n".join(reason.message() for reason in standing.reasons) or _("May borrow."))
        self.show_scanned()
        self.say(_("Scan the items to lend, then F10.") if standing.may_borrow else _("Lending is refused."))
        self.query_one("#barcode", Input).focus()

    def show_loans(self, standing: Standing) -> None:
        """The patron's line: the name the library gave, loans out of the limit, holds."""
        info = standing.information
        self.query_one("#patron", Static).update(
            _("{name}  loans {charged}/{limit}, holds {holds}").format(
                name=standing.name or standing.patron_id,
                charged=info.charged_count,
                limit=info.charged_limit if info.charged_limit is not None else "-",
                holds=info.hold_count,
            )
        )

    async def refresh_loans(self) -> None:
        """After lending or returning, the patron's loans as the library now counts them."""
        if self.standing is None:
            return
        try:
            standing = await self.blocking(self.desk.standing, self.standing.patron_id)
        except LibraryError:
            return  # the lending's own words stay on screen; the count is refreshed at the next tap
        self.standing = standing
        self.show_loans(standing)

    def clear_patron(self) -> None:
        """Forget the patron on screen (a new tap, or the library could not be asked)."""
        self.standing = None
        self.scanned = []
        self.query_one("#patron", Static).update(_("Please touch your card"))
        self.query_one("#reasons", Static).update("")
        self.show_scanned()

    def action_patron_number(self) -> None:
        """Type a patron number instead of tapping (a library card's number, e.g. a first visit)."""
        field = self.query_one("#barcode", Input)
        field.placeholder = _("Type the patron number, then Enter")
        field.add_class("patron-number")
        field.focus()

    # Scanning -----------------------------------------------------------------------

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        """A barcode scanned (or a patron number typed after F2)."""
        field = event.input
        code = event.value.strip()
        field.value = ""
        if not code:
            return
        typed = field.has_class("patron-number")
        if typed or (self.unlinked_card is not None and self.standing is None and not self.returning):
            field.remove_class("patron-number")
            field.placeholder = _("Scan a barcode")
            if self.unlinked_card is not None:
                await self.link_patron(self.unlinked_card, code)
            else:
                await self.show_patron(code)
            return
        if self.returning:
            await self.give_back(code)
            return
        if self.standing is None:
            self.say(_("Tap the card first."), error=True)
            return
        if not self.standing.may_borrow:
            self.say(_("Lending is refused."), error=True)
            return
        if code not in self.scanned:
            self.scanned.append(code)
        self.show_scanned()

    def show_scanned(self) -> None:
        """The barcodes waiting to be lent."""
        lines = [f"  {code}" for code in self.scanned]
        self.query_one("#scanned", Static).update("\n".join(lines))

    # Lending and returning ------------------------------------------------------------

    async def action_lend(self) -> None:
        """Lend the scanned barcodes and print the slip; say what became of each."""
        if self.standing is None or not self.standing.may_borrow or not self.scanned:
            self.say(_("Tap the card and scan the items first."), error=True)
            return
        lending = await self.blocking(self.desk.lend, self.standing.patron_id, list(self.scanned))
        self.scanned = []
        if lending.lent:
            await self.blocking(self.print_slip, self.desk.slip(lending, dt.datetime.now(TOKYO)))
        lines = [_("Lent: {title}").format(title=loan.title) for loan in lending.lent]
        lines += [
            _("Not lent: {code} ({why})").format(code=loan.item_id, why=" ".join(loan.screen_messages))
            for loan in lending.refused
        ]
        lines += [
            _("Unknown, check at the library system: {code}").format(code=code) for code in lending.unsettled
        ]
        lines += [_("Not lent: {code}").format(code=code) for code in lending.not_lent]
        self.query_one("#scanned", Static).update("\n".join(lines))
        if lending.error is not None:
            self.say(lending.error.message(), error=True)
        else:
            self.say(_("{count} items lent.").format(count=len(lending.lent)))
        if lending.lent:
            await self.refresh_loans()

    def action_toggle_returns(self) -> None:
        """Switch the scanner between lending and returning."""
        self.returning = not self.returning
        self.query_one("#scanned", Static).update("")  # the other mode's lines are done with
        self.scanned = []
        self.query_one("#desk-mode", Static).update(_("Returns") if self.returning else _("Lending"))
        self.say(_("Scan the items to return.") if self.returning else _("Scan the items to lend, then F10."))
        self.query_one("#barcode", Input).focus()

    async def give_back(self, code: str) -> None:
        """Return one scanned item at once."""
        returning = await self.blocking(self.desk.give_back, [code])
        if returning.error is not None:
            self.say(returning.error.message(), error=True)
            return
        if returning.returned:
            await self.refresh_loans()
        for done in returning.returned:
            said = _("Returned: {title}").format(title=done.title)
            # An alert is the library's: a hold waiting for the book, another branch's book.
            self.say(" ".join((said, *done.screen_messages)), error=done.alert)
        for refused in returning.refused:
            self.say(
                " ".join(refused.screen_messages) or _("Not returned: {code}").format(code=code), error=True
            )
