"""The counter app (Textual): shop, award station, ticket counter or enrol desk, keyboard only.

Card events come from the reader's thread through its :class:`pos.card.events.EventQueue`; a
task on the app's loop takes them and reads the card in a worker thread, then posts
:class:`pos.screens.base.CardRead` to the current screen. No app code runs on pyscard's thread.

``mykey-pos [--config PATH] [--mode MODE] [--server URL] [--printer URL] [--reader NAME|sim]``
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from typing import Any, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType

from points.wire import TerminalMode
from pos import cli, i18n
from pos import settings as settings_module
from pos.card import errors as card_errors
from pos.card import events as card_events
from pos.card.base import CardIdentity, CardReader
from pos.checkout import Basket
from pos.counter import Counter, NoConfig, SaleDone
from pos.i18n import _
from pos.journal import Journal
from pos.printing import ReceiptPrinter
from pos.sync import ServerClient, SyncError

#: Seconds between server health checks while offline (sync starts when it is back).
HEALTH_SECONDS = 5.0


class PosApp(App[int]):
    """The counter terminal.

    Args:
        counter: the journal, server client and printer.
        reader: the card reader (PC/SC or simulated).
        simulated_cards: for the simulated reader, the cards keys F6–F8 tap (F9 removes).
    """

    CSS_PATH = "app.tcss"
    TITLE = "mykey-pos"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+q,ctrl+c", "quit", _("Quit"), priority=True)]

    def __init__(
        self,
        counter: Counter,
        reader: CardReader | None,
        *,
        simulated_cards: list[Any] | None = None,
        card_toggle: Callable[[], None] | None = None,
        settings: settings_module.Settings | None = None,
    ) -> None:
        super().__init__()
        #: What the settings screen edits (and saves to the TOML file).
        self.settings = settings or settings_module.Settings()
        self.counter = counter
        self.reader = reader
        self.simulated_cards = simulated_cards or []
        self.basket = Basket()
        self.card: CardIdentity | None = None
        self.card_reader: str | None = None
        self.reader_ok: bool | None = None
        self.ready = asyncio.Event()
        #: True while a card event is being handled (tests and benchmarks wait on it).
        self.card_busy = False
        #: Blocking calls screens are waiting on (see PosScreen.blocking); tests wait for 0.
        self.calls_running = 0
        self.startup_error: str = ""
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

    # Start and stop ------------------------------------------------------------------

    async def on_mount(self) -> None:
        """Load the config, resume what a crash left, then show the mode's first screen."""
        try:
            await asyncio.to_thread(self.counter.load_config)
        except NoConfig:
            self.startup_error = _("Cannot reach the server and no saved configuration. Check the settings.")
        except SyncError as exc:
            self.startup_error = exc.message(i18n.language())
        if self.startup_error:
            from pos.screens.problem import ProblemScreen

            await self.push_screen(ProblemScreen(self.startup_error))
            self.ready.set()
            return
        report = await asyncio.to_thread(self.counter.resume)
        await self.push_screen(self.first_screen())
        for done in report.reprinted:
            self.show_receipt(done, recovered=True)
        if report.still_pending:
            from pos.screens.resolve import ResolveScreen

            await self.push_screen(ResolveScreen(report.still_pending[0]))
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

    def first_screen(self) -> Any:
        """The screen of the terminal's mode."""
        mode = self.counter.mode
        if mode is TerminalMode.AWARD:
            from pos.screens.award import AwardScreen

            return AwardScreen()
        if mode is TerminalMode.ISSUE:
            from pos.screens.issue import IssueScreen

            return IssueScreen()
        if mode is TerminalMode.ENROLL:
            from pos.screens.enroll import EnrollScreen

            return EnrollScreen()
        from pos.screens.home import HomeScreen

        return HomeScreen()

    def on_unmount(self) -> None:
        """Stop the reader thread; close the client and the journal."""
        if self.reader is not None:
            self.reader.stop()

    def shop_title(self) -> str:
        """The shop's name (and mode) for the header."""
        config = self.counter.config
        if config is None:
            return "mykey-pos"
        return f"{config.merchant.name}  [dim]{config.terminal_id}[/]"

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
                identity = await asyncio.to_thread(self._read_identity, event.reader)
            except card_errors.CardError as exc:
                self.notify(exc.message(i18n.language()), severity="error")
                return
            self.card, self.card_reader = identity, event.reader
            from pos.screens.base import CardRead

            self.screen.post_message(CardRead(identity, event.reader))
        elif isinstance(event, card_events.CardRemoved):
            self.card = None
        elif isinstance(event, card_events.ReaderGone):
            self.reader_ok = False
            self.refresh_status()
        elif isinstance(event, card_events.ReaderBack):
            self.reader_ok = True
            self.refresh_status()

    def _read_identity(self, reader_name: str) -> CardIdentity:
        assert self.reader is not None
        with self.reader.connect(reader_name) as session:
            return session.read_identity()

    def pin_tries_left(self) -> int:
        """The tapped card's PIN tries left (spends none). Runs in a worker thread."""
        assert self.reader is not None
        with self.reader.connect(self.card_reader) as session:
            return session.pin_tries_left()

    def sign(self, pin: str, nonce: bytes) -> tuple[bytes, bytes]:
        """VERIFY the PIN and sign the challenge on the tapped card: (signature, certificate DER)."""
        assert self.reader is not None
        with self.reader.connect(self.card_reader) as session:
            identity = session.read_identity()
            if self.card is not None and identity.card_key != self.card.card_key:
                raise card_errors.CardError("a different card is on the reader")
            signature = session.sign_challenge(pin, nonce)
        if identity.certificate_der is None:
            raise card_errors.NotMyNumberCard()
        return signature, identity.certificate_der

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
        from pos.widgets.status import StatusLights

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

    def show_sync_progress(self, done: int, total: int) -> None:
        """The progress bar of a long sync on the home screen (hidden when nothing is left)."""
        from textual.widgets import ProgressBar

        for bar in self.screen.query("#sync-progress").results(ProgressBar):
            bar.display = 0 < done < total
            bar.update(total=total or None, progress=done)
        if total > 500:
            self.notify(_("Syncing {done}/{total}").format(done=done, total=total), timeout=1)

    # Sales ---------------------------------------------------------------------------

    def finish_sale(self, done: SaleDone) -> None:
        """A sale is done: clear the basket, go home, show the receipt."""
        self.basket = Basket()
        from pos.screens.home import HomeScreen

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
        self.push_screen(ReceiptScreen(done.printed, title))


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line of ``mykey-pos`` (defined in :mod:`pos.cli`, with the other verbs)."""
    return cli.build_parser().parse_args(argv)


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
    )
    i18n.set_language(settings.language)
    journal = Journal(settings.journal_path)
    client = ServerClient(settings.server_url, settings.token)
    printer = ReceiptPrinter(settings.printer, settings.paper_width, settings.raster)
    counter = Counter(journal, client, printer)
    if settings.mode:
        counter.mode_override = TerminalMode(settings.mode)
    reader: CardReader | None
    cards: list[Any] = []
    if settings.reader in ("sim", "simulated"):
        from pos.card.simulated import DEMO_UIDS, SimulatedReader, demo_jpki_card

        reader = SimulatedReader()
        # The My Number Card is made on its first tap: its RSA keys take a while to generate.
        cards = simulated_cards or [
            SimulatedReader.uid_card(DEMO_UIDS[0]),
            SimulatedReader.uid_card(DEMO_UIDS[1]),
            demo_jpki_card,
        ]
    else:
        from pos.card.base import make_reader

        reader = make_reader("pcsc")
    return PosApp(counter, reader, simulated_cards=cards, card_toggle=card_toggle, settings=loaded)


def main(argv: list[str] | None = None) -> int:
    """Run the counter app; returns the exit status."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        app = build(args)
    except settings_module.SettingsError as exc:
        print(f"mykey-pos: {exc}", file=sys.stderr)
        return 2
    app.run()
    return 0
