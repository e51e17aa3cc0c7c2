"""Returns (返品): find the sale by its receipt, choose what comes back, refund it, print the 返品 receipt.

The sale is found by the receipt number printed on it, or its sale id (取引ID, typed or scanned),
any day; B in History opens this screen with the sale under the cursor. Space marks item lines to return
(their yen per rate fill the amounts), or the amounts per rate are typed. Points go back to the
card in proportion to what the sale paid in points, each program in its own field, and other
tenders (credit, QR, IC) back by kind in proportion to what they paid (every field can be
changed); the rest is cash. When points go back the sale's card must be touched. F10 asks, F10
again returns.

Returns need the server (it knows what earlier returns gave back): offline the screen says so and
nothing is returned.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import DataTable, Input, Label, Static

from points import calendar
from points.money import MAX_AMOUNT, format_points, format_yen
from points.tax import TaxRate
from points.wire import ExternalKind
from pos.checkout import TenderRefused
from pos.counter import Counter, SaleUnresolved
from pos.i18n import N_, _
from pos.journal import Entry
from pos.screens.base import CardRead, PosScreen
from pos.sync import ServerRefused, SyncError

#: The amount fields, one per tax rate.
RATE_FIELDS = {int(TaxRate.STANDARD): "amount10", int(TaxRate.REDUCED): "amount8"}


def _yen(value: str) -> int | None:
    """Whole yen typed in a field (blank is 0), or ``None`` when it is not an amount."""
    text = value.strip().replace(",", "").replace("¥", "")
    if not text:
        return 0
    if not text.isascii() or not text.isdigit() or int(text) > MAX_AMOUNT:
        return None
    return int(text)


class ReturnScreen(PosScreen):
    """One return of part of a sale: find, choose, refund, confirm (F10 twice)."""

    # The screen's own layout (kept here, not in app.tcss: one screen, one file).
    DEFAULT_CSS = """
    ReturnScreen #find-row, ReturnScreen #amount-row, ReturnScreen #points-row { height: 3; }
    ReturnScreen Horizontal Label { padding: 1 1; width: auto; }
    ReturnScreen #find { width: 32; }
    ReturnScreen #amount10, ReturnScreen #amount8, ReturnScreen .refund { width: 16; }
    ReturnScreen #return-lines { height: auto; max-height: 10; }
    ReturnScreen #return-sale, ReturnScreen #return-summary { padding: 0 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_line", N_("Choose line"), show=True),
        Binding("f10", "confirm", N_("Return")),
        Binding("escape", "back", N_("Back")),
    ]

    def __init__(self, counter: Counter, sale: Entry | None = None) -> None:
        super().__init__(counter)
        self.sale = sale
        self.plan: Any = None
        self.chosen: set[int] = set()
        self.confirming = False
        #: A return whose answer was lost: F10 asks the server again with the same id.
        self.unresolved: Entry | None = None
        self._filling = False
        #: The refund fields of the open sale: input id -> ("points", program id) or ("external", kind).
        self.refund_fields: dict[str, tuple[str, str]] = {}

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        yield Static(_("Return"), id="return-title", classes="big")
        with Horizontal(id="find-row"):
            yield Label(_("Receipt no. or sale id"))
            yield Input(placeholder="12", id="find", max_length=40)
        yield Static("", id="return-sale")
        yield DataTable(id="return-lines", cursor_type="row")
        with Horizontal(id="amount-row"):
            yield Label(_("Items at 10%"))
            yield Input(placeholder="0", id="amount10", max_length=9)
            yield Label(_("Items at 8%"))
            yield Input(placeholder="0", id="amount8", max_length=9)
        # One field per points program and per other tender the open sale was paid with.
        yield Horizontal(id="points-row")
        yield Static("", id="return-summary")
        yield from self.compose_bottom()

    async def on_mount(self) -> None:
        table = self.query_one("#return-lines", DataTable)
        table.add_columns(" ", _("Item"), _("Qty"), _("Amount"), _("Rate"))
        if self.sale is not None:
            self.query_one("#find", Input).value = str(self.sale.receipt_no)
            await self.open_sale(self.sale)
        else:
            self.query_one("#find", Input).focus()
            self.say(_("Type the receipt number of the sale (or scan its sale id)."))

    # Finding the sale ------------------------------------------------------------------

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "find":
            sale = self.counter.journal.find_sale(event.value)
            if sale is None:
                self.say(_("No sale with that receipt number on this terminal."), error=True)
                return
            await self.open_sale(sale)

    async def refund_row(self) -> None:
        """A field for each program whose points the sale used and each other tender it was paid with."""
        from pos.widgets.external import kind_words

        row = self.query_one("#points-row", Horizontal)
        await row.remove_children()
        self.refund_fields = {}
        widgets: list[Widget] = []
        for index, program_id in enumerate(self.plan.side.points):
            name = "refund-points" if index == 0 else f"refund-points-{index + 1}"
            self.refund_fields[name] = ("points", program_id)
            widgets.append(Label(_("{program} back").format(program=self._program_name(program_id))))
            widgets.append(Input(placeholder="0", id=name, max_length=9, classes="refund"))
        for kind in self.plan.external_paid():
            name = f"refund-{kind.value}"
            self.refund_fields[name] = ("external", kind.value)
            widgets.append(Label(kind_words(kind)))
            widgets.append(Input(placeholder="0", id=name, max_length=9, classes="refund"))
        row.display = bool(widgets)
        if widgets:
            await row.mount_all(widgets)

    async def open_sale(self, sale: Entry) -> None:
        """Show the sale and start a return of it."""
        self.sale = sale
        self.plan = self.counter.return_plan(sale)
        self.chosen = set()
        self.confirming = False
        side = self.plan.side
        day = calendar.japan_time(sale.created_at)
        text = _("Receipt {no}  {time}  total {total}").format(
            no=sale.receipt_no, time=f"{day:%Y-%m-%d %H:%M}", total=format_yen(sale.total)
        )
        used = sale.sale_request.points
        if used:
            text += "\n" + _("Points used: {points}").format(
                points=", ".join(
                    f"{self._program_name(p.program_id)} {format_points(p.points)}" for p in used
                )
            )
        if side.returned_total:
            text += "\n" + _("Returned already: {amount}").format(amount=format_yen(side.returned_total))
        self.query_one("#return-sale", Static).update(text)
        table = self.query_one("#return-lines", DataTable)
        table.clear()
        for line in sale.lines:
            mark = "※" if line.rate is TaxRate.REDUCED else ""
            table.add_row(
                "", line.name, str(line.quantity), format_yen(line.amount), f"{mark}{int(line.rate)}%"
            )
        await self.refund_row()
        table.focus()
        if sale.voided_at is not None:
            self.say(_("This sale was voided: it cannot be returned."), error=True)
        else:
            self.say(_("Space chooses the lines to return, or type the amounts. F10 to return."))
        self.fill_fields()

    def _program_name(self, program_id: str) -> str:
        config = self.counter.config
        names = {p.id: p.name_ja for p in config.programs} if config else {}
        return names.get(program_id, program_id)

    # Choosing what comes back ----------------------------------------------------------

    def action_toggle_line(self) -> None:
        """Mark or unmark the line under the cursor for return."""
        if self.plan is None or not self.sale or not self.sale.lines:
            return
        table = self.query_one("#return-lines", DataTable)
        row = table.cursor_row
        if not 0 <= row < len(self.sale.lines):
            return
        self.chosen ^= {row}
        table.update_cell_at((row, 0), "✓" if row in self.chosen else "")
        self.plan.choose_lines([self.sale.lines[n] for n in sorted(self.chosen)])
        self.confirming = False
        self.fill_fields()

    def fill_fields(self) -> None:
        """Show the plan's amounts and points in the fields (not echoed back as typing)."""
        if self.plan is None:
            return
        self._filling = True
        try:
            for rate, name in RATE_FIELDS.items():
                amount = self.plan.amounts.get(rate, 0)
                self.query_one(f"#{name}", Input).value = str(amount) if amount else ""
            self.fill_refunds()
        finally:
            self._filling = False
        self.refresh_summary()

    def fill_refunds(self) -> None:
        """The plan's points per program and yen per other tender, in their fields."""
        for name, (kind, key) in self.refund_fields.items():
            if kind == "points":
                value = self.plan.points.get(key, 0)
            else:
                value = self.plan.external.get(ExternalKind(key), 0)
            self.query_one(f"#{name}", Input).value = str(value) if value else ""

    def on_input_changed(self, event: Input.Changed) -> None:
        if self._filling or self.plan is None or event.input.id == "find":
            return
        self.confirming = False
        typed = _yen(event.value)
        if typed is None:
            self.say(_("Type whole yen only."), error=True)
            return
        if event.input.id in RATE_FIELDS.values():
            rate = next(r for r, name in RATE_FIELDS.items() if name == event.input.id)
            self.plan.set_amount(rate, typed)
            self._filling = True
            try:
                self.fill_refunds()
            finally:
                self._filling = False
        elif event.input.id in self.refund_fields:
            kind, key = self.refund_fields[event.input.id]
            target: dict[Any, int] = self.plan.points if kind == "points" else self.plan.external
            tender: Any = key if kind == "points" else ExternalKind(key)
            if typed:
                target[tender] = typed
            else:
                target.pop(tender, None)
        self.refresh_summary()

    def refresh_summary(self) -> None:
        """What will go back: yen, points to the card, cash from the drawer, and the card state."""
        plan = self.plan
        if plan is None:
            return
        parts = [_("Return {total}").format(total=format_yen(plan.total))]
        for program_id, points in plan.points.items():
            parts.append(f"{self._program_name(program_id)} +{format_points(points)}")
        if plan.external:
            from pos.widgets.external import kind_words

            for kind, amount in plan.external.items():
                parts.append(f"{kind_words(kind)} {format_yen(amount)}")
        parts.append(_("cash {cash}").format(cash=format_yen(plan.cash)))
        text = "  ".join(parts)
        if plan.points:
            if plan.card_key is None:
                text += "\n" + _("Touch the card the sale was paid with.")
            elif plan.card_key != plan.sale_card:
                text += "\n" + _("This is not the card the sale was paid with.")
            else:
                text += "\n" + _("Card checked.")
        self.query_one("#return-summary", Static).update(text)

    async def on_card_read(self, message: CardRead) -> None:
        """The card tapped for a points refund."""
        if self.plan is None:
            return
        self.plan.card_key = message.identity.card_key
        self.confirming = False
        self.refresh_summary()

    # Returning -------------------------------------------------------------------------

    async def action_confirm(self) -> None:
        """F10 asks; F10 again sends the return, prints the 返品 receipt and opens the drawer."""
        if self.unresolved is not None:
            await self._resolve()
            return
        if self.plan is None:
            self.say(_("Type the receipt number of the sale (or scan its sale id)."), error=True)
            return
        try:
            self.plan.check()
        except TenderRefused as refused:
            self.say(refused.text(), error=True)
            return
        if not self.confirming:
            self.confirming = True
            self.say(
                _("Return {total} ({cash} in cash)? Press F10 again to confirm.").format(
                    total=format_yen(self.plan.total), cash=format_yen(self.plan.cash)
                ),
                error=True,
            )
            return
        self.confirming = False
        try:
            done = await self.blocking(self.counter.return_sale, self.plan)
        except TenderRefused as refused:
            self.say(refused.text(), error=True)
            return
        except SaleUnresolved as lost:
            self.unresolved = lost.entry
            self.say(_("No answer from the server: press F10 to ask again (the same return)."), error=True)
            return
        except (ServerRefused, SyncError) as exc:
            self.say(exc.message(), error=True)
            return
        self._show(done)

    async def _resolve(self) -> None:
        entry = self.unresolved
        assert entry is not None
        try:
            done = await self.blocking(self.counter.resolve, entry)
        except SaleUnresolved:
            self.say(_("No answer from the server: press F10 to ask again (the same return)."), error=True)
            return
        except (ServerRefused, SyncError) as exc:
            self.unresolved = None
            self.say(exc.message(), error=True)
            return
        self.unresolved = None
        self._show(done)

    def _show(self, done: Any) -> None:
        from pos.screens.receipt import ReceiptScreen

        self.app.switch_screen(ReceiptScreen(self.counter, done.printed, _("Returned")))

    def action_back(self) -> None:
        """Back without returning anything."""
        self.app.pop_screen()
