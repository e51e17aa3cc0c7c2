"""The counter app (Textual): shop, award station, ticket counter or enrol desk, keyboard only.

Card events come from the reader's thread through its :class:`pos.card.events.EventQueue`; a
task on the app's loop takes them and reads the card in a worker thread, then posts
:class:`pos.screens.base.CardRead` to the current screen. No app code runs on pyscard's thread.

``mykey-pos [--config PATH] [--mode MODE] [--server URL] [--printer URL] [--reader NAME|sim]``
"""

from __future__ import annotations

from pos._startup import imports_without_gc

# What the first frame needs is imported with the cycle collector paused (pos/_startup.py).
with imports_without_gc():
    import argparse
    import asyncio
    import datetime as dt
    import functools
    import os
    import sys
    import traceback
    from collections.abc import Callable
    from typing import TYPE_CHECKING, Any, ClassVar

    from textual import events
    from textual.app import App
    from textual.binding import Binding, BindingType
    from textual.message import Message
    from textual.worker import WorkerFailed

    from points.wire import TerminalMode
    from pos import cli, i18n
    from pos import settings as settings_module
    from pos.card import errors as card_errors
    from pos.card import events as card_events
    from pos.card.base import CardIdentity, CardReader
    from pos.card.desk import CardDesk
    from pos.checkout import Basket
    from pos.counter import Counter, NoConfig, SaleDone
    from pos.i18n import N_, _
    from pos.items import ItemList, ItemsError, no_items, path_beside
    from pos.items import load as load_items
    from pos.journal import Journal
    from pos.printing import ReceiptPrinter
    from pos.screens.base import CardRead, JournalChanged, PosScreen, SaleFinished, SettingsSaved, StatusStale
    from pos.screens.home import HomeScreen
    from pos.sync import ServerClient, SyncError
    from pos.typeahead import KeyHold
    from pos.widgets.status import StatusLights

if TYPE_CHECKING:
    from pos.facility import FacilityDesk
    from pos.library.desk import LibraryDesk

# The other screens are imported where they are opened: the counter's first frame waits only for
# the home screen's modules (``tui_start_ms`` in tests/bench/bench_pos.py).

#: Seconds between server health checks while offline (sync starts when it is back).
HEALTH_SECONDS = 5.0


class PosApp(App[int]):
    """The counter terminal: builds each screen with the parts it needs and reacts to what they report.

    Args:
        counter: the journal, server client and printer.
        reader: the card reader (PC/SC or simulated).
        simulated_cards: for the simulated reader, the cards keys F6–F8 tap (F9 removes).
    """

    CSS_PATH = "app.tcss"
    TITLE = "mykey-pos"
    # Textual's command palette speaks English only (「^p palette」 in the Japanese footer) and
    # offers nothing a shopkeeper needs: the counter is driven by its function keys.
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+q,ctrl+c", "quit", N_("Quit"), priority=True)]

    def __init__(
        self,
        counter: Counter,
        reader: CardReader | None,
        *,
        simulated_cards: list[Any] | None = None,
        card_toggle: Callable[[], None] | None = None,
        settings: settings_module.Settings | None = None,
        items: ItemList | None = None,
        library: LibraryDesk | None = None,
        facility: FacilityDesk | None = None,
    ) -> None:
        super().__init__()
        #: The library desk's SIP2 client and memberships (library mode only).
        self.library = library
        #: The facility desk's server client with the facility's token (facility mode only).
        self.facility = facility
        #: The shop's department keys, products and default rate (``items.toml``).
        self.items = items or no_items()
        #: What the settings screen edits (and saves to the TOML file).
        self.settings = settings or settings_module.Settings()
        self.counter = counter
        self.reader = reader
        self.desk = CardDesk(reader)
        self.simulated_cards = simulated_cards or []
        #: The sale in progress, shared by the items and payment screens until it is finished.
        self.basket = Basket()
        self.reader_ok: bool | None = None
        self.ready = asyncio.Event()
        #: True while a card event is being handled (tests and benchmarks wait on it).
        self.card_busy = False
        self.startup_error: str = ""
        #: True while the failure screen is being put up (a second failure then is only logged).
        self.recovering = False
        if self.simulated_cards:
            for index, _card in enumerate(self.simulated_cards[:3]):
                self.bind(
                    f"f{6 + index}",
                    f"tap({index})",
                    description=_("Tap card {n}").format(n=index + 1),
                    show=False,
                )
            self.bind("f12", "remove_card", description=_("Remove card"), show=False)
        # make demo with the virtual card on pcscd: F6 takes it out of / puts it on the reader.
        self.card_toggle = card_toggle
        if card_toggle is not None:
            self.bind("f6", "toggle_card", description=_("Tap card {n}").format(n=1), show=False)
        #: Keys typed while F10/Enter is still changing the screen wait for it (pos/typeahead.py).
        self.key_hold = KeyHold(self)

    # Start and stop ------------------------------------------------------------------

    async def on_mount(self) -> None:
        """Load the config, resume what a crash left, then show the mode's first screen."""
        try:
            await asyncio.to_thread(self.counter.load_config)
        except NoConfig:
            self.startup_error = _("Cannot reach the server and no saved configuration. Check the settings.")
        except SyncError as exc:
            self.startup_error = exc.message()
        if self.startup_error:
            from pos.screens.problem import ProblemScreen

            await self.push_screen(ProblemScreen(self.counter, self.startup_error))
            self.ready.set()
            return
        report = await asyncio.to_thread(self.counter.resume)
        await self.push_screen(self.first_screen())
        for done in report.reprinted:
            self.show_receipt(done, recovered=True)
        if report.still_pending:
            from pos.screens.resolve import ResolveScreen

            await self.push_screen(ResolveScreen(self.counter, report.still_pending[0]))
        if self.reader is not None:
            try:
                self.reader.start()
                self.reader_ok = True
            except card_errors.CardError:
                self.reader_ok = False
            self.run_worker(self.card_loop(), group="cards", exclusive=True)
        self.counter.client.listeners.append(lambda online: self.call_later(self.refresh_status))
        self.set_interval(HEALTH_SECONDS, self.check_server)
        self.refresh_status()
        self.ready.set()

    def first_screen(self) -> PosScreen:
        """The screen of the terminal's mode."""
        mode = self.counter.mode
        if mode is TerminalMode.AWARD:
            from pos.screens.award import AwardScreen

            return AwardScreen(self.counter)
        if mode is TerminalMode.ISSUE:
            from pos.screens.issue import IssueScreen

            return IssueScreen(self.counter)
        if mode is TerminalMode.ENROLL:
            from pos.screens.enroll import EnrollScreen

            return EnrollScreen(self.counter, self.desk)
        if mode is TerminalMode.LIBRARY:
            from pos.screens.library import LibraryScreen
            from pos.screens.problem import ProblemScreen

            if self.library is None:
                return ProblemScreen(
                    self.counter, _("No library system is set: start with --library sip2://…")
                )
            return LibraryScreen(self.counter, self.library, self.counter.printer.print)
        if mode is TerminalMode.FACILITY:
            from pos.facility import FacilityDesk
            from pos.screens.facility import FacilityScreen

            # Without a token of its own ($MYKEY_POS_FACILITY_TOKEN) the desk asks with the terminal's.
            return FacilityScreen(self.counter, self.facility or FacilityDesk(self.counter.client))
        return HomeScreen(self.counter, sync=self.sync_now)

    @property
    def card(self) -> CardIdentity | None:
        """The card lying on the reader (tapped and not yet removed)."""
        return self.desk.card

    @property
    def calls_running(self) -> int:
        """Blocking calls the screens are waiting on (see PosScreen.blocking); tests wait for 0."""
        return sum(s.calls_running for s in self.screen_stack if isinstance(s, PosScreen))

    # Screens the home screen opens (its keys name these actions) ----------------------

    def action_open_sale(self) -> None:
        """The items of the sale in progress."""
        from pos.screens.sale import SaleScreen

        self.push_screen(SaleScreen(self.counter, self.basket, self.desk, self.items))

    def action_open_settings(self) -> None:
        """Server, reader, printer, language."""
        from pos.screens.settings import SettingsScreen

        self.push_screen(SettingsScreen(self.counter, self.settings, self.desk))

    def on_settings_saved(self, message: SettingsSaved) -> None:
        """Keep what the settings screen saved (it applies at the next start)."""
        self.settings = message.settings

    def on_status_stale(self, message: StatusStale) -> None:
        """A screen came back to the top: redraw its lights."""
        self.refresh_status()

    def on_unmount(self) -> None:
        """Stop the reader thread; close the client and the journal."""
        if self.reader is not None:
            self.reader.stop()

    # Cards ---------------------------------------------------------------------------

    async def card_loop(self) -> None:
        """Take card events on the app's loop; read each tapped card in a worker thread."""
        assert self.reader is not None
        while True:
            event = await self.reader.events.aget()
            self.card_busy = True
            try:
                await self.card_event(event)
            finally:
                self.card_busy = False

    async def card_event(self, event: card_events.CardEvent) -> None:
        """Handle one card event on the app's loop (the card is read in a worker thread)."""
        if isinstance(event, card_events.CardPresent):
            try:
                identity = await asyncio.to_thread(self.desk.read, event.reader)
            except card_errors.CardError as exc:
                self.notify(exc.message(), severity="error")
                return
            self.screen.post_message(CardRead(identity, event.reader))
        elif isinstance(event, card_events.CardRemoved):
            self.desk.removed()
        elif isinstance(event, card_events.ReaderGone):
            self.reader_ok = False
            self.refresh_status()
        elif isinstance(event, card_events.ReaderBack):
            self.reader_ok = True
            self.refresh_status()

    def action_tap(self, index: int) -> None:
        """Simulated reader: put demo card ``index`` on it (a factory is called on the first tap)."""
        card = self.simulated_cards[index]
        if not hasattr(card, "process"):
            card = self.simulated_cards[index] = card()
        self.reader.tap(card)  # type: ignore[union-attr]

    def action_toggle_card(self) -> None:
        """The demo's virtual card on pcscd: in or out."""
        if self.card_toggle is not None:
            self.card_toggle()

    def action_remove_card(self) -> None:
        """Simulated reader: take the card off."""
        self.reader.remove()  # type: ignore[union-attr]

    # Status and sync -----------------------------------------------------------------

    def refresh_status(self) -> None:
        """Redraw the lights on the current screen."""
        if not self.screen_stack:
            return  # a message that arrives while the app shuts down has no screen to draw on
        unsynced = self.counter.day_totals()["unsynced"]
        printer_ok = None if self.counter.printer.url == "none" else self.counter.printer.last_error is None
        for lights in self.screen.query(StatusLights):
            lights.show(
                reader=self.reader_ok,
                printer=printer_ok,
                server=self.counter.client.online,
                unsynced=unsynced,
            )

    async def check_server(self) -> None:
        """While offline (or with a queue), try the server; when it answers, sync the queue."""
        client = self.counter.client
        if client.online is not False and not self.counter.day_totals()["unsynced"]:
            return
        try:
            await asyncio.to_thread(client.health)
        except SyncError:
            return
        await self.sync_now()

    async def sync_now(self) -> None:
        """Send the offline queue, with a progress note for long queues."""

        def progress(done: int, total: int) -> None:
            self.call_from_thread(self.show_sync_progress, done, total)

        report = await asyncio.to_thread(self.counter.sync, progress)
        if report.refused:  # type: ignore[attr-defined]
            self.notify(
                _("{n} offline sales were refused: see End of day.").format(n=len(report.refused)),  # type: ignore[attr-defined]
                severity="warning",
            )
        self.show_sync_progress(0, 0)
        self.refresh_status()
        self.screen.post_message(JournalChanged())

    def show_sync_progress(self, done: int, total: int) -> None:
        """The progress bar of a long sync on the home screen (hidden when nothing is left)."""
        from textual.widgets import ProgressBar

        for bar in self.screen.query("#sync-progress").results(ProgressBar):
            bar.display = 0 < done < total
            bar.update(total=total or None, progress=done)
        if total > 500:
            self.notify(_("Syncing {done}/{total}").format(done=done, total=total), timeout=1)

    # Failures: an unexpected exception becomes the failure screen, never an exit --------

    def recover(self, error: BaseException) -> None:
        """Log an unexpected error, keep the sale safe and show the failure screen; the app goes on."""
        log = self.log_failure(error)
        if self.recovering:
            return
        self.recovering = True
        self.call_later(self.show_failure, error, log)

    def log_failure(self, error: BaseException) -> str:
        """Append the error's traceback to ``errors.log`` beside the journal; returns its path."""
        path = self.counter.journal.path.parent / "errors.log"
        lines = traceback.format_exception(type(error), error, error.__traceback__)
        try:
            with path.open("a", encoding="utf-8") as log:
                log.write(f"--- {dt.datetime.now().astimezone().isoformat()}\n{''.join(lines)}")
        except OSError:
            return "-"
        return str(path)

    async def show_failure(self, error: BaseException, log: str) -> None:
        """Go back to the first screen (the ones above may be half-built) and explain."""
        from pos.screens.failure import FailureScreen
        from pos.screens.resolve import ResolveScreen

        try:
            entry = None
            if self.basket.written_as is not None:
                # Written to the journal: from now on it is that entry, never a new sale.
                entry = await asyncio.to_thread(self.counter.journal.get, self.basket.written_as)
                self.basket = Basket()
            while len(self.screen_stack) > 2:
                await self.pop_screen()

            def after(_result: object = None) -> None:
                # Still unanswered (the background sync may have resolved it meanwhile): resend it.
                if entry is not None and self.counter.journal.get(entry.id).state.value == "pending":
                    self.push_screen(ResolveScreen(self.counter, self.counter.journal.get(entry.id)))

            await self.push_screen(FailureScreen(self.counter, error, entry, log), after)
        except Exception as failed:  # the failure screen itself failed: log it, never loop
            self.log_failure(failed)
            self.notify(_("Something went wrong") + f": {error}", severity="error", timeout=30)
        finally:
            self.recovering = False

    def running_counter(self) -> bool:
        """True once the counter took its first screen and until it quits (failures are caught then)."""
        return self.ready.is_set() and not self._exit_renderables and self.is_running

    async def _dispatch_message(self, message: Message) -> None:
        # The app's own handlers (finish a sale, show a receipt): a failure must not end the app.
        try:
            await super()._dispatch_message(message)
        except Exception as error:
            if not self.running_counter():
                raise
            self.recover(error)

    async def on_event(self, event: events.Event) -> None:
        # A key from the terminal goes to the field focused once the key before it has settled.
        if isinstance(event, events.Key) and not event.is_forwarded:
            if not self.key_hold.admit(event):
                return
            await super().on_event(event)
            self.key_hold.handled(event)
            return
        await super().on_event(event)

    async def _dispatch_action(self, namespace: Any, action_name: str, params: Any) -> bool:
        # Keys run screen actions from here: a failing action becomes the failure screen.
        try:
            return await super()._dispatch_action(namespace, action_name, params)
        except Exception as error:
            if not self.running_counter():
                raise
            self.recover(error)
            return True

    def _handle_exception(self, error: Exception) -> None:
        # Textual's last stop (workers, timers, callbacks) exits the app; the counter goes on instead.
        # A second failure while the failure screen goes up (the background sync resending the
        # same sale, say) is only logged by recover(): it must not end the app either.
        if self.running_counter():
            self.recover(error.error if isinstance(error, WorkerFailed) else error)
            return
        super()._handle_exception(error)

    # Sales ---------------------------------------------------------------------------

    def on_sale_finished(self, message: SaleFinished) -> None:
        """A screen finished a sale: clear the basket, go home, show the receipt."""
        self.finish_sale(message.done)

    def finish_sale(self, done: SaleDone) -> None:
        """A sale is done: clear the basket, go home, show the receipt."""
        self.basket = Basket()
        while len(self.screen_stack) > 2 and not isinstance(self.screen, HomeScreen):
            self.pop_screen()
        self.show_receipt(done)

    def show_receipt(self, done: SaleDone, *, recovered: bool = False) -> None:
        """Push the receipt preview of a sale."""
        from pos.screens.receipt import ReceiptScreen

        title = _("Receipt {no}").format(no=done.entry.receipt_no)
        if recovered:
            title += "  " + _("(recovered after a restart)")
        if done.entry.offline and done.entry.answer is None:
            title += "  " + _("(offline)")
        self.push_screen(ReceiptScreen(self.counter, done.printed, title, change=done.change))


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line of ``mykey-pos`` (defined in :mod:`pos.cli`, with the other verbs)."""
    return cli.counter_parser().parse_args(argv)


def build(
    args: argparse.Namespace,
    *,
    simulated_cards: list[Any] | None = None,
    card_toggle: Callable[[], None] | None = None,
) -> PosApp:
    """Settings, journal, client, printer, reader and the app, from the command line.

    Args:
        args: from :func:`parse_args`.
        simulated_cards: the cards F6–F8 tap on the simulated reader (the demo's residents);
            default two demo UID cards and a demo My Number Card.
        card_toggle: a callable F6 runs to insert/remove a virtual card on pcscd (``make demo``).
    """
    loaded = settings_module.load(args.config)
    settings = settings_module.with_overrides(
        loaded,
        server_url=args.server,
        printer=args.printer,
        reader=args.reader,
        token=args.token,
        journal=args.journal,
        language=args.language,
        mode=args.mode,
        training=getattr(args, "training", None),
    )
    i18n.set_language(settings.language)
    journal = Journal(settings.journal_path)
    client = ServerClient(settings.server_url, settings.token)
    printer = ReceiptPrinter(settings.printer, settings.paper_width, settings.raster)
    counter = Counter(journal, client, printer)
    if settings.training:
        counter.start_training()
    if settings.mode:
        counter.mode_override = TerminalMode(settings.mode)
    reader: CardReader | None
    cards: list[Any] = []
    if settings.reader in ("sim", "simulated"):
        from pos.card.simulated import DEMO_UIDS, SimulatedReader, demo_jpki_card

        reader = SimulatedReader()
        # Each card is made on its first tap (the My Number Card's RSA keys take a while to
        # generate; the card code is not loaded before the first frame).
        cards = simulated_cards or [
            functools.partial(SimulatedReader.uid_card, DEMO_UIDS[0]),
            functools.partial(SimulatedReader.uid_card, DEMO_UIDS[1]),
            demo_jpki_card,
        ]
    else:
        from pos.card.base import make_reader

        reader = make_reader("pcsc")
    items = load_items(path_beside(loaded.path))
    library = None
    if address := getattr(args, "library", None) or os.environ.get("MYKEY_POS_LIBRARY"):
        from pos.library.desk import LibraryDesk
        from pos.library.sip2 import Sip2Client, system_from_url
        from pos.sync import ServerMemberships

        try:
            system = system_from_url(address)
        except ValueError as exc:
            raise settings_module.SettingsError(f"--library: {exc}") from None
        # The library's memberships are the server's, asked with the library's own token
        # ($MYKEY_POS_LIBRARY_TOKEN, a principal of role library), else the terminal's.
        library_token = os.environ.get("MYKEY_POS_LIBRARY_TOKEN")
        memberships_client = ServerClient(settings.server_url, library_token) if library_token else client
        library = LibraryDesk(Sip2Client(system), ServerMemberships(memberships_client))
    facility = None
    if facility_token := os.environ.get("MYKEY_POS_FACILITY_TOKEN"):
        from pos.facility import FacilityDesk

        # The facility's entries are recorded with its own token (a principal of role facility).
        facility = FacilityDesk(ServerClient(settings.server_url, facility_token))
    return PosApp(
        counter,
        reader,
        simulated_cards=cards,
        card_toggle=card_toggle,
        settings=loaded,
        items=items,
        library=library,
        facility=facility,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the counter app; returns the exit status."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        app = build(args)
    except (settings_module.SettingsError, ItemsError) as exc:
        print(f"mykey-pos: {exc}", file=sys.stderr)
        return 2
    app.run()
    return 0
