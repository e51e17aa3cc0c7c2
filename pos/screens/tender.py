"""Payment: the card's balances, points (soonest-expiring program first), tickets, cash, then commit.

Points above a program's no-PIN limit need the resident's PIN: the card signs a server
challenge (:class:`pos.screens.pin.PinScreen`). Offline, card points are offered only up to a
program's offline limit; the reason is shown when the tender is disabled.
"""

from __future__ import annotations

import base64
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Static

from points.money import format_points, format_yen
from points.wire import Balance, CardLookup, PinProof
from pos.card import errors as card_errors
from pos.card.desk import CardDesk
from pos.checkout import Basket, Checkout, TenderRefused
from pos.counter import Counter, SaleUnresolved
from pos.i18n import N_, _, language
from pos.journal import TicketAlreadyUsed
from pos.screens.base import CardRead, PosScreen, SaleFinished
from pos.screens.pin import PinScreen
from pos.sync import ServerRefused, SyncError
from pos.typed import looks_like_ticket, read_points, read_yen
from pos.widgets.external import ExternalTenderField, kind_words


def offline_card(checkout: Checkout, card_key: str) -> CardLookup:
    """A card read while the server is unreachable: each accepted program at its offline limit."""
    return CardLookup(
        card_key=card_key,
        balances=[
            Balance(program_id=p.id, points=p.offline_limit)
            for p in checkout.config.programs
            if p.offline_limit > 0 and checkout.accepted(p)
        ],
    )


class TenderScreen(PosScreen):
    """Tenders for the sale in progress."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "next_program", N_("Program")),
        Binding("f4", "other_tender", N_("Card/QR/IC")),
        Binding("f5", "max_points", N_("All points")),
        Binding("f10", "commit", N_("Confirm")),
        Binding("escape", "back", N_("Back")),
    ]

    def __init__(
        self,
        counter: Counter,
        basket: Basket,
        desk: CardDesk,
        card_key: str | None = None,
        ticket_text: str | None = None,
    ) -> None:
        super().__init__(counter)
        self.basket = basket
        self.desk = desk
        self.card_key = card_key
        #: A ticket scanned on the items screen, taken as the first tender.
        self.ticket_text = ticket_text
        self.checkout: Checkout | None = None
        self.program_index = 0
        self.busy = False
        #: The card was read offline: the balances shown are the offline limits, not the card's.
        self.balance_unknown = False

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        with Horizontal(id="tender"):
            with Vertical(id="tender-inputs"):
                yield Static("", id="card")
                yield Static("", id="program")
                # No ``restrict``: a scanner types a ticket's letters into whatever field has focus.
                yield Input(placeholder=_("Points, Enter"), id="points")
                yield Input(placeholder=_("Scan or type a ticket, Enter"), id="ticket")
                yield Input(placeholder=_("Cash received, Enter"), id="cash")
                yield ExternalTenderField()
            with Vertical(id="tender-sums"):
                yield Static("", id="sums")
                yield Static("", id="due", classes="big")
        yield from self.compose_bottom()

    async def on_mount(self) -> None:
        self.checkout = self.counter.checkout(self.basket)
        if self.card_key:
            await self.load_card(self.card_key)
        self.show()
        self.focus_first()
        if self.ticket_text:
            self.take_ticket(self.ticket_text)

    def focus_first(self) -> None:
        """The points field when a card is read (the clerk types its points next), else the cash one."""
        assert self.checkout is not None
        self.query_one("#points" if self.checkout.card else "#cash", Input).focus()

    async def load_card(self, card_key: str) -> None:
        """Look the card up (balances, expiring points, eligibility)."""
        assert self.checkout is not None
        try:
            self.checkout.card = await self.blocking(self.counter.lookup, card_key)
        except SyncError as exc:
            self.checkout.online = self.counter.client.online is not False
            if self.checkout.online:
                self.say(exc.message(), error=True)
                return
            # Offline the balance is unknown: offer each program up to its offline limit (the
            # server checks the balance on sync; what it refuses lands in the claim as disputed).
            self.checkout.card = offline_card(self.checkout, card_key)
            self.balance_unknown = True
            self.say(_("Offline: the balance is not known. Points up to each program's offline limit."))
            return
        self.checkout.online = True
        self.balance_unknown = False
        self.program_index = 0

    def selected_program(self) -> str | None:
        """The program whose points the points field applies to."""
        assert self.checkout is not None
        offered = self.checkout.offer_order()
        if not offered:
            return None
        return offered[self.program_index % len(offered)].id

    def show(self) -> None:
        """Redraw balances and sums."""
        checkout = self.checkout
        assert checkout is not None
        lang = language()
        if checkout.card is None:
            self.query_one("#card", Static).update(_("No card. Tap the card to use points."))
        else:
            rows = []
            # The order F2 cycles through (soonest-expiring first), then the programs not usable here.
            offered = checkout.offer_order()
            selected_id = self.selected_program()
            rest = [p for p in checkout.config.programs if p not in offered]
            for program in [*offered, *rest]:
                balance = checkout.balance(program.id)
                if balance == 0 and not checkout.accepted(program):
                    continue
                reason = checkout.why_not(program)
                pointer = "▶ " if program.id == selected_id else "  "
                line = f"{pointer}{program.display_name(lang)}: {format_points(balance)}"
                if self.balance_unknown:
                    line = f"{pointer}{program.display_name(lang)}: " + _("up to {points} (offline)").format(
                        points=format_points(balance)
                    )
                expiring = [
                    lot for b in checkout.card.balances if b.program_id == program.id for lot in b.expiring
                ]
                for lot in expiring:
                    line += "  " + _("{points} expire on {date}").format(
                        points=format_points(lot.points), date=lot.expires_on.isoformat()
                    )
                if reason is not None:
                    line += f"  [red]({reason.text()})[/]"
                rows.append(line)
            tags = ", ".join(t.tag for t in checkout.card.eligibility)
            if tags:
                rows.append(_("Eligibility: {tags}").format(tags=tags))
            self.query_one("#card", Static).update("\n".join(rows) or _("No points on this card."))
        selected = self.selected_program()
        if selected is None:
            self.query_one("#program", Static).update(_("No points usable here."))
        else:
            program = checkout.programs[selected]
            self.query_one("#program", Static).update(
                _("Points of {name} (up to {max})").format(
                    name=program.display_name(lang), max=format_points(checkout.max_points(selected))
                )
            )
        total, ticket, cash, lost_word = _("Total"), _("Ticket"), _("Cash"), _("lost")
        rows = [f"{total}  {format_yen(checkout.total)}"]
        for program_id, points in checkout.points.items():
            rows.append(f"{checkout.programs[program_id].display_name(lang)}  -{format_points(points)}")
        for held in checkout.tickets:
            lost = f" ({lost_word} {format_yen(held.lost)})" if held.lost else ""
            rows.append(f"{ticket} {held.ticket.human_serial}  -{format_yen(held.applied)}{lost}")
        for paid in checkout.external:
            rows.append(f"{kind_words(paid.kind)}  -{format_yen(paid.amount)}")
        rows.append(f"{cash}  {format_yen(checkout.cash)}")
        self.query_one("#sums", Static).update("\n".join(rows))
        due = _("Due {amount}").format(amount=format_yen(checkout.cash_due))
        short = checkout.cash_due - checkout.cash
        if checkout.cash and short > 0:
            due += "\n[red]" + _("Short {amount}").format(amount=format_yen(short)) + "[/]"
        elif checkout.cash or checkout.change:  # a change-giving ticket's excess is change too
            due += "\n" + _("Change {amount}").format(amount=format_yen(checkout.change))
        self.query_one("#due", Static).update(due)

    # Inputs --------------------------------------------------------------------------

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in a field applies it (a scanned ticket counts as a ticket in any field)."""
        checkout = self.checkout
        assert checkout is not None
        value = event.value
        if event.input.id == "ticket" or looks_like_ticket(value):
            # A scanner types the next ticket into the same field: clear it whatever happens.
            event.input.value = ""
            if value.strip():
                self.take_ticket(value)
            else:
                self.query_one("#cash", Input).focus()
                self.say("")
                self.show()
            return
        try:
            if event.input.id == "points":
                program = self.selected_program()
                if program is None:
                    raise TenderRefused("no_points", "No points usable here.")
                checkout.use_points(program, read_points(value))
                self.query_one("#ticket", Input).focus()
            elif event.input.id == "cash":
                checkout.cash = read_yen(value)
                short = checkout.cash_due - checkout.cash
                if short > 0:
                    raise TenderRefused("underpaid", "Short by {amount}.", amount=format_yen(short))
                self.action_commit()
        except TenderRefused as refused:
            self.say(refused.text(), error=True)
        else:
            self.say("")
        self.show()

    def action_other_tender(self) -> None:
        """F4: credit, QR or IC (F4 again: the next kind)."""
        self.query_one(ExternalTenderField).next_kind()

    def on_external_tender_field_added(self, event: ExternalTenderField.Added) -> None:
        """Record another tender; when it pays everything, the sale is complete."""
        checkout = self.checkout
        assert checkout is not None
        try:
            checkout.add_external(event.kind, event.amount)
        except TenderRefused as refused:
            self.say(refused.text(), error=True)
            return
        self.say("")
        self.show()
        if checkout.complete:
            self.action_commit()
        else:
            self.query_one("#cash", Input).focus()

    def take_ticket(self, text: str) -> None:
        """Add a scanned or typed ticket and keep its confirmation (or refusal) on screen."""
        try:
            self.add_ticket(text)
        except TenderRefused as refused:
            self.say(refused.text(), error=True)
        self.show()

    def add_ticket(self, text: str) -> None:
        """Verify and add a scanned ticket (a no-change loss needs the same ticket scanned twice)."""
        checkout = self.checkout
        assert checkout is not None
        text = self.typed_serial_to_text(text)
        confirm = getattr(self, "_loss_confirm", None) == text.strip().upper()
        try:
            from points import tickets

            used = self.counter.journal.ticket_used(tickets.decode(text).serial)
        except Exception:
            used = False
        try:
            held = checkout.add_ticket(text, used, accept_loss=confirm)
        except TenderRefused as refused:
            if refused.code == "ticket_loss":
                self._loss_confirm = text.strip().upper()
                raise TenderRefused(
                    "ticket_loss",
                    "No change: {lost:,} yen of this ticket will be lost. Scan it again to accept.",
                    **refused.values,
                ) from None
            raise
        self._loss_confirm = None
        self.say(
            _("Ticket {serial}: {value}").format(
                serial=held.ticket.human_serial, value=format_yen(held.applied)
            )
        )

    def typed_serial_to_text(self, typed: str) -> str:
        """A typed human serial (a torn QR code) becomes the ticket's signed text, asked of the server.

        Raises:
            TenderRefused: offline, or the server does not know the serial.
        """
        from points import tickets

        try:
            serial = tickets.parse_human_serial(typed)
        except tickets.TicketGarbled:
            return typed  # not a serial: treat it as the QR text
        try:
            status = self.counter.client.ticket(serial)
        except SyncError:
            raise TenderRefused(
                "serial_offline", "A typed serial needs the server; scan the QR code."
            ) from None
        if status.text is None:
            # The server hands the signed text to the issuing side only (it is a bearer instrument).
            raise TenderRefused(
                "serial_not_redeemable",
                "Ticket {serial}: {value:,} yen, {state}. "
                "A typed serial cannot be redeemed: scan the QR code.",
                serial=status.human_serial,
                value=status.value,
                state=status.state.value,
            )
        return status.text

    def action_next_program(self) -> None:
        """Apply the points field to the next program."""
        self.program_index += 1
        self.show()

    def action_max_points(self) -> None:
        """Use as many points of the selected program as the sale and the balance allow."""
        checkout = self.checkout
        assert checkout is not None
        program = self.selected_program()
        if program is None:
            return
        try:
            checkout.use_points(program, checkout.max_points(program))
        except TenderRefused as refused:
            self.say(refused.text(), error=True)
        self.show()

    def action_back(self) -> None:
        """Back to the items; the sale stays open."""
        if not self.busy:
            self.app.pop_screen()

    async def on_card_read(self, message: CardRead) -> None:
        """A (new) card tapped during payment."""
        assert self.checkout is not None
        self.card_key = message.identity.card_key
        self.checkout.points.clear()
        await self.load_card(self.card_key)
        self.show()
        self.focus_first()

    # Commit --------------------------------------------------------------------------

    def action_commit(self) -> None:
        """Send the sale (asking for the PIN first when needed)."""
        if not self.busy:
            self.commit()

    @work(exclusive=True, group="commit")
    async def commit(self) -> None:
        checkout = self.checkout
        assert checkout is not None
        if not checkout.complete:
            self.say(_("The tenders do not cover the total."), error=True)
            return
        self.busy = True
        try:
            proof = None
            if checkout.needs_pin():
                proof = await self.pin_proof()
                if proof is None:
                    return
            self.say(_("Sending..."))
            try:
                done = await self.blocking(self.counter.sell, checkout, proof)
            except TenderRefused as refused:
                self.say(refused.text(), error=True)
            except TicketAlreadyUsed:
                self.say(_("This ticket has already been used."), error=True)
            except ServerRefused as refused:
                self.say(refused.message(), error=True)
            except SaleUnresolved as unresolved:
                from pos.screens.resolve import ResolveScreen

                self.app.push_screen(ResolveScreen(self.counter, unresolved.entry))
            else:
                self.post_message(SaleFinished(done))
        finally:
            self.busy = False

    async def pin_proof(self) -> PinProof | None:
        """Ask the resident's PIN and have the card sign a server challenge; ``None`` if cancelled."""
        checkout = self.checkout
        assert checkout is not None
        over = sum(checkout.points.values())
        try:
            tries = await self.blocking(self.desk.pin_tries_left)
        except card_errors.CardError as exc:
            self.say(exc.message(), error=True)
            return None
        note = ""
        while True:
            if tries == 0:
                self.say(card_errors.PinLocked().message(), error=True)
                return None
            pin = await self.app.push_screen_wait(PinScreen(tries, over, note))
            if pin is None:
                return None
            try:
                challenge_id, nonce = await self.blocking(self.counter.pin_challenge)
                signature, certificate = await self.blocking(self.desk.sign, pin, nonce)
            except card_errors.WrongPin as wrong:
                tries, note = wrong.tries_left, wrong.message()
                continue
            except card_errors.CardError as exc:
                self.say(exc.message(), error=True)
                return None
            except SyncError as exc:
                self.say(exc.message(), error=True)
                return None
            finally:
                pin = ""  # drop our reference to the PIN at once
            return PinProof(
                challenge_id=challenge_id,
                signature=base64.b64encode(signature).decode(),
                certificate=base64.b64encode(certificate).decode(),
            )
