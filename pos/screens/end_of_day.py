"""End of day (日計): the X report (点検) any time, the Z close (精算) once a day.

The change float (釣銭準備金) and the drawer count by denomination are typed here; the figures
on screen are the decoded bytes of the report the printer would get (what you see is what prints).
F5 prints the X report; F10 closes the day with the Z report; a second Z is refused and shows the
first one again.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal
from textual.widgets import Input, Label, Static

from points.dayreport import DENOMINATIONS, MAX_PIECES
from points.money import MAX_AMOUNT, format_yen
from pos.i18n import N_, _, language
from pos.printing import on_screen
from pos.screens.base import PosScreen
from pos.sync import refusal_text


def _count(value: str, limit: int) -> int | None:
    """A whole number 0..limit typed in a field (blank is 0), or ``None`` when it is not one."""
    text = value.strip().replace(",", "")
    if not text:
        return 0
    if not text.isascii() or not text.isdigit() or int(text) > limit:
        return None
    return int(text)


class EndOfDayScreen(PosScreen):
    """The day's X figures, the drawer count, and the Z close."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f5", "print_report", N_("Print X")),
        Binding("f10", "close_day", N_("Z close")),
        Binding("escape", "back", N_("Back")),
    ]

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        yield Static(_("End of day"), classes="big")
        with Horizontal(id="float-row"):
            yield Label(_("Change float"))
            yield Input(placeholder="30000", id="float", max_length=9)
        yield Label(_("Counted cash (pieces of each note and coin)"))
        with Grid(id="pieces"):
            for denomination in DENOMINATIONS:
                yield Label(f"{denomination:,}")
                yield Input(placeholder="0", id=f"n{denomination}", max_length=6)
        yield Static("", id="figures", markup=False)
        yield Static("", id="refused", classes="error")
        yield from self.compose_bottom()

    def on_mount(self) -> None:
        saved = self.counter.change_float()
        if saved is not None:
            self.query_one("#float", Input).value = str(saved)
        self.query_one("#float", Input).focus()
        self.refresh_figures()
        refused = self.counter.journal.refused_on_sync()
        if refused:
            lines = [_("Refused by the server on sync (disputed):")]
            lines += [
                f"  #{e.receipt_no} {format_yen(e.total)} {refusal_text(e.error_code or '', language())}"
                for e in refused
            ]
            self.query_one("#refused", Static).update("\n".join(lines))

    def typed(self) -> tuple[int | None, dict[int, int] | None]:
        """The float and the pieces as typed (``None`` for a field that is not a count)."""
        change_float = _count(self.query_one("#float", Input).value, MAX_AMOUNT)
        pieces: dict[int, int] = {}
        counted = False
        for denomination in DENOMINATIONS:
            field = self.query_one(f"#n{denomination}", Input)
            number = _count(field.value, MAX_PIECES)
            if number is None:
                return change_float, None
            counted |= bool(field.value.strip())
            pieces[denomination] = number
        return change_float, pieces if counted else {}

    def on_input_changed(self, event: Input.Changed) -> None:
        self.refresh_figures()

    def refresh_figures(self) -> None:
        """Redraw the X figures from the journal and what is typed (the float is kept for today)."""
        change_float, pieces = self.typed()
        if change_float is None or pieces is None:
            self.say(_("Type whole numbers only (pieces up to {n:,}).").format(n=MAX_PIECES))
            return
        self.say("")
        if self.query_one("#float", Input).value.strip():
            self.counter.set_change_float(change_float)
        from printers import decode, render

        report = self.counter.day_report(pieces or None)
        lines = decode(render(report, width=self.counter.printer.width))
        self.query_one("#figures", Static).update(on_screen([line for line in lines if line != "[cut]"]))

    def say(self, text: str) -> None:
        """A line in the message row."""
        self.query_one("#message", Static).update(text)

    async def action_print_report(self) -> None:
        """Print the X report (点検): nothing is closed."""
        _float, pieces = self.typed()
        outcome = await self.blocking(self.counter.x_report, pieces or None)
        from pos.screens.receipt import ReceiptScreen

        self.app.push_screen(ReceiptScreen(self.counter, outcome, _("X report")))

    async def action_close_day(self) -> None:
        """Close the day with the Z report (精算); a second Z shows the first."""
        from pos.journal import DayAlreadyClosed

        _float, pieces = self.typed()
        try:
            closed, outcome = await self.blocking(self.counter.z_close, pieces or None)
        except DayAlreadyClosed as exc:
            first = exc.first
            self.say(
                _("Today was closed already: Z {n} at {time}. The first Z:").format(
                    n=first.z_no, time=f"{first.closed_at.astimezone():%H:%M}"
                )
            )
            lines = [line for line in first.report.get("preview", []) if line != "[cut]"]
            self.query_one("#figures", Static).update(on_screen(lines))
            return
        from pos.screens.receipt import ReceiptScreen

        self.app.push_screen(ReceiptScreen(self.counter, outcome, _("Z close {n}").format(n=closed.z_no)))

    def action_back(self) -> None:
        """Back home."""
        self.app.pop_screen()
