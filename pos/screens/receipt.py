"""The receipt preview: the lines decoded from the very bytes sent to the printer."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from pos.counter import Counter
from pos.i18n import N_, _, explain
from pos.printing import PrintOutcome
from pos.screens.base import PosScreen


class ReceiptScreen(PosScreen):
    """Shows a printed document; Enter or Escape goes back."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter,escape", "done", N_("Done"))]

    def __init__(self, counter: Counter, outcome: PrintOutcome, title: str = "") -> None:
        super().__init__(counter)
        self.outcome = outcome
        self.title_text = title

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        yield Static(self.title_text, id="receipt-title", classes="big")
        with VerticalScroll(id="receipt-scroll"):
            yield Static("\n".join(self.outcome.preview), id="receipt", markup=False)
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
