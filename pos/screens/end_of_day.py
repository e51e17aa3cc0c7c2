"""End of day (日計): the X report (点検) any time, the Z close (精算) once a day.

The change float (釣銭準備金) and the drawer count by denomination are typed here; the figures
on screen are the decoded bytes of the report the printer would get (what you see is what prints).
F5 prints the X report; F10 asks, and a second F10 closes the day with the Z report (it cannot be
undone, so one stray key must not do it; an edit or Escape in between asks again). A second Z is
refused and shows the first one again. A field that holds something other than a count stops F5
and F10 with its name, so a typo is never printed as 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

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

if TYPE_CHECKING:
    from pos.counter import Counter


def _count(value: str, limit: int) -> int | None:
    """A whole number 0..limit typed in a field (blank is 0), or ``None`` when it is not one."""
    text = value.strip().replace(",", "")
    if not text:
        return 0
    if not text.isascii() or not text.isdigit() or int(text) > limit:
        return None
    return int(text)


def _field_name(field_id: str) -> str:
    """The shopkeeper's name of a field on this screen (``float`` or ``n<yen>``)."""
    if field_id == "float":
        return _("Change float")
    return _("{yen:,} yen pieces").format(yen=int(field_id[1:]))


class EndOfDayScreen(PosScreen):
    """The day's X figures, the drawer count, and the Z close."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f5", "print_report", N_("Print X")),
        Binding("f10", "close_day", N_("Z close")),
        Binding("escape", "back", N_("Back")),
    ]

    def __init__(self, counter: Counter) -> None:
        super().__init__(counter)
        #: The first F10 was pressed: the next F10 closes the day (an edit or Escape clears it).
        self.confirming_z = False

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

    def not_a_count(self) -> Input | None:
        """The first field (float, then the pieces in the grid's order) that holds no valid count."""
        fields = [("float", MAX_AMOUNT)] + [(f"n{d}", MAX_PIECES) for d in DENOMINATIONS]
        for field_id, limit in fields:
            field = self.query_one(f"#{field_id}", Input)
            if _count(field.value, limit) is None:
                return field
        return None

    def refuse_bad_field(self, *, focus: bool) -> bool:
        """Name the first field without a valid count on the message line (and focus it); ``True`` if one."""
        field = self.not_a_count()
        if field is None:
            return False
        limit = MAX_AMOUNT if field.id == "float" else MAX_PIECES
        self.say(
            _("{field}: type a whole number from 0 to {n:,}.").format(
                field=_field_name(field.id or ""), n=limit
            ),
            error=True,
        )
        if focus:
            field.focus()
        return True

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
        self.confirming_z = False  # what was confirmed is not what is typed now
        self.refresh_figures()

    def refresh_figures(self) -> None:
        """Redraw the X figures from the journal and what is typed (the float is kept for today)."""
        if self.refuse_bad_field(focus=False):
            return
        change_float, pieces = self.typed()
        assert change_float is not None and pieces is not None  # every field holds a count
        self.say("")
        if self.query_one("#float", Input).value.strip():
            self.counter.set_change_float(change_float)
        from printers import decode, render

        report = self.counter.day_report(pieces or None)
        lines = decode(render(report, width=self.counter.printer.width))
        self.query_one("#figures", Static).update(on_screen([line for line in lines if line != "[cut]"]))

    async def action_print_report(self) -> None:
        """Print the X report (点検): nothing is closed."""
        self.confirming_z = False
        if self.refuse_bad_field(focus=True):
            return
        _float, pieces = self.typed()
        outcome = await self.blocking(self.counter.x_report, pieces or None)
        from pos.screens.receipt import ReceiptScreen

        self.app.push_screen(ReceiptScreen(self.counter, outcome, _("X report")))

    async def action_close_day(self) -> None:
        """Close the day with the Z report (精算) at the second F10; a second Z shows the first."""
        from pos.journal import DayAlreadyClosed

        if self.refuse_bad_field(focus=True):
            self.confirming_z = False
            return
        if not self.confirming_z and self.counter.closed_today() is None:
            self.confirming_z = True
            self.say(_("Press F10 again to close the day (Z). This cannot be undone."), error=True)
            return
        self.confirming_z = False
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
        """Back home, or, while F10 waits for its second press, stay and leave the day open."""
        if self.confirming_z:
            self.confirming_z = False
            self.say(_("The day was not closed."))
            return
        self.app.pop_screen()
