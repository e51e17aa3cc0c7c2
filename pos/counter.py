"""The counter's work without a screen: sell, resume, print, void, award, issue tickets, close the day.

Screens call these methods from worker threads (they block on the network, the disk and the
printer); nothing here imports ``textual``. The order of a sale is fixed here and nowhere else:

1. take a receipt number and a ULID, write the sale to the journal (``pending``);
2. ask the server; record its answer (``accepted``) or refusal (``refused``); when the server
   was never reached and the tenders are allowed offline, queue it (``offline``);
3. print the receipt and mark it printed; open the drawer when cash was taken; say the change.

A lost answer (:class:`pos.sync.AnswerLost`) leaves the sale ``pending``: :class:`SaleUnresolved`
tells the screen to retry the same sale until the answer is known, never to ring it up anew;
once it is known, step 3 is the same as for a sale answered at once.
"""

from __future__ import annotations

import json
import types
from dataclasses import dataclass, field
from typing import Any

from points import calendar
from points.programs import Program
from points.wire import (
    BlockRequest,
    CardLookup,
    DeskCard,
    EligibilityTag,
    ErrorBody,
    EventAwardRequest,
    ExternalTender,
    LinkRequest,
    MergeRequest,
    PinProof,
    PointTender,
    RateAmount,
    ReceiptForTickets,
    ResidentAccount,
    ReturnRequest,
    ReturnResult,
    SaleRequest,
    TerminalConfig,
    TerminalMode,
    TicketIssueRequest,
    TicketIssueResult,
)
from pos.checkout import Checkout, TenderRefused, blocked_keys
from pos.journal import DayAlreadyClosed, DayClose, Entry, EntryKind, EntryState, Journal
from pos.printing import PrintOutcome, ReceiptPrinter
from pos.sync import (
    REFUSALS,
    AnswerLost,
    ServerClient,
    ServerFailed,
    ServerRefused,
    ServerUnreachable,
    Syncer,
    SyncError,
    apply_block_list,
)


def _receipts() -> types.ModuleType:
    # Documents come from ``printers``, imported on first use to keep the app's start quick.
    from pos import receipts

    return receipts


def new_id() -> str:
    """A new ULID for a sale, return, award or ticket issue.

    python-ulid is imported here, on the first one: at import it asks the installed distributions'
    metadata for its own version (:mod:`importlib.metadata` and a walk of ``sys.path``), about
    10 ms of the counter's start (``tui_start_ms``) that the first frame does not need.
    """
    from ulid import ULID

    return str(ULID())


class SaleUnresolved(Exception):
    """The server may have the sale but its answer was lost; retry ``entry`` with :meth:`Counter.resolve`."""

    def __init__(self, entry: Entry, cause: SyncError) -> None:
        super().__init__(str(cause))
        self.entry = entry
        self.cause = cause


class NoConfig(Exception):
    """The terminal never reached the server, so it has no config (shop, programs, keys) for offline."""


@dataclass
class SaleDone:
    """A finished sale: its journal entry and what the printer did."""

    entry: Entry
    printed: PrintOutcome
    recovered: bool = False
    #: お釣り handed back (shown large after the sale); ``None`` when not a cash sale at this counter.
    change: int | None = None


@dataclass
class ResumeReport:
    """What :meth:`Counter.resume` did on start."""

    resolved: list[Entry] = field(default_factory=list)
    still_pending: list[Entry] = field(default_factory=list)
    reprinted: list[SaleDone] = field(default_factory=list)
    error: SyncError | None = None


class Counter:
    """One terminal's journal, server client, config and printer, and the work done with them.

    Args:
        journal: the terminal's journal.
        client: the server client (its ``online`` flag is the status light).
        printer: the receipt printer.
    """

    def __init__(self, journal: Journal, client: ServerClient, printer: ReceiptPrinter) -> None:
        self.journal = journal
        self.client = client
        self.printer = printer
        self.config: TerminalConfig | None = None
        self.mode_override: TerminalMode | None = None
        #: Training mode (練習モード): sales stay in this (training) journal, nothing goes to the server.
        self.training = False

    def start_training(self) -> None:
        """Practise: receipts marked 練習, sales kept in the journal only, never sent or synced."""
        self.training = True
        self.printer.training = True

    # Start ---------------------------------------------------------------------------

    def load_config(self) -> TerminalConfig:
        """Fetch the terminal config, or use the one saved last time when the server is down.

        Raises:
            NoConfig: offline and never configured.
            ServerRefused: the token is not accepted.
        """
        held = self.config or self._saved_config()
        try:
            # The block list (100,000 keys are 7 MB) comes as a delta from the version held.
            since = held.block_list_version if held is not None else ""
            try:
                config = apply_block_list(self.client.terminal_config(since), held)
            except ServerFailed:
                if not since:
                    raise
                config = self.client.terminal_config()  # a delta that does not apply: the whole list
        except (ServerUnreachable, AnswerLost, ServerFailed):
            if held is None:
                raise NoConfig("the server has never been reached") from None
            config = held
        else:
            self.journal.set_meta("terminal_config", config.model_dump_json())
        self.config = config
        return config

    def _saved_config(self) -> TerminalConfig | None:
        saved = self.journal.get_meta("terminal_config")
        if saved is None:
            return None
        try:
            return TerminalConfig.model_validate_json(saved)
        except ValueError:
            return None  # a configuration an older release saved: fetched whole

    @property
    def mode(self) -> TerminalMode:
        """What this terminal is for (the command line may override the server's setting)."""
        if self.mode_override is not None:
            return self.mode_override
        return self.config.mode if self.config else TerminalMode.SHOP

    def resume(self) -> ResumeReport:
        """Finish what a crash left: resolve pending entries (same ids), print unprinted receipts.

        Run before the counter takes a new sale.
        """
        report = ResumeReport()
        syncer = Syncer(self.journal, self.client)
        for entry in self.journal.pending():
            try:
                report.resolved.append(syncer.resolve(entry))
            except SyncError as exc:
                report.error = exc
                report.still_pending.append(entry)
        for entry in self.journal.unprinted():
            entry = self.journal.mark_recovered(entry.id)
            report.reprinted.append(SaleDone(entry, self.print_sale(entry), recovered=True))
        return report

    # Cards ---------------------------------------------------------------------------

    def lookup(self, card_key: str) -> CardLookup:
        """Balances and eligibility of a card (raises :class:`SyncError` offline)."""
        return self.client.lookup(card_key)

    def pin_challenge(self) -> tuple[str, bytes]:
        """A server challenge for the card to sign: its id and nonce bytes."""
        import base64

        challenge = self.client.challenge()
        return challenge.challenge_id, base64.b64decode(challenge.nonce)

    # Sales ---------------------------------------------------------------------------

    def checkout(self, basket: object) -> Checkout:
        """A checkout for ``basket`` with this terminal's config and online state."""
        assert self.config is not None
        return Checkout(config=self.config, basket=basket, online=self.client.online is not False)  # type: ignore[arg-type]

    def offline_allowed(self, request: SaleRequest) -> bool:
        """True when a sale may be queued offline: its points within each program's offline limit."""
        assert self.config is not None
        programs: dict[str, Program] = {p.id: p for p in self.config.programs}
        if request.card_key is not None and request.card_key in blocked_keys(self.config):
            return False  # a lost card or a revoked certificate, as of the last configuration fetch
        return all(t.points <= programs[t.program_id].offline_limit for t in request.points)

    def sell(self, checkout: Checkout, pin_proof: PinProof | None = None) -> SaleDone:
        """Write, send and print one sale (see the module docstring for the order).

        Raises:
            TenderRefused: the tenders do not cover the total, or offline limits forbid it.
            ServerRefused: the server refused the sale (recorded as ``refused``).
            SaleUnresolved: the answer was lost: retry with :meth:`resolve`.
        """
        return self._sell(checkout, pin_proof)

    def _sell(self, checkout: Checkout, pin_proof: PinProof | None) -> SaleDone:
        receipt_no = self.journal.next_receipt_no()
        sale_id = new_id()
        now = calendar.now().astimezone()
        request = checkout.request(sale_id, receipt_no, now, pin_proof)
        serials = [t.ticket.serial for t in checkout.tickets]
        if self.training:
            # Nothing reaches the server: the sale is kept as made offline in the training journal.
            request = request.model_copy(update={"offline": True, "pin_proof": None})
            entry = self.journal.begin_sale(request, checkout.basket.lines, serials, offline=True)
            checkout.basket.written_as = entry.id
            return self._done(entry)
        if request.offline:
            if not self.offline_allowed(request):
                raise TenderRefused("offline_points", "Points cannot be used while the server is offline.")
            entry = self.journal.begin_sale(request, checkout.basket.lines, serials, offline=True)
            checkout.basket.written_as = entry.id
            return self._done(entry)
        entry = self.journal.begin_sale(request, checkout.basket.lines, serials)
        checkout.basket.written_as = entry.id
        try:
            result = self.client.post_sale(request)
        except ServerRefused as exc:
            self.journal.refuse(entry.id, exc.error)
            raise
        except ServerUnreachable as exc:
            # The server never saw it, so the body may change: queue it offline when allowed.
            offline = request.model_copy(update={"offline": True, "pin_proof": None})
            if not self.offline_allowed(offline) or pin_proof is not None:
                self.journal.refuse(entry.id, ErrorBody(code="offline_points", message=str(exc)))
                raise TenderRefused(
                    "offline_points", "Points cannot be used while the server is offline."
                ) from exc
            entry = self.journal.go_offline(entry.id, offline.model_dump(mode="json"))
            return self._done(entry)
        except SyncError as exc:
            raise SaleUnresolved(entry, exc) from exc
        entry = self.journal.accept(entry.id, result)
        return self._done(entry)

    def _done(self, entry: Entry) -> SaleDone:
        # One ending for every sale and return the counter finishes, first time or resolved after a
        # lost answer: print the receipt, open the drawer when cash changes hands (ドロア: ESC p on
        # the printer), and hand back the change the receipt prints.
        done = SaleDone(entry, self.print_sale(entry), change=self.change_of(entry))
        if entry.request.get("cash") or done.change:  # cash taken, or change handed out of the drawer
            self.open_drawer()
        return done

    def change_of(self, entry: Entry) -> int | None:
        """お釣り of a sale as its receipt prints it; ``None`` when nothing is handed back in cash
        (no cash taken and no change-giving ticket's excess), and for returns."""
        if entry.kind is not EntryKind.SALE:
            return None
        assert self.config is not None
        receipt = _receipts().sale_receipt(entry, self.config)
        return receipt.change if receipt.cash or receipt.change else None

    def open_drawer(self) -> PrintOutcome:
        """Open the cash drawer through the printer (the drawer key, and after a cash sale)."""
        return self.printer.open_drawer()

    def resolve(self, entry: Entry) -> SaleDone:
        """Retry a pending sale with the same id and body; print it once the answer is known.

        Raises:
            ServerRefused: the server refused it after all (recorded).
            SaleUnresolved: still no answer.
        """
        try:
            entry = Syncer(self.journal, self.client).resolve(entry)
        except SyncError as exc:
            raise SaleUnresolved(entry, exc) from exc
        if entry.state is EntryState.REFUSED:
            code = entry.error_code or "refused"
            status = REFUSALS.get(code, (409, ""))[0]
            raise ServerRefused(status, ErrorBody(code=code, message=entry.error_message or ""))
        return self._done(entry)

    def print_sale(self, entry: Entry, *, reprint: bool = False) -> PrintOutcome:
        """Print a sale's receipt (再発行 when ``reprint``) and note it in the journal.

        A return's entry prints its return receipt (返品), with the original sale's."""
        assert self.config is not None
        if entry.kind is EntryKind.RETURN:
            assert entry.sale_id is not None
            original = self.journal.get(entry.sale_id)
            document: Any = _receipts().return_receipt(entry, original, self.config, reprint=reprint)
        else:
            document = _receipts().sale_receipt(entry, self.config, reprint=reprint)
        outcome = self.printer.print(document)
        if outcome.error is None:
            self.journal.mark_printed(entry.id)
        return outcome

    def void(self, entry: Entry, reason: str = "") -> tuple[Entry, PrintOutcome]:
        """Void a sale of today on the server, then print the void receipt (取消).

        Raises:
            TenderRefused: not a sale of today, or not yet known to the server.
            ServerRefused, SyncError: the server refused or cannot be reached.
        """
        assert self.config is not None
        if calendar.business_date(entry.created_at) != calendar.today() or entry.voided_at is not None:
            raise TenderRefused("void_not_today", "Only today's sales can be voided, once.")
        if self.journal.day_close(entry.day) is not None:
            # Its Z is printed and kept as printed: taking it back now is a return, in the next Z.
            raise TenderRefused(
                "void_after_z", "This sale is in today's Z already: take it back as a return."
            )
        if self.training:
            # A practice sale was never sent: its void is the training journal's alone.
            entry = self.journal.mark_voided(entry.id)
            return entry, self.printer.print(_receipts().void_receipt(entry, self.config, reason))
        if entry.state not in (EntryState.ACCEPTED, EntryState.SYNCED):
            raise TenderRefused("void_unsynced", "Sync this sale before voiding it.")
        try:
            result = self.client.void(entry.id, reason)
        except ServerUnreachable:
            # Voids need the server (it holds the points to give back): say so, never pretend.
            raise TenderRefused(
                "void_offline", "The server cannot be reached: nothing was voided. Void it when it is back."
            ) from None
        # The sale's own answer stays (a reprint shows the balance at the sale); the void's is kept apart.
        self.journal.set_meta(f"void_answer:{entry.id}", result.model_dump_json())
        entry = self.journal.mark_voided(entry.id)
        return entry, self.printer.print(_receipts().void_receipt(entry, self.config, reason))

    # Returns (返品) -------------------------------------------------------------------

    def return_plan(self, sale: Entry) -> Any:
        """A return of part of ``sale`` to fill in (its earlier returns read from the journal)."""
        from pos.returns import ReturnPlan

        return ReturnPlan(sale, self.journal.returns_of(sale.id), training=self.training)

    def return_sale(self, plan: Any) -> SaleDone:
        """Write, send and print a return (返品) of part of a sale; open the drawer for a cash refund.

        Returns need the server (it knows what earlier returns gave back): they are never queued.

        Raises:
            TenderRefused: the counter's own check refused it, or the server cannot be reached
                (nothing was returned).
            ServerRefused: the server refused it (recorded as ``refused``).
            SaleUnresolved: the answer was lost: retry with :meth:`resolve`.
        """
        assert self.config is not None
        plan.check()
        request = ReturnRequest(
            return_id=new_id(),
            terminal_time=calendar.now().astimezone(),
            receipt_no=self.journal.next_receipt_no(),
            amounts=[
                RateAmount(rate=rate, amount=amount)
                for rate, amount in sorted(plan.amounts.items(), reverse=True)
            ],
            card_key=plan.card_key if plan.points else None,
            points=[PointTender(program_id=p, points=n) for p, n in plan.points.items()],
            external=[ExternalTender(kind=k, amount=n) for k, n in plan.external.items()],
            cash=plan.cash,
            reason=plan.reason,
        )
        entry = self.journal.begin_return(request, plan.sale.id, plan.lines)
        if self.training:
            # Practice: the counter's own check stands in for the server's; nothing is sent.
            side = plan.side
            result = ReturnResult(
                return_id=request.return_id,
                sale_id=plan.sale.id,
                accepted_at=calendar.now(),
                amounts=request.amounts,
                points=request.points,
                external=request.external,
                cash=request.cash,
                sale_returned=side.returned_total + plan.total,
                sale_total=side.total,
            )
        else:
            try:
                result = self.client.post_return(plan.sale.id, request)
            except ServerRefused as exc:
                self.journal.refuse(entry.id, exc.error)
                raise
            except ServerUnreachable as exc:
                self.journal.refuse(entry.id, ErrorBody(code="return_offline", message=str(exc)))
                raise TenderRefused(
                    "return_offline",
                    "The server cannot be reached: nothing was returned. Return it when the server is back.",
                ) from exc
            except SyncError as exc:
                raise SaleUnresolved(entry, exc) from exc
        entry = self.journal.accept(entry.id, result)
        return self._done(entry)

    def sync(self, progress: object = None) -> object:
        """Send pending and offline entries (see :class:`pos.sync.Syncer`); never in training mode."""
        if self.training:
            from pos.sync import SyncReport

            return SyncReport()
        report = Syncer(self.journal, self.client, progress=progress).sync()  # type: ignore[arg-type]
        if report.error is None:
            self.refresh_block_list(report.block_list_version)
        return report

    def refresh_block_list(self, version: str | None = None) -> bool:
        """Fetch the configuration again when the server's block list changed; True if it did.

        Every sync asks (the batch answer's version, else the health check's), so an offline
        counter's block list is as fresh as its last sync with the server: a card blocked at the
        desk while the counter is offline is refused here only after the counter reconnects,
        and meanwhile at most the programs' offline limit can be spent on it.
        """
        if self.config is None:
            return False
        try:
            if version is None:
                version = self.client.health().block_list_version
            if version == self.config.block_list_version:
                return False
            self.load_config()
        except SyncError:
            return False
        return True

    def balance_slip(self, card: CardLookup) -> PrintOutcome:
        """Print a balance slip (残高照会)."""
        assert self.config is not None
        return self.printer.print(_receipts().balance_slip(self.config, card))

    # Award station, ticket counter, enrol desk ------------------------------------------

    def award(self, card_key: str) -> Entry:
        """Award the current event's points to a card (once per card per event).

        Raises:
            ServerRefused: e.g. ``already_awarded`` (recorded as refused).
            TenderRefused: this terminal has no event.
        """
        assert self.config is not None
        event = self.config.event
        if event is None:
            raise TenderRefused("no_event", "This terminal has no event set.")
        request = EventAwardRequest(
            award_id=new_id(),
            card_key=card_key,
            program_id=event.program_id,
            event_id=event.event_id,
            kind=event.kind,
        )
        if self.training:
            # Practice: kept in the training journal (which never syncs), the server never asked.
            return self.journal.begin_award(request, offline=True)
        if self.client.online is False:
            return self.journal.begin_award(request, offline=True)
        entry = self.journal.begin_award(request)
        try:
            result = self.client.award(request)
        except ServerRefused as exc:
            self.journal.refuse(entry.id, exc.error)
            raise
        except ServerUnreachable:
            return self.journal.go_offline(entry.id, entry.request)
        return self.journal.accept(entry.id, result)

    def issue_tickets(
        self, program_id: str, receipts_in: list[ReceiptForTickets], card_key: str | None = None
    ) -> tuple[TicketIssueResult, list[PrintOutcome]]:
        """Issue point tickets for receipts (the ticket counter) and print one slip per ticket.

        Raises:
            TenderRefused: training mode: tickets are signed by the server, which is never asked then.
        """
        assert self.config is not None
        if self.training:
            raise TenderRefused(
                "training_tickets", "Training mode: no tickets are issued and nothing is sent."
            )
        result = self.client.issue_tickets(
            TicketIssueRequest(
                issue_id=new_id(), program_id=program_id, card_key=card_key, receipts=receipts_in
            )
        )
        from printers.documents import TicketSlip

        programs = {p.id: p for p in self.config.programs}
        now = calendar.japan_time(calendar.now())  # the slip shows Japan time
        outcomes = [
            self.printer.print(
                TicketSlip(
                    issuer=self.config.merchant,
                    program=programs[t.program_id],
                    text=t.text,
                    issued_at=now,
                    terminal_id=self.config.terminal_id,
                )
            )
            for t in result.tickets
        ]
        return result, outcomes

    def enroll(self, card_key: str, tags: list[EligibilityTag]) -> CardLookup:
        """Set a card's eligibility tags the clerk checked on paper (the city's desk).

        Raises:
            TenderRefused: training mode (nothing is sent).
        """
        if self.training:
            raise TenderRefused("training_enroll", "Training mode: nothing is sent to the server.")
        return self.client.set_eligibility(card_key, tags)

    def block_account(self, number: str, reason: str, *, lift: bool = False) -> ResidentAccount:
        """Block (``lift``: unblock) the cards of the account whose number the resident quotes (a lost card).

        Raises:
            ServerRefused: e.g. ``account_not_found`` (a mistyped number fails its check character).
        """
        return self.client.desk_block(BlockRequest(account_number=number, reason=reason), lift=lift)

    def desk_challenge(self) -> tuple[str, bytes]:
        """A desk challenge for the card on the desk's reader to sign: its id and nonce bytes."""
        import base64

        challenge = self.client.desk_challenge()
        return challenge.challenge_id, base64.b64decode(challenge.nonce)

    def desk_account(self, card_key: str | None = None, number: str | None = None) -> ResidentAccount:
        """The account of the card on the desk's reader, or of the number the resident quotes."""
        if card_key is not None:
            return self.client.desk_lookup(card_key)
        assert number is not None
        return self.client.desk_account(number)

    def link_card(self, new: DeskCard, old: DeskCard | None, number: str | None = None) -> ResidentAccount:
        """Link a renewed or replacement card to the old card's account (or the quoted number's).

        Raises:
            TenderRefused: training mode (nothing is sent).
            ServerRefused: e.g. ``card_already_linked``, ``certificate_revoked``.
        """
        if self.training:
            raise TenderRefused("training_enroll", "Training mode: nothing is sent to the server.")
        return self.client.desk_link(LinkRequest(new=new, old=old, account_number=number))

    def merge_cards(self, source: DeskCard, target: DeskCard) -> ResidentAccount:
        """Merge the point card's account (``source``) into the My Number Card's (``target``).

        Raises:
            TenderRefused: training mode (nothing is sent).
            ServerRefused: e.g. ``invalid_request`` (both cards of one account already).
        """
        if self.training:
            raise TenderRefused("training_enroll", "Training mode: nothing is sent to the server.")
        return self.client.desk_merge(MergeRequest(source=source, target=target))

    # The day -------------------------------------------------------------------------

    def today(self) -> list[Entry]:
        """What the register's next Z holds: the register day's entries (today's, or after today's
        Z the next day's) and any booked since the last Z to a day that got none."""
        return self.journal.since_last_close(self.journal.register_day())

    def recent(self) -> list[Entry]:
        """Today's entries, and after today's Z the ones booked to the next day too (history)."""
        today, booked = calendar.today(), self.journal.register_day()
        entries = self.journal.of_day(today)
        return entries + self.journal.of_day(booked) if booked != today else entries

    def day_totals(self) -> dict[str, int]:
        """Sales count and total of today, and entries not yet synced (for the home screen)."""
        entries = [e for e in self.today() if e.counts and e.kind.value == "sale"]
        # Training entries are never sent, so none waits (and no health check polls for them).
        unsynced = 0
        if not self.training:
            unsynced = self.journal.count(EntryState.OFFLINE) + self.journal.count(EntryState.PENDING)
        return {"count": len(entries), "total": sum(e.total for e in entries), "unsynced": unsynced}

    def set_change_float(self, yen: int) -> None:
        """The change float (釣銭準備金) put in the drawer at the start of today."""
        self.journal.set_change_float(self.journal.register_day(), yen)

    def change_float(self) -> int | None:
        """Today's change float, or ``None`` before it was entered."""
        return self.journal.change_float(self.journal.register_day())

    def day_report(
        self, pieces: dict[int, int] | None = None, *, closing: bool = False, z_no: int = 0
    ) -> Any:
        """Today's X report (or the Z report's figures with ``closing``), from the journal."""
        assert self.config is not None
        return _receipts().day_report(
            self.config,
            self.today(),
            self.journal.register_day(),
            unsynced=0 if self.training else self.day_totals()["unsynced"],
            change_float=self.change_float() or 0,
            pieces=pieces,
            closing=closing,
            z_no=z_no,
        )

    def x_report(self, pieces: dict[int, int] | None = None) -> PrintOutcome:
        """Print the X report (点検): the day so far, closing nothing."""
        return self.printer.print(self.day_report(pieces))

    def closed_today(self) -> DayClose | None:
        """Today's Z close, or ``None`` while the day is open."""
        return self.journal.day_close(calendar.today())

    def z_close(self, pieces: dict[int, int] | None = None) -> tuple[DayClose, PrintOutcome]:
        """Close today with the Z report (精算), once; the journal keeps the report as printed.

        Raises:
            DayAlreadyClosed: today has its Z already (``first`` holds it, to show again).
        """
        day = calendar.today()
        closed = self.journal.day_close(day)
        if closed is not None:
            raise DayAlreadyClosed(closed)
        number = self.journal.next_z_no()
        report = self.day_report(pieces, closing=True, z_no=number)
        from printers import decode, render

        preview = decode(render(report, width=self.printer.width))
        closed = self.journal.close_day(
            day,
            {
                "z_no": number,
                "preview": preview,
                "counted": report.counted,
                "over_short": report.over_short,
                "sales": report.sales.amount,
            },
        )
        return closed, self.printer.print(report)

    def statement(self, period: str) -> Any:
        """The merchant's settlement statement (明細) for a closed period, as the server sends it."""
        assert self.config is not None
        return self.client.statement(self.config.merchant.id, period)

    def print_statement(self, data: dict[str, Any]) -> PrintOutcome:
        """Print a statement fetched with :meth:`statement`."""
        assert self.config is not None
        return self.printer.print(_receipts().statement(self.config, data))


def dumps(value: object) -> str:
    """JSON for logs and debugging screens (never a PIN: none is ever held here)."""
    return json.dumps(value, ensure_ascii=False, default=str)
