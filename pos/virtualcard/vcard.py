"""A virtual card on pcscd's vpcd driver: the card is a TCP client of 127.0.0.1:35963 (slot 0).

Frames both ways are a 2-byte big-endian length and a payload; a 1-byte payload is a control
code (0 power off, 1 power on, 2 reset, 4 get ATR — only 4 is answered); anything else is an
APDU, answered in one frame by an applet (:mod:`pos.virtualcard.applet`). Connecting the socket is
inserting the card; closing it is removing it. pcscd notices within its 400 ms poll.

Run by ``make demo``::

    python -m pos.virtualcard.vcard --dir DIR [--slot 0|1] [--uid HEX [--felica]] [--pin 1234]

It loads (or creates) the credentials in DIR (``ca.pem`` for the server's trust anchor,
``card_key.txt`` for ``mykey-server demo-data --card-key``), inserts the card, and then toggles
it out and in on each **Enter** on stdin or each **SIGUSR1**; SIGTERM or SIGINT ends it.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import socket
import sys
import threading
import time
from collections.abc import Sequence

from pos.virtualcard.applet import Applet, CardPulled, JpkiCard, UidCard
from pos.virtualcard.credentials import CardCredentials

VPCD_PORTS = (35963, 35964)  # Virtual PCD 00 00 and 00 01
CTRL_OFF, CTRL_ON, CTRL_RESET, CTRL_ATR = 0, 1, 2, 4


def _quickack(sock: socket.socket) -> None:
    # Linux clears TCP_QUICKACK by itself; re-arm it after every read or each APDU waits for
    # the peer's delayed ACK (~40 ms, since vpcd writes header and payload separately).
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)


class VirtualCard:
    """One virtual card that can be inserted into and removed from a vpcd slot.

    Args:
        applet: what the card answers (:class:`JpkiCard`, :class:`UidCard`).
        slot: 0 or 1 (``Virtual PCD 00 00`` / ``00 01``).
        quickack: re-arm ``TCP_QUICKACK`` after each header (switch off only to measure why).
    """

    def __init__(
        self, applet: Applet, slot: int = 0, *, host: str = "127.0.0.1", quickack: bool = True
    ) -> None:
        self.applet = applet
        self.address = (host, VPCD_PORTS[slot])
        self.quickack = quickack
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.apdus_answered = 0

    @property
    def received(self) -> list[bytes]:
        """Every APDU the card received, in order (VERIFY data masked)."""
        return self.applet.received

    @property
    def inserted(self) -> bool:
        """Whether the card is connected to vpcd now."""
        return self._thread is not None and self._thread.is_alive()

    def insert(self, timeout: float = 5.0) -> None:
        """Connect to vpcd (retrying while pcscd is not listening yet, up to ``timeout`` s)."""
        with self._lock:
            if self.inserted:
                return
            deadline = time.monotonic() + timeout
            while True:
                try:
                    sock = socket.create_connection(self.address, timeout=1.0)
                    break
                except OSError:
                    if time.monotonic() >= deadline:
                        raise
                    time.sleep(0.05)
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.quickack:
                _quickack(sock)
            self._sock = sock
            self._thread = threading.Thread(target=self._serve, args=(sock,), name="vcard", daemon=True)
            self._thread.start()

    def remove(self) -> None:
        """Disconnect from vpcd (the card leaves the field); waits for the card's thread."""
        with self._lock:
            sock, thread = self._sock, self._thread
            self._sock = self._thread = None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        if thread is not None and thread is not threading.current_thread():
            thread.join(5)

    def _recv_exact(self, sock: socket.socket, size: int) -> bytes | None:
        buf = bytearray()
        while len(buf) < size:
            try:
                chunk = sock.recv(size - len(buf))
            except OSError:
                return None
            if not chunk:
                return None
            buf += chunk
        return bytes(buf)

    def _serve(self, sock: socket.socket) -> None:
        self.applet.power_on()
        while True:
            header = self._recv_exact(sock, 2)
            if header is None:
                break
            if self.quickack:
                _quickack(sock)
            payload = self._recv_exact(sock, int.from_bytes(header, "big"))
            if payload is None:
                break
            if len(payload) == 1:
                if payload[0] in (CTRL_ON, CTRL_RESET):
                    self.applet.power_on()
                elif payload[0] == CTRL_ATR:
                    self._send(sock, self.applet.atr)
                continue
            try:
                answer = self.applet.process(payload)
            except CardPulled:  # leave the field mid-APDU: no answer at all
                break
            if not self._send(sock, answer):
                break
            self.apdus_answered += 1
        with contextlib.suppress(OSError):
            sock.close()

    def _send(self, sock: socket.socket, payload: bytes) -> bool:
        try:
            sock.sendall(len(payload).to_bytes(2, "big") + payload)  # one write: no Nagle stall
            if self.quickack:
                _quickack(sock)
            return True
        except OSError:
            return False


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m pos.virtualcard.vcard", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--dir", required=True, help="credentials directory (created if missing)")
    parser.add_argument("--slot", type=int, choices=(0, 1), default=0)
    parser.add_argument("--uid", help="be a plain UID card with this hex UID instead of a My Number Card")
    parser.add_argument("--felica", action="store_true", help="with --uid: a FeliCa card")
    parser.add_argument("--pin", default="1234", help="the virtual card's PIN (default 1234)")
    parser.add_argument("--removed", action="store_true", help="start with the card out")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run a virtual card until SIGTERM/SIGINT; Enter or SIGUSR1 toggles it out and in."""
    args = _parse(sys.argv[1:] if argv is None else argv)
    applet: Applet
    if args.uid:
        applet = UidCard(bytes.fromhex(args.uid), felica=args.felica)
        label = f"UID card {args.uid}"
    else:
        creds = CardCredentials.load_or_create(args.dir)
        applet = JpkiCard(creds, pin=args.pin)
        label = f"My Number Card {creds.card_key}"
    card = VirtualCard(applet, args.slot)
    toggles = threading.Event()
    done = threading.Event()
    signal.signal(signal.SIGUSR1, lambda *_: toggles.set())
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())

    def read_stdin() -> None:
        for _line in sys.stdin:
            toggles.set()

    threading.Thread(target=read_stdin, daemon=True).start()
    want_in = not args.removed
    print(f"virtual card: {label} on slot {args.slot}; Enter or SIGUSR1 toggles, Ctrl-C ends", flush=True)
    while not done.is_set():
        if toggles.is_set():
            toggles.clear()
            want_in = not want_in
            print("card in" if want_in else "card out", flush=True)
            if not want_in:
                card.remove()
        if want_in and not card.inserted:
            # Also puts the card back after pcscd restarts (it drops our connection).
            with contextlib.suppress(OSError):
                card.insert(timeout=0.2)
        done.wait(0.1)
    card.remove()
    return 0


if __name__ == "__main__":
    sys.exit(main())
