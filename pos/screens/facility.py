"""The facility desk (区民ひろば・体育館の受付): tap the card → the member number and today's entry.

The screen is handed a :class:`~pos.facility.FacilityDesk` (the server, with the facility's own
token) and decides nothing itself. It shows the member number the facility knows, whether this is
the member's first entry today and the day's count; a card not known here yet starts the first
visit: scan the facility card (or F2, type its number) and it is linked once. No name is shown,
because the server has none.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Input, Static

from pos.facility import Entry, FacilityDesk
from pos.i18n import N_, _
from pos.screens.base import CardRead, PosScreen
from pos.sync import SyncError

NOT_LINKED_YET = N_(
    "This card is not registered at this facility yet: scan the facility card (or F2, type its number)."
)


class FacilityScreen(PosScreen):
    """Tap a card to record the member's entry; a first visit links the facility card's number.

    Args:
        counter: the counter (its header and training mode).
        desk: this facility's desk (the server with the facility's token).
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("f2", "member_number", N_("Member number"))]

    def __init__(self, counter: Any, desk: FacilityDesk) -> None:
        super().__init__(counter)
        self.desk = desk
        #: A tapped card the facility does not know yet: the next number typed or scanned links to it.
        self.unlinked_card: str | None = None
        #: The last entry shown (tests and the next tap read it).
        self.entry: Entry | None = None

    def shop_title(self) -> str:
        """Not the terminal's merchant (the city): the facility's name replaces this once known."""
        return self.titled(_("Facility entrance"))

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        yield Static(_("Facility entrance"), classes="big", id="facility")
        yield Static(_("Please touch your card"), id="member", classes="big")
        yield Static("", id="today")
        yield Input(placeholder=_("Scan the facility card (or type its number)"), id="number")
        yield from self.compose_bottom()

    async def on_mount(self) -> None:
        """The facility's name and today's count, asked of the server."""
        try:
            facility = await self.blocking(self.desk.facility)
            count = await self.blocking(self.desk.visits_today)
        except SyncError as error:
            self.say(error.message(), error=True)
            return
        self.retitle(facility.name)
        self.query_one("#facility", Static).update(facility.name)
        self.show_count(count)

    def show_count(self, count: int) -> None:
        """Today's entries so far."""
        self.query_one("#today", Static).update(_("Entries today: {count}").format(count=count))

    # The member ----------------------------------------------------------------------

    async def on_card_read(self, message: CardRead) -> None:
        """Record the tapped card's entry, or start its first visit."""
        card_key = message.identity.card_key
        self.unlinked_card = None
        try:
            entry = await self.blocking(self.desk.enter, card_key)
        except SyncError as error:
            self.clear_member()
            self.say(error.message(), error=True)
            return
        if entry is None:
            self.clear_member()
            self.unlinked_card = card_key
            self.say(_(NOT_LINKED_YET), error=True)
            self.query_one("#number", Input).focus()
            return
        self.show_entry(entry)

    async def link_member(self, card_key: str, number: str) -> None:
        """First visit: link the facility card's number to the tapped card (once), then enter."""
        try:
            entry = await self.blocking(self.desk.first_visit, card_key, number)
        except ValueError:
            self.say(_("A member number is letters and digits only. Please check it."), error=True)
            return  # the card stays waiting for a correct number
        except SyncError as error:
            self.unlinked_card = None
            self.clear_member()
            self.say(error.message(), error=True)
            return
        self.unlinked_card = None
        self.show_entry(entry)

    def show_entry(self, entry: Entry) -> None:
        """The member number, whether this is the first entry today, and the day's count."""
        self.entry = entry
        self.query_one("#member", Static).update(_("Member {number}").format(number=entry.number))
        self.show_count(entry.visits_today)
        if entry.linked:
            said = _("The card is now linked to member number {number}. Entry recorded.")
        elif entry.first_today:
            said = _("Welcome. Today's entry is recorded.")
        else:
            said = _("Already entered today (counted once a day).")
        self.say(said.format(number=entry.number))

    def clear_member(self) -> None:
        """Forget the member on screen (a refused tap)."""
        self.entry = None
        self.query_one("#member", Static).update(_("Please touch your card"))

    def action_member_number(self) -> None:
        """Type the facility card's number (a first visit, after tapping the card)."""
        if self.unlinked_card is None:
            self.say(_("Tap the card first."), error=True)
        self.query_one("#number", Input).focus()

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        """A facility card scanned (or its number typed) for the card waiting to be linked."""
        number = event.value.strip()
        event.input.value = ""
        if not number:
            return
        if self.unlinked_card is None:
            self.say(_("Tap the card first."), error=True)
            return
        await self.link_member(self.unlinked_card, number)
