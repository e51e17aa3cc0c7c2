"""The PC/SC back-end: pcscd through pyscard's ``scard`` layer, with a watcher that survives pcscd.

pyscard's ``CardMonitor`` thread dies silently when pcscd restarts (pyscard #13, #74, #128) and
runs observers on its own thread; so the watcher here is our own thread around
``SCardGetStatusChange``: any failure drops the context and builds a new one (after pcscd went
away: ``ReaderGone`` … ``ReaderBack``), it only ever ``put``s events, and :meth:`PcscReader.start`
rebuilds the thread should it have died anyway. Every PC/SC result code is translated into a
:class:`pos.card.errors.CardError` in :func:`map_hresult`, the one boundary.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

from smartcard import scard  # type: ignore[import-untyped]

from pos.card import errors, events
from pos.card.base import CardIdentity, CardReader
from pos.card.session import ApduSession

log = logging.getLogger(__name__)

PNP = "\\\\?PnP?\\Notification"
#: The reader name of a ``ReaderGone`` that is about pcscd itself, when no reader was known.
SERVICE = ""
_REMOVED = {0x80100069, 0x80100016, 0x80100068, 0x80100067, 0x80100066, 0x8010000C}  # W_REMOVED_CARD …
_READER_GONE = {0x80100017, 0x80100009}  # E_READER_UNAVAILABLE, E_UNKNOWN_READER
# E_NO_SERVICE, E_SERVICE_STOPPED, F_COMM_ERROR, E_INVALID_HANDLE (a handle from before a restart)
_NO_SERVICE = {0x8010001D, 0x8010001E, 0x80100013, 0x80100003, 0x80100002}
_NO_READERS = 0x8010002E
_NO_CARD = 0x8010000C


def map_hresult(hresult: int, step: str, *, connecting: bool = False) -> errors.CardError:
    """The :class:`CardError` for a failed PC/SC call (``connecting``: no card is ``NoCard``)."""
    hresult &= 0xFFFFFFFF
    detail = f"{step}: {scard.SCardGetErrorMessage(hresult)} ({hresult:#010x})"
    if connecting and hresult in (_NO_CARD, 0x80100069):
        return errors.NoCard(detail)
    if hresult in _REMOVED:
        return errors.CardRemoved(detail)
    if hresult in _READER_GONE:
        return errors.ReaderGone(detail)
    if hresult in _NO_SERVICE:
        return errors.PcscUnavailable(detail)
    if hresult == _NO_READERS:
        return errors.NoReader(detail)
    return errors.CardError(detail)


def _check(result: Any, step: str, *, connecting: bool = False) -> Any:
    """Unpack a pyscard ``(hresult, value…)`` tuple, raising the mapped error on failure."""
    hresult, *rest = result if isinstance(result, tuple | list) else (result,)
    if hresult != scard.SCARD_S_SUCCESS:
        raise map_hresult(hresult, step, connecting=connecting)
    return rest[0] if len(rest) == 1 else rest


def _context() -> Any:
    return _check(scard.SCardEstablishContext(scard.SCARD_SCOPE_USER), "establish context")


def _list_readers(ctx: Any) -> list[str]:
    hresult, readers = scard.SCardListReaders(ctx, [])
    if hresult == _NO_READERS:
        return []
    _check(hresult, "list readers")
    return list(readers)


class PcscSession(ApduSession):
    """A connection to the card on one PC/SC reader, in its own PC/SC context."""

    def __init__(self, reader: str) -> None:
        self._ctx = _context()
        self._card: Any = None
        try:
            protocols = scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1
            card, protocol = _check(
                scard.SCardConnect(self._ctx, reader, scard.SCARD_SHARE_SHARED, protocols),
                f"connect {reader}",
                connecting=True,
            )
            self._card = card
            self._pci = scard.SCARD_PCI_T1 if protocol == scard.SCARD_PROTOCOL_T1 else scard.SCARD_PCI_T0
            _reader, _state, _protocol, atr = _check(scard.SCardStatus(card), "status")
        except BaseException:
            self.close()
            raise
        super().__init__(reader, bytes(atr))

    def _transmit(self, command: bytes) -> bytes:
        if self._card is None:
            raise errors.CardRemoved("session closed")
        answer = bytes(_check(scard.SCardTransmit(self._card, self._pci, list(command)), "transmit"))
        if not answer:
            # A card always answers at least a status word; pcscd hands back nothing (and then
            # 0x80100016, 0x80100069) when the card left the field in the middle of the APDU.
            raise errors.CardRemoved("no answer: the card left during the APDU")
        return answer

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        # VERIFY and the signature must not be split by another program's APDUs.
        _check(scard.SCardBeginTransaction(self._card), "begin transaction")
        try:
            yield
        finally:
            scard.SCardEndTransaction(self._card, scard.SCARD_LEAVE_CARD)

    def read_identity(self) -> CardIdentity:
        """As :meth:`ApduSession.read_identity`, inside one PC/SC transaction."""
        with self._exclusive():
            return super().read_identity()

    def sign(self, pin: str, digest_info: bytes) -> bytes:
        """As :meth:`ApduSession.sign`, inside one PC/SC transaction."""
        with self._exclusive():
            return super().sign(pin, digest_info)

    def close(self) -> None:
        """Disconnect (leaving the card powered) and release the context."""
        if self._card is not None:
            scard.SCardDisconnect(self._card, scard.SCARD_LEAVE_CARD)
            self._card = None
        if self._ctx is not None:
            scard.SCardReleaseContext(self._ctx)
            self._ctx = None


class PcscReader(CardReader):
    """Readers and cards through pcscd.

    Args:
        poll_s: how long one ``SCardGetStatusChange`` waits (bounds how fast :meth:`stop` returns).
        retry_s: pause between attempts to reach pcscd while it is away.
    """

    def __init__(self, poll_s: float = 0.5, retry_s: float = 0.2) -> None:
        self.events = events.EventQueue()
        self.poll_ms = int(poll_s * 1000)
        self.retry_s = retry_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ctx: Any = None
        self.rebuilds = 0  # how many times the watcher had to build a new PC/SC context

    # CardReader ----------------------------------------------------------------------

    def readers(self) -> list[str]:
        """The readers pcscd knows now."""
        ctx = _context()
        try:
            return _list_readers(ctx)
        finally:
            scard.SCardReleaseContext(ctx)

    def connect(self, reader: str | None = None) -> PcscSession:
        """Connect to the card on ``reader``, or on the first reader holding one."""
        if reader is not None:
            return PcscSession(reader)
        names = self.readers()
        if not names:
            raise errors.NoReader()
        for name in names:
            try:
                return PcscSession(name)
            except (errors.NoCard, errors.ReaderGone):
                continue
        raise errors.NoCard()

    @property
    def watching(self) -> bool:
        """Whether the watcher thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the watcher, or rebuild it if it died."""
        if self.watching:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._watch, name="card-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the watcher and wait for it."""
        self._stop.set()
        ctx = self._ctx
        if ctx is not None:
            with contextlib.suppress(Exception):
                scard.SCardCancel(ctx)  # wakes a waiting SCardGetStatusChange
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    # The watcher ---------------------------------------------------------------------

    def _watch(self) -> None:
        state = _WatchState(self.events)
        while not self._stop.is_set():
            try:
                self._ctx = _context()
            except errors.CardError:
                state.service_down()
                self._stop.wait(self.retry_s)
                continue
            try:
                self._watch_context(self._ctx, state)
            except errors.CardError as exc:
                log.info("card watcher rebuilding its PC/SC context: %s", exc.detail)
                state.service_down()
            except Exception:  # never die silently: log, rebuild, carry on
                log.exception("card watcher failed; rebuilding")
            finally:
                ctx, self._ctx = self._ctx, None
                with contextlib.suppress(Exception):
                    scard.SCardReleaseContext(ctx)
            if not self._stop.is_set():
                self.rebuilds += 1
                self._stop.wait(self.retry_s)

    def _watch_context(self, ctx: Any, state: _WatchState) -> None:
        readers = _list_readers(ctx)
        state.readers_now(readers)
        current = {name: scard.SCARD_STATE_UNAWARE for name in readers}
        pnp = 0
        while not self._stop.is_set():
            query = [(name, flags) for name, flags in current.items()] + [(PNP, pnp)]
            hresult, answer = scard.SCardGetStatusChange(ctx, self.poll_ms, query)
            hresult &= 0xFFFFFFFF
            if hresult in (scard.SCARD_E_TIMEOUT & 0xFFFFFFFF, scard.SCARD_E_CANCELLED & 0xFFFFFFFF):
                continue
            if hresult != scard.SCARD_S_SUCCESS:
                raise map_hresult(hresult, "status change")
            reader_list_changed = False
            for name, flags, atr in answer:
                if name == PNP:
                    reader_list_changed = bool(flags & scard.SCARD_STATE_CHANGED)
                    pnp = flags & ~scard.SCARD_STATE_CHANGED
                    continue
                if flags & (scard.SCARD_STATE_UNKNOWN | scard.SCARD_STATE_UNAVAILABLE):
                    reader_list_changed = True
                    continue
                current[name] = flags & ~scard.SCARD_STATE_CHANGED
                state.reader_flags(name, flags, bytes(atr))
            if reader_list_changed:
                readers = _list_readers(ctx)
                state.readers_now(readers)
                current = {name: current.get(name, scard.SCARD_STATE_UNAWARE) for name in readers}


class _WatchState:
    """What the watcher has told the app so far, so each change is reported exactly once."""

    def __init__(self, sink: events.EventQueue) -> None:
        self.sink = sink
        self.readers: set[str] = set()
        self.present: set[str] = set()
        self.first_scan = True
        self.down = False

    def readers_now(self, readers: list[str]) -> None:
        now = set(readers)
        # The readers there when watching starts are not news; any later arrival is.
        if not self.first_scan:
            for name in sorted(now - self.readers):
                self.sink.put(events.ReaderBack(name))
        for name in sorted(self.readers - now):
            self._gone(name, "unplugged")
        self.readers, self.first_scan, self.down = now, False, False

    def reader_flags(self, name: str, flags: int, atr: bytes) -> None:
        if flags & scard.SCARD_STATE_PRESENT and not flags & scard.SCARD_STATE_MUTE:
            if name not in self.present:
                self.present.add(name)
                self.sink.put(events.CardPresent(name, atr=atr))
        elif flags & scard.SCARD_STATE_EMPTY and name in self.present:
            self.present.discard(name)
            self.sink.put(events.CardRemoved(name))

    def service_down(self) -> None:
        if self.down:
            return
        for name in sorted(self.readers):
            self._gone(name, "pcsc_unavailable")
        if not self.readers:
            # No reader to name (pcscd was already away when watching began): the service itself.
            self.sink.put(events.ReaderGone(SERVICE, reason="pcsc_unavailable"))
        self.readers = set()
        self.down = True
        self.first_scan = False  # whatever comes back after this is news

    def _gone(self, name: str, reason: str) -> None:
        if name in self.present:
            self.present.discard(name)
            self.sink.put(events.CardRemoved(name))
        self.sink.put(events.ReaderGone(name, reason=reason))


def wait_for_card(reader: PcscReader, timeout: float) -> events.CardPresent | None:
    """The next :class:`CardPresent` from a started ``reader`` within ``timeout`` s, else ``None``."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        event = reader.events.get(left)
        if isinstance(event, events.CardPresent):
            return event
    return None
