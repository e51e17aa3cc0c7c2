"""Shown when something unexpected went wrong on a screen: what happened to the sale, and go on.

The app keeps running (see :meth:`pos.app.PosApp.recover`): the sale in progress is either still
in the basket (nothing was written yet) or safe in the journal under its receipt number, to be
sent with the same id. The details go to ``errors.log`` beside the journal.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Static

from points.money import format_yen
from pos.counter import Counter
from pos.i18n import N_, _
from pos.journal import Entry, EntryState
from pos.screens.base import PosScreen

#: What the shopkeeper is told about a written sale, by its state in the journal.
STATE_WORDS = {
    EntryState.PENDING: N_("it will be sent again with the same number. Do not ring it up again."),
    EntryState.OFFLINE: N_("it is queued and will be sent when the server is back."),
    EntryState.ACCEPTED: N_("the server accepted it. Reprint the receipt from History if needed."),
    EntryState.SYNCED: N_("the server accepted it. Reprint the receipt from History if needed."),
    EntryState.REFUSED: N_("the server refused it; nothing was charged."),
}


class FailureScreen(PosScreen):
    """An unexpected error, in words, with the state of the sale; Enter goes on."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter,escape", "done", N_("Continue"))]

    def __init__(self, counter: Counter, error: BaseException, entry: Entry | None, log: str) -> None:
        super().__init__(counter)
        self.error = error
        self.entry = entry
        self.log_path = log

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        with Vertical(id="failure"):
            yield Static(_("Something went wrong"), classes="big error")
            yield Static(self.sale_words(), id="failure-sale")
            detail = f"{type(self.error).__name__}: {self.error}"[:300]
            yield Static(
                _("Details: {detail} (written to {log})").format(detail=detail, log=self.log_path),
                id="failure-detail",
                markup=False,
            )
        yield from self.compose_bottom()

    def sale_words(self) -> str:
        """What became of the sale in progress."""
        entry = self.entry
        if entry is None:
            return _("Nothing was sent. The sale in progress is kept: F1 to continue it.")
        state = _(STATE_WORDS.get(entry.state, STATE_WORDS[EntryState.PENDING]))
        return _("Receipt {no}, {amount}, is safe in the journal: {state}").format(
            no=entry.receipt_no, amount=format_yen(entry.total), state=state
        )

    def action_done(self) -> None:
        """Back to where the counter waits."""
        self.dismiss()
