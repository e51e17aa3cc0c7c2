"""Other tenders on the payment screen (その他支払): credit, QR such as PayPay, 交通系 IC.

Recorded by kind and amount only: the shop's own card terminal or QR app takes the payment
(no integration here). F4 on the payment screen focuses the field and cycles the kind; Enter
with an amount records it, Enter on an empty field records all that is still due.
"""

from __future__ import annotations

import unicodedata

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Static

from points.wire import ExternalKind
from pos.i18n import N_, _

#: The kinds in the order F4 offers them, with their words.
KINDS: tuple[tuple[ExternalKind, str], ...] = (
    (ExternalKind.CREDIT, N_("Credit card")),
    (ExternalKind.QR, N_("QR payment (PayPay etc.)")),
    (ExternalKind.IC, N_("Transit IC / e-money")),
)


def kind_words(kind: ExternalKind) -> str:
    """The shopkeeper's words for a kind."""
    return _(dict(KINDS)[kind])


class ExternalTenderField(Vertical):
    """The kind of other tender and its amount field (hidden until F4)."""

    class Added(Message):
        """The shopkeeper entered an amount of ``kind`` (``None``: all that is due)."""

        def __init__(self, kind: ExternalKind, amount: int | None) -> None:
            super().__init__()
            self.kind = kind
            self.amount = amount

    def __init__(self) -> None:
        super().__init__(id="external-tender")
        self.index = 0
        self.display = False

    @property
    def kind(self) -> ExternalKind:
        """The kind F4 chose."""
        return KINDS[self.index][0]

    def compose(self) -> ComposeResult:
        yield Static("", id="external-kind")
        yield Input(
            placeholder=_("Amount paid by it, Enter (empty: all)"), id="external", restrict=r"[0-9０-９]*"
        )

    def next_kind(self) -> None:
        """F4: show the field, or go to the next kind when it is already shown; focus the amount."""
        if self.display and self.query_one("#external", Input).has_focus:
            self.index = (self.index + 1) % len(KINDS)
        self.display = True
        self.query_one("#external-kind", Static).update(
            _("Other tender: {kind} (F4: next)").format(kind=kind_words(self.kind))
        )
        self.query_one("#external", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()  # the payment screen's own fields are handled there
        text = unicodedata.normalize("NFKC", event.value).strip()
        event.input.value = ""
        amount = int(text) if text.isdigit() and len(text) <= 9 else None
        self.post_message(self.Added(self.kind, amount))
