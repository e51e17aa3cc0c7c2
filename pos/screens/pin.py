"""The PIN screen: four masked digits typed by the resident, the tries left shown; never stored."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from pos.i18n import N_, _
from pos.screens.base import translated


class PinScreen(ModalScreen[str | None]):
    """Ask for the card's 4-digit user-authentication PIN; dismissed with it, or ``None`` (Escape).

    The PIN is handed straight to the card by the caller and never kept: this screen clears
    its input when it closes.
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", N_("Cancel"))]

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        """The key bar's bindings, described in the current language."""
        return translated(super().active_bindings)

    def __init__(self, tries_left: int, points: int, note: str = "", purpose: str = "") -> None:
        super().__init__()
        self.tries_left = tries_left
        self.points = points
        self.note = note
        #: What the PIN is for when it is not a sale over the limit (the city desk says which card).
        self.purpose = purpose

    def compose(self) -> ComposeResult:
        with Vertical(id="pin-box"):
            yield Static(_("Enter your PIN (4 digits)"), classes="big")
            if self.purpose:
                yield Static(self.purpose, id="pin-purpose")
            else:
                yield Static(_("Points over the limit: {points:,} pt").format(points=self.points))
            yield Static(_("Tries left: {n}").format(n=self.tries_left), id="tries")
            yield Input(password=True, max_length=4, restrict=r"[0-9]*", id="pin")
            yield Static(self.note, id="pin-note", classes="error")

    def on_mount(self) -> None:
        self.query_one("#pin", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Four digits entered: hand them on."""
        pin = event.value
        if len(pin) != 4:
            self.query_one("#pin-note", Static).update(_("The PIN is 4 digits."))
            return
        event.input.value = ""
        self.dismiss(pin)

    def action_cancel(self) -> None:
        """Back without a PIN."""
        self.query_one("#pin", Input).value = ""
        self.dismiss(None)
