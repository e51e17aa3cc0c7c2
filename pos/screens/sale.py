"""Entering the items of a sale: amounts with their tax rate (10 %/8 %) and quantity, scanned
products (PLU), department keys (部門) and discounts (値引・小計値引・見切り)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Static

from points import discounts
from points.money import MAX_AMOUNT, format_yen
from points.tax import REDUCED_MARK, TaxRate
from pos.card.desk import CardDesk
from pos.checkout import Basket
from pos.counter import Counter
from pos.i18n import N_, _
from pos.items import ItemList
from pos.screens.base import CardRead, PosScreen
from pos.typed import looks_like_ticket
from pos.widgets.entry import EntryError, EntryInput, ItemEntry, read_entry

#: The lines' default names (in the journal and on the receipt) as the screen words them.
DEFAULT_NAMES = {"商品": N_("Item"), "食品": N_("Food")}


class SaleScreen(PosScreen):
    """Items of the sale in progress (kept on the app: Escape goes home without losing it)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "toggle_rate", N_("10%/8%")),
        Binding("f3", "remove_last", N_("Undo line")),
        Binding("f4", "discount_line", N_("Line discount")),
        Binding("f5", "discount_subtotal", N_("Subtotal discount")),
        Binding("f9", "markdown", N_("Markdown")),
        Binding("f10", "tender", N_("Pay")),
        Binding("escape", "home", N_("Back")),
    ]

    def __init__(
        self, counter: Counter, basket: Basket, desk: CardDesk, items: ItemList | None = None
    ) -> None:
        super().__init__(counter)
        self.basket = basket
        self.desk = desk
        self.items = items or ItemList()
        #: Built once: a scanned code is looked up in a dict, not the list.
        self.products = self.items.products()
        #: The shop's default rate (a bakery's 8 %): a plain amount needs no F2.
        self.rate = self.items.default_rate

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        with Horizontal(id="sale"):
            with Vertical(id="entry"):
                yield Static("", id="rate")
                yield EntryInput(
                    self.items.departments(),
                    placeholder=_("Amount (e.g. 300 or 300*2), Enter"),
                    id="amount",
                )
                if self.items.department:
                    yield Static(self.department_keys(), id="departments", classes="hint")
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
            rows.append(f"{mark}{name}{quantity}  {format_yen(line.gross):>10}")
            if line.discount:
                rows.append(f"   {line.discount_label}  {format_yen(-line.discount):>10}")
        if basket.subtotal_discount:
            rows.append(f" {basket.subtotal_label}  {format_yen(-basket.subtotal_discount):>10}")
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
        self.ring_up(event.input, event.value)

    def on_entry_input_department_key(self, event: EntryInput.DepartmentKey) -> None:
        """A department key after an amount (or alone, for a fixed price) rings up a line."""
        self.ring_up(event.entry, event.value, event)

    def ring_up(self, field: Input, text: str, key: EntryInput.DepartmentKey | None = None) -> None:
        """Add the line the entry field reads as: an amount, a scanned product or a department's."""
        department = key.department if key is not None else None
        try:
            item: ItemEntry = read_entry(text, self.items, self.products, department)
        except EntryError as exc:
            self.say(_(str(exc)), error=True)
            return
        if self.basket.total + item.price * item.quantity > MAX_AMOUNT:
            self.say(_("A sale is at most {amount}.").format(amount=format_yen(MAX_AMOUNT)), error=True)
            return
        if item.product is not None:
            product = item.product
            self.basket.add(item.price, item.quantity, product.rate, product.name, code=product.jan)
        elif item.department is not None:
            self.basket.add(item.price, item.quantity, item.department.rate, item.department.name)
        else:
            self.basket.add(item.price, item.quantity, self.rate)
        field.value = ""
        self.say("")
        self.show_basket()

    def department_keys(self) -> str:
        """The department keys as the screen lists them: ``A パン※  D イートイン ¥300``."""
        keys = []
        for department in self.items.department:
            mark = REDUCED_MARK if department.rate is TaxRate.REDUCED else ""
            price = f" {format_yen(department.price)}" if department.price else ""
            keys.append(f"{department.key} {department.name}{mark}{price}")
        return "  ".join(keys)

    def give_discount(self, *, subtotal: bool = False, markdown: bool = False) -> None:
        """A discount of the typed yen or percent (見切り: the shop's percent when none is typed)."""
        field = self.query_one("#amount", Input)
        text = field.value.strip() or (f"{self.items.markdown_percent}%" if markdown else "")
        try:
            discount = discounts.parse(text, markdown=markdown)
            if subtotal:
                self.basket.discount_subtotal(discount)
            else:
                self.basket.discount_last(discount)
        except discounts.DiscountError:
            self.say(_("Type the discount (e.g. 50 or 10%), then the key."), error=True)
            return
        field.value = ""
        self.say("")
        self.show_basket()

    def action_discount_line(self) -> None:
        """値引/割引 on the last line: the typed yen (``50``) or percent (``10%``)."""
        self.give_discount()

    def action_discount_subtotal(self) -> None:
        """小計値引 on the whole sale, spread over the rates in proportion."""
        self.give_discount(subtotal=True)

    def action_markdown(self) -> None:
        """見切り on the last line at closing time (the shop's percent unless one is typed)."""
        self.give_discount(markdown=True)

    def action_toggle_rate(self) -> None:
        """Switch the rate of typed amounts between 10 % and 8 % (from the shop's default)."""
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
