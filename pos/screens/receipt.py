"""The receipt preview: the lines decoded from the very bytes sent to the printer."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Digits, Static

from points.money import format_yen
from pos.counter import Counter
from pos.i18n import N_, _, explain
from pos.printing import PrintOutcome, on_screen
from pos.screens.base import PosScreen


class ReceiptScreen(PosScreen):
    """Shows a printed document; Enter or Escape goes back."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter,escape", "done", N_("Done"))]

    def __init__(
        self, counter: Counter, outcome: PrintOutcome, title: str = "", *, change: int | None = None
    ) -> None:
        super().__init__(counter)
        self.outcome = outcome
        self.title_text = title
        #: お釣り of the sale just made, shown large beside the receipt (``None``: not a cash sale).
        self.change = change

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        yield Static(self.title_text, id="receipt-title", classes="big")
        with Horizontal(id="receipt-row"):
            with VerticalScroll(id="receipt-scroll"):
                yield Static(on_screen(self.outcome.preview), id="receipt", markup=False)
            if self.change is not None:
                with Vertical(id="change-box"):
                    yield Static(_("Change {amount}").format(amount=format_yen(self.change)), id="change")
                    yield Digits(f"{self.change:,}", id="change-digits")
        yield from self.compose_bottom()

    def on_mount(self) -> None:
        if self.outcome.error is not None:
            self.say(
                _("Printer: {message} The receipt can be printed again from History.").format(
                    message=explain(self.outcome.error)
                ),
                error=True,
            )

    def action_done(self) -> None:
        """Back to where the counter waits."""
        self.app.pop_screen()
