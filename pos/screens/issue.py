"""The ticket counter (Tenri): enter shop receipts, issue point tickets by the program's rule, print them."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Input, Static

from points.money import format_points, format_yen
from points.programs import PercentAward
from points.wire import ReceiptForTickets
from pos.checkout import TenderRefused
from pos.counter import Counter
from pos.i18n import N_, _
from pos.screens.base import PosScreen
from pos.sync import SyncError
from pos.typed import read_yen


class IssueScreen(PosScreen):
    """Receipts in (shop id, receipt number, amount); F10 issues and prints the tickets."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f10", "issue", N_("Issue")),
        Binding("f3", "remove_last", N_("Undo line")),
    ]

    def __init__(self, counter: Counter) -> None:
        super().__init__(counter)
        self.receipts: list[ReceiptForTickets] = []

    def program_id(self) -> str | None:
        """The program whose percent rule makes tickets (the first such in the config)."""
        config = self.counter.config
        for program in config.programs if config else []:
            if isinstance(program.award_rule, PercentAward):
                return program.id
        return None

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        yield Static(_("Ticket counter"), classes="big")
        with Horizontal(id="issue-inputs"):
            yield Input(placeholder=_("Shop id"), id="issue-shop")
            yield Input(placeholder=_("Receipt no."), id="issue-receipt")
            yield Input(placeholder=_("Amount, Enter"), id="issue-amount")
        yield Static("", id="receipts")
        yield from self.compose_bottom()

    def on_mount(self) -> None:
        self.query_one("#issue-shop", Input).focus()
        self.show()

    def show(self) -> None:
        """Redraw the receipts and the tickets they earn."""
        config = self.counter.config
        program_id = self.program_id()
        rule = None
        if config and program_id:
            rule = {p.id: p for p in config.programs}[program_id].award_rule
        rows = [f"{r.merchant_id}  #{r.receipt_no}  {format_yen(r.amount)}" for r in self.receipts]
        if isinstance(rule, PercentAward):
            points = sum(rule.points_for(r.amount) for r in self.receipts)
            rows.append(_("Tickets: {points}").format(points=format_points(points)))
        self.query_one("#receipts", Static).update("\n".join(rows))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter moves on; Enter in the amount adds the receipt."""
        if event.input.id == "issue-shop":
            self.query_one("#issue-receipt", Input).focus()
        elif event.input.id == "issue-receipt":
            self.query_one("#issue-amount", Input).focus()
        else:
            try:
                amount = read_yen(event.value)
            except TenderRefused as refused:
                self.say(refused.text(), error=True)
                return
            try:
                receipt = ReceiptForTickets(
                    merchant_id=self.query_one("#issue-shop", Input).value.strip(),
                    receipt_no=self.query_one("#issue-receipt", Input).value.strip(),
                    date=dt.date.today(),
                    amount=amount,
                )
            except ValueError:
                self.say(_("Enter the shop id, the receipt number and the amount."), error=True)
                return
            self.receipts.append(receipt)
            self.query_one("#issue-receipt", Input).value = ""
            event.input.value = ""
            self.query_one("#issue-receipt", Input).focus()
            self.say("")
            self.show()

    def action_remove_last(self) -> None:
        """Take back the last receipt."""
        if self.receipts:
            self.receipts.pop()
        self.show()

    async def action_issue(self) -> None:
        """Issue the tickets and print them."""
        program_id = self.program_id()
        if not self.receipts or program_id is None:
            return
        try:
            result, outcomes = await self.blocking(
                self.counter.issue_tickets, program_id, list(self.receipts)
            )
        except TenderRefused as refused:  # training mode: the server is never asked
            self.say(refused.text(), error=True)
            return
        except SyncError as exc:
            self.say(exc.message(), error=True)
            return
        self.receipts.clear()
        self.show()
        self.say(
            _("Issued {n} tickets ({points}).").format(
                n=len(result.tickets), points=format_points(result.points)
            )
        )
        if outcomes:
            from pos.printing import PrintOutcome
            from pos.screens.receipt import ReceiptScreen

            preview = [line for outcome in outcomes for line in outcome.preview]
            errors = [o.error for o in outcomes if o.error is not None]
            merged = PrintOutcome(
                data=b"".join(o.data for o in outcomes), preview=preview, error=errors[0] if errors else None
            )
            self.app.push_screen(ReceiptScreen(self.counter, merged, _("Tickets")))
