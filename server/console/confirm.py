"""A yes/no question before an action that cannot be taken back (締める, 承認, 差し戻し)."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from server.console.words import N_, _, translated


class ConfirmScreen(ModalScreen[bool]):
    """Asks ``question`` (with an optional ``warning`` shown in the error colour); True for はい."""

    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical {
        width: 72; height: auto; padding: 1 2; border: thick $primary; background: $surface;
    }
    ConfirmScreen #warning { color: $error; text-style: bold; margin: 1 0 0 0; }
    ConfirmScreen Horizontal { height: 3; margin: 1 0 0 0; }
    ConfirmScreen Button { margin: 0 2 0 0; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", N_("Yes")),
        Binding("n,escape", "answer(False)", N_("No")),
    ]

    def __init__(self, question: str, warning: str = "", yes: str = "", no: str = "") -> None:
        super().__init__()
        self.question, self.warning = question, warning
        self.yes, self.no = yes or _("Yes"), no or _("No")

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        """The keys, described in the console's language."""
        return translated(super().active_bindings)

    def compose(self) -> ComposeResult:
        """The question, the warning if any, and the two buttons (いいえ focused: Enter does nothing rash)."""
        with Vertical():
            yield Static(self.question, id="question", markup=False)
            if self.warning:
                yield Static(self.warning, id="warning", markup=False)
            with Horizontal():
                yield Button(self.yes, id="yes", variant="warning")
                yield Button(self.no, id="no", variant="primary")

    def on_mount(self) -> None:
        """Focus the safe answer."""
        self.query_one("#no", Button).focus()

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        """はい or いいえ."""
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        """The y / n keys."""
        self.dismiss(answer)
