"""Today's sales: reprint (再発行), void (取消, with a confirmation and a void receipt), return (返品)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from points import calendar
from points.money import format_yen
from pos.checkout import TenderRefused
from pos.counter import Counter
from pos.i18n import N_, _
from pos.journal import Entry
from pos.screens.base import JournalChanged, PosScreen
from pos.sync import ServerRefused, SyncError

STATE_LABELS = {
    "pending": N_("Unconfirmed"),
    "accepted": N_("Done"),
    "refused": N_("Refused"),
    "offline": N_("Offline"),
    "synced": N_("Synced"),
}


class HistoryScreen(PosScreen):
    """A table of today's sales; R reprints, V voids (V again to confirm), B returns part of one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "reprint", N_("Reprint")),
        Binding("v", "void", N_("Void")),
        Binding("b", "return_part", N_("Return")),
        Binding("escape", "back", N_("Back")),
    ]

    def __init__(self, counter: Counter) -> None:
        super().__init__(counter)
        self.entries: list[Entry] = []
        self.confirm_void: str | None = None

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        yield DataTable(id="history", cursor_type="row", zebra_stripes=True)
        yield from self.compose_bottom()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(_("No."), _("Time"), _("Total"), _("State"), _("Printed"))
        self.reload()
        table.focus()

    def on_journal_changed(self, message: JournalChanged) -> None:
        """A sync moved entries on (オフライン → 送信済): show what the journal says now."""
        self.reload()

    def on_screen_resume(self) -> None:
        """Back from a receipt or a reprint: the rows and the message start fresh."""
        super().on_screen_resume()
        self.reload()

    def reload(self) -> None:
        """Read today's sales from the journal (the cursor stays on its row)."""
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        self.entries = [e for e in self.counter.recent() if e.kind.value in ("sale", "return")]
        for entry in self.entries:
            state = _(STATE_LABELS[entry.state.value])
            if entry.voided_at is not None:
                state = _("Voided")
            if entry.kind.value == "return":
                state = f"{_('Return')} {state}"
            table.add_row(
                str(entry.receipt_no),
                calendar.japan_time(entry.created_at).strftime("%H:%M"),
                format_yen(-entry.total if entry.kind.value == "return" else entry.total),
                state,
                str(entry.print_count),
                key=entry.id,
            )
        if self.entries:
            table.move_cursor(row=min(max(row, 0), len(self.entries) - 1))

    def selected(self) -> Entry | None:
        """The entry under the cursor."""
        table = self.query_one(DataTable)
        if not self.entries or table.cursor_row < 0:
            return None
        return self.entries[table.cursor_row]

    async def action_reprint(self) -> None:
        """Print the selected receipt again, marked 再発行."""
        entry = self.selected()
        if entry is None or (not entry.counts and entry.voided_at is None):
            self.say(_("Only finished sales can be reprinted."), error=True)
            return
        outcome = await self.blocking(lambda: self.counter.print_sale(entry, reprint=True))
        self.reload()
        from pos.screens.receipt import ReceiptScreen

        self.app.push_screen(ReceiptScreen(self.counter, outcome, _("Reprint")))

    async def action_void(self) -> None:
        """Void the selected sale after a confirmation (press V twice)."""
        entry = self.selected()
        if entry is None:
            return
        if entry.kind.value != "sale":
            self.say(_("A return cannot be voided."), error=True)
            return
        if self.confirm_void != entry.id:
            self.confirm_void = entry.id
            self.say(
                _("Void receipt {no} ({amount})? Press V again to confirm.").format(
                    no=entry.receipt_no, amount=format_yen(entry.total)
                ),
                error=True,
            )
            return
        self.confirm_void = None
        try:
            entry, outcome = await self.blocking(self.counter.void, entry)
        except TenderRefused as refused:
            self.say(refused.text(), error=True)
            return
        except (ServerRefused, SyncError) as exc:
            self.say(exc.message(), error=True)
            return
        self.reload()
        self.say(_("Receipt {no} voided.").format(no=entry.receipt_no))
        from pos.screens.receipt import ReceiptScreen

        self.app.push_screen(ReceiptScreen(self.counter, outcome, _("Voided")))

    def action_return_part(self) -> None:
        """Return part of the selected sale (返品); with no sale of today, find one of another day."""
        entry = self.selected()
        if entry is not None and entry.kind.value != "sale":
            self.say(_("Choose a sale to return part of."), error=True)
            return
        from pos.screens.returns import ReturnScreen

        self.app.push_screen(ReturnScreen(self.counter, entry))

    def action_back(self) -> None:
        """Back home."""
        self.app.pop_screen()
