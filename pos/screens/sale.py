"""Entering the items of a sale: amounts with their tax rate (10 %/8 %) and quantity, or a total."""

from __future__ import annotations

import unicodedata
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Static

from points.money import MAX_AMOUNT, format_yen
from points.tax import REDUCED_MARK, TaxRate
from pos.card.desk import CardDesk
from pos.checkout import Basket
from pos.counter import Counter
from pos.i18n import N_, _
from pos.screens.base import CardRead, PosScreen
from pos.typed import looks_like_ticket

#: The lines' default names (in the journal and on the receipt) as the screen words them.
DEFAULT_NAMES = {"商品": N_("Item"), "食品": N_("Food")}


def parse_entry(text: str) -> tuple[int, int]:
    """Read ``"300"``, ``"300*2"`` or ``"300x2"`` (full-width digits too) as (unit price, quantity).

    Raises:
        ValueError: not an amount, or out of range.
    """
    normal = unicodedata.normalize("NFKC", text).strip().replace("x", "*").replace("X", "*").replace(",", "")
    price_text, _sep, quantity_text = normal.partition("*")
    price, quantity = int(price_text), int(quantity_text or "1")
    if not 0 < price <= MAX_AMOUNT or not 0 < quantity <= 9999:
        raise ValueError(f"out of range: {text!r}")
    return price, quantity


class SaleScreen(PosScreen):
    """Items of the sale in progress (kept on the app: Escape goes home without losing it)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "toggle_rate", N_("10%/8%")),
        Binding("f3", "remove_last", N_("Undo line")),
        Binding("f10", "tender", N_("Pay")),
        Binding("escape", "home", N_("Back")),
    ]

    def __init__(self, counter: Counter, basket: Basket, desk: CardDesk) -> None:
        super().__init__(counter)
        self.basket = basket
        self.desk = desk
        self.rate = TaxRate.STANDARD

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        with Horizontal(id="sale"):
            with Vertical(id="entry"):
                yield Static("", id="rate")
                yield Input(placeholder=_("Amount (e.g. 300 or 300*2), Enter"), id="amount")
                yield Static(_("Tap the card to pay with points."), classes="hint")
            with Vertical(id="basket"):
                yield Static("", id="lines")
                yield Static("", id="total", classes="big")
        yield from self.compose_bottom()

    def on_mount(self) -> None:
        self.show_basket()
        self.query_one("#amount", Input).focus()

    def show_basket(self) -> None:
        """Redraw the lines, the rate and the total."""
        basket = self.basket
        rows = []
        for line in basket.lines:
            mark = REDUCED_MARK if line.rate is TaxRate.REDUCED else " "
            quantity = f" x{line.quantity}" if line.quantity > 1 else ""
            name = _(DEFAULT_NAMES[line.name]) if line.name in DEFAULT_NAMES else line.name
            rows.append(f"{mark}{name}{quantity}  {format_yen(line.amount):>10}")
        self.query_one("#lines", Static).update("\n".join(rows) or _("No items yet."))
        self.query_one("#total", Static).update(_("Total {amount}").format(amount=format_yen(basket.total)))
        rate = _("Reduced rate 8% (food)") if self.rate is TaxRate.REDUCED else _("Standard rate 10%")
        self.query_one("#rate", Static).update(rate)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter adds the typed amount; Enter on an empty field goes to payment."""
        if not event.value.strip():
            self.action_tender()
            return
        if looks_like_ticket(event.value):
            # A ticket scanned while the items are typed: it is a tender, taken on the payment screen.
            event.input.value = ""
            self.action_tender(ticket_text=event.value)
            return
        try:
            price, quantity = parse_entry(event.value)
        except ValueError:
            self.say(_("Enter an amount in yen, e.g. 300 or 300*2."), error=True)
            return
        if self.basket.total + price * quantity > MAX_AMOUNT:
            self.say(_("A sale is at most {amount}.").format(amount=format_yen(MAX_AMOUNT)), error=True)
            return
        self.basket.add(price, quantity, self.rate)
        event.input.value = ""
        self.say("")
        self.show_basket()

    def action_toggle_rate(self) -> None:
        """Switch the rate of the next line between 10 % and 8 %."""
        self.rate = TaxRate.REDUCED if self.rate is TaxRate.STANDARD else TaxRate.STANDARD
        self.show_basket()

    def action_remove_last(self) -> None:
        """Take back the last line."""
        self.basket.remove_last()
        self.show_basket()

    def action_home(self) -> None:
        """Back to the home screen; the sale stays open."""
        self.app.pop_screen()

    def action_tender(self, card_key: str | None = None, ticket_text: str | None = None) -> None:
        """Go to payment (with the tapped card, when there is one)."""
        if self.basket.total <= 0:
            self.say(_("Enter an amount first."), error=True)
            return
        from pos.screens.tender import TenderScreen

        if card_key is None and self.desk.card is not None:
            # A card still lying on the reader (e.g. since a balance inquiry) is the resident's card.
            card_key = self.desk.card.card_key
        self.app.push_screen(TenderScreen(self.counter, self.basket, self.desk, card_key, ticket_text))

    async def on_card_read(self, message: CardRead) -> None:
        """The resident tapped: go to payment with the card's balances."""
        self.action_tender(message.identity.card_key)
