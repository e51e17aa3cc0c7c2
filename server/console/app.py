"""The settlement console (精算コンソール): a Textual app for chamber and city clerks, over HTTP.

One screen: a period at the top, the claims of that period (select one to see the sales it
counted), approve or return the selected claim, the reconciliation, the periods, and downloads
(the Zengin file, the summary CSV, a merchant's statement CSV) saved to a folder. Every action is
an API call with the clerk's token, so the server decides what the clerk may see and do.

Started without a token (every browser session of ``mykey-settle serve``), it shows only the
sign-in screen (:mod:`server.console.signin`) until the server accepts a token; after ``idle``
without a key press or a click it signs out and asks again, saying why.
"""

from __future__ import annotations

import datetime as dt
import pathlib
import time
from collections.abc import Awaitable, Callable
from typing import ClassVar

from textual import events, on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
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
from points.settlement_wire import Claim, ConsoleSession, NameFinding, Reconciliation
from server.console.client import ConsoleError, SettleClient
from server.console.confirm import ConfirmScreen
from server.console.excel import csv_to_xlsx
from server.console.signin import SignInScreen

STATES = {
    "submitted": "審査待ち submitted",
    "approved": "商工会承認 approved",
    "returned": "差し戻し returned",
    "payment_approved": "支払承認 payment approved",
}


#: Names for the codes the server sends (a clerk reads ポイント利用, not ``redeem_points``).
KINDS = {"redeem_points": "ポイント利用", "redeem_ticket": "ポイント券", "void": "取消"}
PERIOD_STATES = {"open": "未締め", "closed": "締め済み"}


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
    return (
        f"注意: この期間はまだ終わっていません（最終日 {last:%Y-%m-%d}）。今締めると、"
        "最終日までの残りの取引はこの期間の請求に入りません。"
    )


def yen(amount: int) -> str:
    """Yen with thousands separators, right-aligned by the table."""
    return f"{amount:,}"


class SettleApp(App[None]):
    """Periods, claims with drill-down, approve/return, reconciliation and downloads."""

    CSS_PATH = "app.tcss"
    TITLE = "mykey 精算コンソール / Settlement console"
    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        Binding("r", "reload", "再読込 Reload"),
        Binding("a", "approve", "承認 Approve"),
        Binding("z", "zengin", "全銀 Zengin"),
        Binding("q", "quit", "終了 Quit"),
    ]

    def __init__(
        self,
        client: SettleClient,
        period: str,
        out_dir: pathlib.Path,
        transfer_date: dt.date | None = None,
        who: str = "",
        remote: str = "local",
        idle: dt.timedelta | None = None,
    ) -> None:
        super().__init__()
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
            yield Label("期間 Period")
            yield Input(value=self.period, id="period", max_length=10)
            yield Button("表示 Show", id="show", variant="primary")
            yield Button("締める Close", id="close")
            yield Button("全銀 Zengin", id="zengin")
            yield Button("集計CSV Summary", id="summary")
            yield Button("サインアウト Sign out", id="signout")
        with TabbedContent(id="tabs"):
            with TabPane("請求 Claims", id="claims-tab"), Vertical():
                yield DataTable(id="claims", cursor_type="row", zebra_stripes=True)
                with Horizontal(id="actions"):
                    yield Button("承認 Approve", id="approve", variant="success")
                    yield Input(placeholder="差し戻し理由 / reason to return", id="reason", max_length=400)
                    yield Button("差し戻し Return", id="return", variant="warning")
                    yield Button("明細CSV Statement", id="statement")
                yield DataTable(id="lines", cursor_type="row")
            with TabPane("照合 Reconciliation", id="recon-tab"):
                yield Static(id="recon")
            with TabPane("期間 Periods", id="periods-tab"):
                yield DataTable(id="periods", cursor_type="row")
            with TabPane("名義 Names", id="names-tab"), Vertical():
                yield Button("提案を承認 Accept the proposed name", id="accept-name")
                yield DataTable(id="names", cursor_type="row")
        yield Static("", id="status")
        yield Footer()

    def on_mount(self) -> None:
        """Set up the tables' columns and load the period."""
        self.query_one("#claims", DataTable).add_columns(
            "加盟店 Merchant", "事業 Program", "自治体 City", "請求 Gross", "手数料 Fee", "支払 Net",
            "係争 Disputed", "状態 State",
        )  # fmt: skip
        self.query_one("#lines", DataTable).add_columns(
            "取引 Sale", "種類 Kind", "金額 Amount", "受付 Accepted", "レシート Receipt"
        )
        self.query_one("#periods", DataTable).add_columns(
            "商工会 Chamber",
            "期間 Period",
            "状態 State",
            "締め Cutoff",
            "請求数 Claims",
            "請求 Gross",
            "支払 Net",
        )
        self.query_one("#names", DataTable).add_columns(
            "支払先 Payee", "項目 Field", "登録名義 Name", "提案 Proposed", "理由 Why", "状態 State"
        )
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
                claim.merchant_name or claim.merchant_id, claim.program_id, claim.city_id,
                yen(claim.gross), yen(claim.fee), yen(claim.net), yen(claim.disputed),
                STATES.get(claim.state, claim.state), key=claim.id,
            )  # fmt: skip
        self.show_reconciliation(recon)
        periods_table = self.query_one("#periods", DataTable)
        periods_table.clear()
        for p in periods:
            periods_table.add_row(
                p.chamber_id, p.period_id, PERIOD_STATES.get(p.state, p.state),
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
            self.say(f"{self.period}: 請求 {len(claims)} 件 / {len(claims)} claims")

    def show_reconciliation(self, recon: Reconciliation) -> None:
        """The three sums and whether they agree."""
        verdict = "一致 balanced" if recon.balanced else "不一致 NOT BALANCED"
        lines = [
            f"期間 Period: {recon.period_id}   請求数 Claims: {recon.claims}",
            f"請求合計 Claims gross:            {yen(recon.claims_gross):>15}",
            f"加盟店債権の動き Receivables moved: {yen(recon.receivables_moved):>15}",
            f"支払承認済み Net to pay:           {yen(recon.net_to_pay):>15}",
            f"手数料 Fees kept (approved):       {yen(recon.fees_of_paid):>15}",
            f"未承認 Pending:                    {yen(recon.pending):>15}",
            f"未計上 Uncounted transfers:        {recon.uncounted:>15}",
            f"判定 Verdict: {verdict}",
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
            sign = -1 if line.kind == "void" else 1
            table.add_row(
                line.sale_id or "", KINDS.get(line.kind, line.kind), yen(sign * line.amount),
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

    def confirm(self, question: str, then: Callable[[], Awaitable[None]], warning: str = "") -> None:
        """Ask before ``then``: approvals, returns and closes are not taken back with a key."""

        async def answered(yes: bool | None) -> None:
            if yes:
                await then()
            else:
                self.say("取り消しました / Cancelled")

        self.push_screen(ConfirmScreen(question, warning), callback=answered)

    @on(Button.Pressed, "#approve")
    def action_approve(self) -> None:
        """Approve the selected claim (the chamber) or its payment (the city), once the clerk confirms."""
        if self.selected is None:
            self.say("請求を選んでください / Select a claim", error=True)
            return
        claim = self.claims[self.selected]
        shop = claim.merchant_name or claim.merchant_id
        self.confirm(
            f"{shop} の {claim.program_id} {yen(claim.net)} 円を承認しますか？", self.approve_selected
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
        self.say(f"{claim.id}: {STATES.get(claim.state, claim.state)}")
        self.load(quiet=True)

    @on(Button.Pressed, "#return")
    def return_pressed(self) -> None:
        """Return the selected claim with the reason typed, once the clerk confirms."""
        reason = self.query_one("#reason", Input).value.strip()
        if self.selected is None or not reason:
            self.say("請求を選び、理由を入力してください / Select a claim and enter a reason", error=True)
            return
        claim = self.claims[self.selected]
        self.confirm(
            f"{claim.merchant_name or claim.merchant_id} の請求を差し戻しますか？\n理由: {reason}",
            lambda: self.return_selected(reason),
        )

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
        self.say(f"{claim.id}: {STATES.get(claim.state, claim.state)} — {reason}")
        self.load(quiet=True)

    @on(Button.Pressed, "#close")
    def close_pressed(self) -> None:
        """Close the period once the clerk confirms, warned when the period has not ended yet."""
        self.period = self.query_one("#period", Input).value.strip()
        self.confirm(f"{self.period} を締めますか？ 締めた後の取引は次の期間に入ります。", self.close_period,
                     warning=early_close_warning(self.period, calendar.today()))  # fmt: skip

    async def close_period(self) -> None:
        """Close the period at the server (a chamber's own; closing again changes nothing)."""
        try:
            result = await self.client.close_period(self.period)
        except ConsoleError as error:
            self.say(str(error), error=True)
            return
        already = "締め済み already closed" if result.already_closed else "締めました closed"
        self.say(f"{self.period}: {already} — 請求 {result.claims} 件, {yen(result.net)} 円")
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
        for f in self.findings:
            state = "承認済み accepted" if f.accepted else "要対応 to resolve"
            table.add_row(f.payee_id, f.field, f.name, f.proposed or "—", f.detail, state)
        return check.ready

    @on(Button.Pressed, "#accept-name")
    async def accept_name_pressed(self) -> None:
        """Accept the proposed form of the highlighted name (logged by the server)."""
        row = self.query_one("#names", DataTable).cursor_row
        f = self.findings[row] if 0 <= row < len(self.findings) else None
        if f is None or not f.proposed:
            self.say("提案のある名義を選んでください / Select a name with a proposal", error=True)
            return
        try:
            await self.client.accept_name(self.period, f.payee_id, f.field, f.proposed)
            await self.show_names()
        except ConsoleError as error:
            self.say(str(error), error=True)
            return
        self.say(f"{f.payee_id}: 「{f.proposed}」を承認しました / accepted")

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
                self.say(
                    f"口座名義の確認が必要です: {left} 件 — 「名義」タブで直すか承認してください / "
                    f"{left} names to resolve first (Names tab)",
                    error=True,
                )
                return
            data = await self.client.zengin(self.period, day)
        except ConsoleError as error:
            self.say(str(error), error=True)
            return
        path = self._save(f"zengin-{self.period}-{day:%m%d}.txt", data)
        records = max(len(data) // 122 - 3, 0)
        self.say(f"全銀ファイルを保存しました / Saved the Zengin file: {path} ({records} 件)")

    @on(Button.Pressed, "#summary")
    async def summary_pressed(self) -> None:
        """Download the period's summary CSV."""
        try:
            data = await self.client.summary_csv(self.period)
        except ConsoleError as error:
            self.say(str(error), error=True)
            return
        path = self._save_csv(f"summary-{self.period}.csv", data)
        self.say(f"集計CSVを保存しました / Saved the summary: {path} (+ .xlsx)")

    @on(Button.Pressed, "#statement")
    async def statement_pressed(self) -> None:
        """Download the selected claim's merchant statement CSV."""
        if self.selected is None:
            self.say("請求を選んでください / Select a claim", error=True)
            return
        merchant = self.claims[self.selected].merchant_id
        try:
            data = await self.client.statement_csv(merchant, self.period)
        except ConsoleError as error:
            self.say(str(error), error=True)
            return
        path = self._save_csv(f"statement-{merchant}-{self.period}.csv", data)
        self.say(f"明細を保存しました / Saved the statement: {path} (+ .xlsx)")

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
        """Without a token no key reaches the server."""
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
            await self.end_session(
                "idle", f"操作のないまま {minutes} 分たったため、サインアウトしました"
                f" / Signed out after {minutes} minutes without activity",
            )  # fmt: skip

    @on(Button.Pressed, "#signout")
    async def signout_pressed(self) -> None:
        """The clerk signs out; the next clerk signs in on the same tab."""
        await self.end_session("signout", "サインアウトしました / Signed out")

    async def on_unmount(self) -> None:
        """Sign out (the tab closed or the clerk quit) and close the HTTP client with the app."""
        if self.client.session is not None:
            await self.client.sign_out("closed")
        await self.client.aclose()
