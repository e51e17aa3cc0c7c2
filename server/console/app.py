"""The settlement console (精算コンソール): a Textual app for chamber and city clerks, over HTTP.

One screen: a period at the top, the claims of that period (select one to see the sales it
counted), approve or return the selected claim, the reconciliation, the periods, and downloads
(the Zengin file, the summary CSV, a merchant's statement CSV) saved to a folder. Every action is
an API call with the clerk's token, so the server decides what the clerk may see and do.

Started without a token (every browser session of ``mykey-settle serve``), it shows only the
sign-in screen (:mod:`server.console.signin`) until the server accepts a token; after ``idle``
without a key press or a click it signs out and asks again, saying why.

It speaks one language at a time (:mod:`server.console.words`): Japanese, or English when started
with ``--language en``; codes the server sends are shown by their names.
"""

from __future__ import annotations

import datetime as dt
import pathlib
import time
from collections.abc import Awaitable, Callable

from rich.cells import cell_len
from textual import events, on, work
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import (
    Button,
    DataTable,
    Footer,
    Header,
    Input,
    Label,
    Static,
    TabbedContent,
    TabPane,
)

from points import bank_days, calendar
from points.settlement_wire import Claim, ConsoleSession, NameFinding, PayoutCoverage, Reconciliation
from server.console import words
from server.console.client import ConsoleError, SettleClient
from server.console.confirm import ConfirmScreen
from server.console.excel import csv_to_xlsx
from server.console.signin import SignInScreen
from server.console.words import N_, _, name_of

#: The console's keys (letters act when a table has the focus; p puts the cursor in the period).
KEYS = (
    ("r", "reload", N_("Reload")),
    ("a", "approve", N_("Approve")),
    ("z", "zengin", N_("Zengin")),
    ("p", "focus_period", N_("Period field")),
    ("q", "quit", N_("Quit")),
)


def save_new(path: pathlib.Path, data: bytes) -> pathlib.Path:
    """Write ``data`` to ``path``, or beside it as ``name-2.ext``, ``name-3.ext``... if it exists."""
    candidate, number = path, 1
    while True:
        try:
            with candidate.open("xb") as out:  # "x": fails rather than overwrite, even in a race
                out.write(data)
            return candidate
        except FileExistsError:
            number += 1
            candidate = path.with_name(f"{path.stem}-{number}{path.suffix}")


def early_close_warning(period: str, today: dt.date) -> str:
    """A warning when ``period`` has not ended by ``today`` (Japan time), else ``""``."""
    try:
        last = calendar.parse_period(period).last_day
    except calendar.PeriodError:
        return ""  # the server says what is wrong with the name
    if today > last:
        return ""
    return _(
        "Warning: this period has not ended yet (last day {last}). Sales until then will not be in this"
        " period's claims if you close now.",
        last=f"{last:%Y-%m-%d}",
    )


def partial_approval_warning(claim: Claim, claims: list[Claim]) -> str:
    """A warning when approving the payment of ``claim`` leaves others of its city's period unpaid.

    ``claims`` are the period's claims the clerk sees. Only a claim the chamber approved is
    approved for payment (the city's step): then the Zengin file of the period pays only the
    claims approved for payment, and the clerk is told how many and how much stay out.
    """
    if claim.state != "approved":
        return ""
    others = [c for c in claims if c.id != claim.id and c.city_id == claim.city_id]
    unpaid = [c for c in others if c.state != "payment_approved"]
    if not unpaid:
        return ""
    total = len(others) + 1
    return _(
        "Partial approval: after this one, {paid} of the period's {total} claims are approved for payment."
        " The other {left} ({amount} yen) are not in this period's transfer file until they are approved.",
        paid=total - len(unpaid), total=total, left=len(unpaid), amount=yen(sum(c.net for c in unpaid)),
    )  # fmt: skip


def partial_payout_warning(coverage: PayoutCoverage) -> str:
    """What a Zengin file of part of the period leaves out: claims not approved, chambers not closed."""
    said = []
    if coverage.unapproved:
        said.append(
            _(
                "Partial payout: {paid} of the period's {total} claims are approved for payment; the other"
                " {left} ({amount} yen) are not in this file.",
                paid=coverage.approved,
                total=coverage.claims,
                left=coverage.unapproved,
                amount=yen(coverage.unapproved_net),
            )
        )
    if coverage.open_chambers:
        said.append(
            _(
                "Not closed yet by {chambers}: their claims for the period are not in this file.",
                chambers=("、" if words.language() == "ja" else ", ").join(coverage.open_chamber_names),
            )
        )
    return "\n".join(said)


def yen(amount: int) -> str:
    """Yen with thousands separators, right-aligned by the table."""
    return f"{amount:,}"


def aligned(rows: list[tuple[str, str]]) -> list[str]:
    """``label  value`` lines with the values right-aligned, measured in cells (full-width is two)."""
    label_width = max(cell_len(label) for label, _value in rows)
    value_width = max(len(value) for _label, value in rows)
    return [
        f"{label}{' ' * (label_width - cell_len(label))}  {value:>{value_width}}" for label, value in rows
    ]


class SettleApp(App[None]):
    """Periods, claims with drill-down, approve/return, reconciliation and downloads."""

    CSS_PATH = "app.tcss"

    def __init__(
        self,
        client: SettleClient,
        period: str,
        out_dir: pathlib.Path,
        transfer_date: dt.date | None = None,
        who: str = "",
        remote: str = "local",
        idle: dt.timedelta | None = None,
        language: str = words.DEFAULT_LANGUAGE,
    ) -> None:
        super().__init__()
        # One language for the whole console, chosen at start (--language), as on the counter.
        words.set_language(language)
        self.title = _("mykey settlement console")
        for key, action, description in KEYS:
            self.bind(key, action, description=_(description))
        self.remote = remote
        self.idle = idle
        self.last_activity = time.monotonic()
        self.client = client
        self.period = period
        self.out_dir = out_dir
        self.transfer_date = transfer_date
        self.sub_title = who
        self.claims: dict[str, Claim] = {}
        self.selected: str | None = None

    def compose(self) -> ComposeResult:
        """The toolbar, the tabs and the status line."""
        yield Header()
        with Horizontal(id="toolbar"):
            yield Label(_("Period"))
            yield Input(value=self.period, id="period", max_length=10)
            yield Button(_("Show"), id="show", variant="primary")
            yield Button(_("Close"), id="close")
            yield Button(_("Zengin"), id="zengin")
            yield Button(_("Summary CSV"), id="summary")
            yield Button(_("Sign out"), id="signout")
        with TabbedContent(id="tabs"):
            with TabPane(_("Claims"), id="claims-tab"), Vertical():
                yield DataTable(id="claims", cursor_type="row", zebra_stripes=True)
                with Horizontal(id="actions"):
                    yield Button(_("Approve"), id="approve", variant="success")
                    yield Input(placeholder=_("Reason to return"), id="reason", max_length=400)
                    yield Button(_("Return"), id="return", variant="warning")
                    yield Button(_("Statement CSV"), id="statement")
                yield DataTable(id="lines", cursor_type="row")
            with TabPane(_("Reconciliation"), id="recon-tab"):
                yield Static(id="recon")
            with TabPane(_("Periods"), id="periods-tab"):
                yield DataTable(id="periods", cursor_type="row")
            with TabPane(_("Names"), id="names-tab"), Vertical():
                yield Button(_("Accept the proposed name"), id="accept-name")
                yield DataTable(id="names", cursor_type="row")
        yield Static("", id="status")
        yield Footer()

    def on_mount(self) -> None:
        """Set up the tables' columns and load the period."""
        columns = {
            "#claims": (
                "Merchant",
                "Program",
                "City",
                "Gross",
                "Online sales",
                "Fee",
                "Online fee",
                "Net",
                "Disputed",
                "State",
            ),
            "#lines": ("Sale", "Kind", "Amount", "Accepted at", "Receipt"),
            "#periods": ("Chamber", "Period", "State", "Cutoff", "Number of claims", "Gross", "Net"),
            "#names": ("Payee", "Field", "Registered name", "Proposed", "Why", "State"),
        }
        for table, names in columns.items():
            self.query_one(table, DataTable).add_columns(*(_(name) for name in names))
        self.findings: list[NameFinding] = []
        # Start on the claims: letter keys (a approve, z Zengin) act on them rather than type.
        self.query_one("#claims", DataTable).focus()
        if self.idle is not None:
            self.set_interval(min(self.idle.total_seconds() / 5, 15.0), self.end_if_idle)
        if self.client.has_token:
            self.action_reload()
        else:
            self.ask_sign_in()

    def say(self, text: str, error: bool = False) -> None:
        """Show a message on the status line."""
        status = self.query_one("#status", Static)
        status.update(text)
        status.set_class(error, "error")

    # Loading ------------------------------------------------------------------------------

    def action_reload(self) -> None:
        """Load the period's claims, reconciliation and the periods list."""
        self.period = self.query_one("#period", Input).value.strip()
        self.load()

    @work(exclusive=True, group="load")
    async def load(self, quiet: bool = False) -> None:
        """Fetch and show everything for the current period (``quiet`` keeps the last action's message)."""
        try:
            claims = await self.client.claims(self.period)
            recon = await self.client.reconciliation(self.period)
            periods = await self.client.periods()
        except ConsoleError as error:
            self.say(str(error), error=True)
            return
        table = self.query_one("#claims", DataTable)
        table.clear()
        self.claims = {c.id: c for c in claims}
        for claim in claims:
            table.add_row(
                claim.merchant_name or claim.merchant_id, claim.program_name or claim.program_id,
                claim.city_name or claim.city_id, yen(claim.gross), yen(claim.online), yen(claim.fee),
                yen(claim.online_fee), yen(claim.net),
                yen(claim.disputed), name_of(words.CLAIM_STATES, claim.state), key=claim.id,
            )  # fmt: skip
        self.show_reconciliation(recon)
        periods_table = self.query_one("#periods", DataTable)
        periods_table.clear()
        for p in periods:
            periods_table.add_row(
                p.chamber_name or p.chamber_id, p.period_id, name_of(words.PERIOD_STATES, p.state),
                calendar.display_text(p.cutoff_at or ""), str(p.claims),
                yen(p.gross), yen(p.net),
            )  # fmt: skip
        if self.selected not in self.claims:
            self.selected = claims[0].id if claims else None
        if self.selected is not None:
            # Keep the clerk's place: the cursor stays on the claim just approved or returned.
            table.move_cursor(row=table.get_row_index(self.selected))
            await self.show_lines(self.selected)
        if not quiet:
            self.say(_("{period}: {n} claims", period=self.period, n=len(claims)))

    def show_reconciliation(self, recon: Reconciliation) -> None:
        """The three sums and whether they agree."""
        verdict = _("Balanced") if recon.balanced else _("NOT BALANCED")
        lines = [
            f"{_('Period')}: {recon.period_id}   {_('Number of claims')}: {recon.claims}",
            "",
            *aligned(
                [
                    (_("Claims gross"), yen(recon.claims_gross)),
                    (_("Receivables moved"), yen(recon.receivables_moved)),
                    (_("Net to pay"), yen(recon.net_to_pay)),
                    (_("Fees kept (approved)"), yen(recon.fees_of_paid)),
                    (_("Pending"), yen(recon.pending)),
                    (_("Uncounted transfers"), str(recon.uncounted)),
                ]
            ),
            "",
            f"{_('Verdict')}: {verdict}",
        ]
        widget = self.query_one("#recon", Static)
        widget.update("\n".join(lines))
        widget.set_class(not recon.balanced, "error")

    async def show_lines(self, claim_id: str) -> None:
        """The drill-down of one claim."""
        try:
            lines = await self.client.claim_lines(claim_id)
        except ConsoleError as error:
            self.say(str(error), error=True)
            return
        table = self.query_one("#lines", DataTable)
        table.clear()
        for line in lines:
            sign = -1 if line.kind in words.TAKEN_BACK else 1
            table.add_row(
                line.sale_id or "", name_of(words.LINE_KINDS, line.kind), yen(sign * line.amount),
                calendar.display_text(line.created_at),
                "" if line.receipt_no is None else str(line.receipt_no),
            )  # fmt: skip

    @on(DataTable.RowHighlighted, "#claims")
    async def claim_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """Selecting a claim shows the sales it counted."""
        if event.row_key.value is not None and event.row_key.value != self.selected:
            self.selected = event.row_key.value
            await self.show_lines(self.selected)

    # Actions ------------------------------------------------------------------------------

    @on(Button.Pressed, "#show")
    @on(Input.Submitted, "#period")
    def show_pressed(self) -> None:
        """Load the period typed."""
        self.action_reload()

    def action_focus_period(self) -> None:
        """Put the cursor in the period field, its text selected so that typing replaces it (p)."""
        field = self.query_one("#period", Input)
        field.focus()
        field.select_all()

    def confirm(self, question: str, then: Callable[[], Awaitable[None]], warning: str = "") -> None:
        """Ask before ``then``: approvals, returns and closes are not taken back with a key."""

        async def answered(yes: bool | None) -> None:
            if yes:
                await then()
            else:
                self.say(_("Cancelled"))

        self.push_screen(ConfirmScreen(question, warning), callback=answered)

    @on(Button.Pressed, "#approve")
    def action_approve(self) -> None:
        """Approve the selected claim (the chamber) or its payment (the city), once the clerk confirms."""
        if self.selected is None:
            self.say(_("Select a claim"), error=True)
            return
        claim = self.claims[self.selected]
        shop, program = claim.merchant_name or claim.merchant_id, claim.program_name or claim.program_id
        question = (
            N_("Approve the payment of {amount} yen of {program} to {shop}?")
            if claim.state == "approved"  # the chamber approved it: this is the city's payment approval
            else N_("Approve {amount} yen of {program} for {shop}?")
        )
        self.confirm(
            _(question, shop=shop, program=program, amount=yen(claim.net)),
            self.approve_selected,
            warning=partial_approval_warning(claim, list(self.claims.values())),
        )

    async def approve_selected(self) -> None:
        """Approve the selected claim at the server."""
        if self.selected is None:
            return
        try:
            claim = await self.client.approve(self.selected)
        except ConsoleError as error:
            self.say(str(error), error=True)
            return
        self.say(_("{claim}: {state}", claim=claim.id, state=name_of(words.CLAIM_STATES, claim.state)))
        self.load(quiet=True)

    @on(Button.Pressed, "#return")
    def return_pressed(self) -> None:
        """Return the selected claim with the reason typed, once the clerk confirms."""
        reason = self.query_one("#reason", Input).value.strip()
        if self.selected is None or not reason:
            self.say(_("Select a claim and enter a reason"), error=True)
            return
        claim = self.claims[self.selected]
        self.confirm(
            _("Return the claim of {shop}?\nReason: {reason}", shop=claim.merchant_name or claim.merchant_id,
              reason=reason),
            lambda: self.return_selected(reason),
        )  # fmt: skip

    async def return_selected(self, reason: str) -> None:
        """Return the selected claim at the server."""
        if self.selected is None:
            return
        try:
            claim = await self.client.return_claim(self.selected, reason)
        except ConsoleError as error:
            self.say(str(error), error=True)
            return
        self.query_one("#reason", Input).value = ""
        state = name_of(words.CLAIM_STATES, claim.state)
        self.say(_("{claim}: {state}", claim=claim.id, state=state) + f" — {reason}")
        self.load(quiet=True)

    @on(Button.Pressed, "#close")
    def close_pressed(self) -> None:
        """Close the period once the clerk confirms, warned when the period has not ended yet."""
        self.period = self.query_one("#period", Input).value.strip()
        question = _("Close {period}? Sales after the close go into the next period.", period=self.period)
        self.confirm(question, self.close_period, warning=early_close_warning(self.period, calendar.today()))

    async def close_period(self) -> None:
        """Close the period at the server (a chamber's own; closing again changes nothing)."""
        try:
            result = await self.client.close_period(self.period)
        except ConsoleError as error:
            self.say(str(error), error=True)
            return
        said = (
            N_("{period}: already closed — {n} claims, {amount} yen")
            if result.already_closed
            else N_("{period}: closed — {n} claims, {amount} yen")
        )
        self.say(_(said, period=self.period, n=result.claims, amount=yen(result.net)))
        self.load(quiet=True)

    def _save(self, name: str, data: bytes) -> pathlib.Path:
        """Write a download; a file already there is never overwritten (the new one is ``-2``, ...)."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        return save_new(self.out_dir / name, data)

    def _save_csv(self, name: str, data: bytes) -> pathlib.Path:
        """Write a CSV and its Excel copy beside it (same name, ``.xlsx``); the CSV's path."""
        path = self._save(name, data)
        save_new(path.with_suffix(".xlsx"), csv_to_xlsx(data, path.stem))
        return path

    async def show_names(self) -> bool:
        """Run the names pre-check into the 名義 tab; True when the file may be written."""
        check = await self.client.precheck(self.period)
        self.findings = check.findings
        table = self.query_one("#names", DataTable)
        table.clear()
        payees = self.payee_names()
        for f in self.findings:
            state = _("Accepted") if f.accepted else _("To resolve")
            payee = payees.get(f.payee_id, f.payee_id)
            field = name_of(words.NAME_FIELDS, f.field)
            table.add_row(payee, field, f.name, f.proposed or "—", words.one_language(f.detail), state)
        return check.ready

    def payee_names(self) -> dict[str, str]:
        """Merchants' and chambers' names by id, as the period's claims name them."""
        names = {c.chamber_id: c.chamber_name for c in self.claims.values() if c.chamber_name}
        names.update({c.merchant_id: c.merchant_name for c in self.claims.values() if c.merchant_name})
        return names

    @on(Button.Pressed, "#accept-name")
    async def accept_name_pressed(self) -> None:
        """Accept the proposed form of the highlighted name (logged by the server)."""
        row = self.query_one("#names", DataTable).cursor_row
        f = self.findings[row] if 0 <= row < len(self.findings) else None
        if f is None or not f.proposed:
            self.say(_("Select a name with a proposal"), error=True)
            return
        try:
            await self.client.accept_name(self.period, f.payee_id, f.field, f.proposed)
            await self.show_names()
        except ConsoleError as error:
            self.say(str(error), error=True)
            return
        self.say(_("{payee}: accepted 「{name}」", payee=self.payee_names().get(f.payee_id, f.payee_id),
                   name=f.proposed))  # fmt: skip

    @on(Button.Pressed, "#zengin")
    async def action_zengin(self) -> None:
        """Download the Zengin file of the period, once the names pre-check has nothing left to resolve."""
        # Banks need the file before the day: by default the next bank business day (as the server).
        day = self.transfer_date or bank_days.next_bank_business_day(calendar.today())
        try:
            if not await self.show_names():
                # Focus follows to the tab (a focused claim would pull the claims tab back).
                self.query_one("#tabs", TabbedContent).active = "names-tab"
                self.query_one("#names", DataTable).focus()
                left = sum(not f.accepted for f in self.findings)
                self.say(_("{n} account names to resolve first: fix or accept them on the Names tab", n=left),
                         error=True)  # fmt: skip
                return
            coverage = (await self.client.payout_plan(self.period)).coverage
        except ConsoleError as error:
            self.say(str(error), error=True)
            return
        if not coverage.partial:
            await self.download_zengin(day)
            return

        async def partial() -> None:
            await self.download_zengin(day, partial_payout_warning(coverage))

        # Part of the period is not in the file: the clerk says so before it is written.
        self.confirm(
            _("Write a transfer file that pays only part of the period?"),
            partial,
            warning=partial_payout_warning(coverage),
        )

    async def download_zengin(self, day: dt.date, warning: str = "") -> None:
        """Fetch and save the Zengin file (the status line repeats what a partial file leaves out)."""
        try:
            data = await self.client.zengin(self.period, day)
        except ConsoleError as error:
            self.say(str(error), error=True)
            return
        path = self._save(f"zengin-{self.period}-{day:%m%d}.txt", data)
        records = max(len(data) // 122 - 3, 0)
        saved = _("Saved the Zengin file: {path} ({n} records)", path=path, n=records)
        self.say(f"{saved}\n{warning}" if warning else saved, error=bool(warning))

    @on(Button.Pressed, "#summary")
    async def summary_pressed(self) -> None:
        """Download the period's summary CSV."""
        try:
            data = await self.client.summary_csv(self.period)
        except ConsoleError as error:
            self.say(str(error), error=True)
            return
        path = self._save_csv(f"summary-{self.period}.csv", data)
        self.say(_("Saved the summary: {path} (+ .xlsx)", path=path))

    @on(Button.Pressed, "#statement")
    async def statement_pressed(self) -> None:
        """Download the selected claim's merchant statement CSV."""
        if self.selected is None:
            self.say(_("Select a claim"), error=True)
            return
        merchant = self.claims[self.selected].merchant_id
        try:
            data = await self.client.statement_csv(merchant, self.period)
        except ConsoleError as error:
            self.say(str(error), error=True)
            return
        path = self._save_csv(f"statement-{merchant}-{self.period}.csv", data)
        self.say(_("Saved the statement: {path} (+ .xlsx)", path=path))

    # Sessions -----------------------------------------------------------------------------

    def ask_sign_in(self, notice: str = "") -> None:
        """Show the sign-in screen over the (empty) console."""
        self.push_screen(SignInScreen(self.client, self.remote, notice), callback=self.signed_in)

    def signed_in(self, session: ConsoleSession | None) -> None:
        """The server accepted a token: show whose console this is and load the period."""
        if session is None:
            return
        self.sub_title = f"{session.principal_id} ({session.role}) — {self.remote}"
        self.last_activity = time.monotonic()
        self.action_reload()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Without a token no key reaches the server; p only on the console itself (not under a question)."""
        if action == "focus_period":
            return self.client.has_token and len(self.screen_stack) == 1
        return self.client.has_token or action not in ("reload", "approve", "zengin")

    async def on_event(self, event: events.Event) -> None:
        """A key press, click or scroll counts as activity for the idle limit."""
        if isinstance(event, (events.Key, events.MouseDown, events.MouseScrollUp, events.MouseScrollDown)):
            self.last_activity = time.monotonic()
        await super().on_event(event)

    async def end_session(self, reason: str, notice: str) -> None:
        """Sign out at the server, forget the token, clear the screen and ask again."""
        self.workers.cancel_all()
        await self.client.sign_out(reason)
        self.claims, self.selected, self.sub_title = {}, None, ""
        for table in self.query(DataTable):
            table.clear()
        self.query_one("#recon", Static).update("")
        self.say("")
        self.ask_sign_in(notice)

    async def end_if_idle(self) -> None:
        """End a signed-in session nobody has touched for ``idle``."""
        if self.idle is None or self.client.session is None:
            return
        if time.monotonic() - self.last_activity >= self.idle.total_seconds():
            minutes = f"{self.idle.total_seconds() / 60:g}"
            notice = _("Signed out after {minutes} minutes without activity", minutes=minutes)
            await self.end_session("idle", notice)

    @on(Button.Pressed, "#signout")
    async def signout_pressed(self) -> None:
        """The clerk signs out; the next clerk signs in on the same tab."""
        await self.end_session("signout", _("Signed out"))

    async def on_unmount(self) -> None:
        """Sign out (the tab closed or the clerk quit) and close the HTTP client with the app."""
        if self.client.session is not None:
            await self.client.sign_out("closed")
        await self.client.aclose()
