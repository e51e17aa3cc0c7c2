"""A library's own system on 127.0.0.1, speaking SIP2 2.00 over TCP: patrons, items, loans, holds.

It plays the part of a Koha or a Japanese vendor's system for the desk's tests and for the demo: one
server answers for several libraries, each by its institution id (``AO``) and its own desk login
(93 binds a connection to one library). It answers 93/94, 99/98, 23/24, 63/64, 11/12 and 09/10,
answers a request whose checksum does not add up with 96 (*request SC resend*), a 97 with its last
answer again, and echoes each request's sequence number with a checksum of its own.

The wire format is pysip2's codec, as in the client: the codec itself is tested against the spec's
own example messages in ``tests/library/test_sip2_codec.py``.

Faults, switched at any time:

- ``garble = N`` — the next N answers have one character changed after their checksum was made;
- ``wrong_sequence = True`` — answers carry a sequence number the desk did not send;
- ``hang = True`` — requests are read and never answered (the desk's time limit runs out);
- ``down_after_checkouts = N`` — after answering N more checkouts the system goes down: it stops
  listening and closes every connection (a library going down in the middle of a desk's lending);
- :meth:`Sip2Library.drop_connections` — idle connections closed (the desk logs in again);
- :meth:`Sip2Library.stop` — down for good.

Standalone, for trying a desk by hand (and for ``make demo`` once it offers the library desk)::

    python -m tests.support.sip2_library --port 6001 --data six-ariake
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import socket
import socketserver
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import pysip2
import pytest
from pysip2.errors import SIP2ChecksumError, SIP2Error

from pos.library.sip2 import LibrarySystem, sip_datetime

TOKYO = ZoneInfo("Asia/Tokyo")
#: The 16 positions of BX in the spec's order; this system supports 23, 11, 09, 99, 97, 93, 63.
SUPPORTED = "YYYNYYYYNNNNNNNN"


@dataclass
class Patron:
    """A patron of one library; the flags are the library's own decisions about them."""

    patron_id: str
    name: str
    card_lost: bool = False
    charge_denied: bool = False
    fines: int = 0
    overdue: int = 0


@dataclass
class Item:
    """A copy of a book with its barcode; ``holds`` are the patrons waiting for it, first first."""

    barcode: str
    title: str
    loan_days: int = 14
    holds: list[str] = field(default_factory=list)


@dataclass
class LibraryData:
    """One library's system: its patrons, items, loans (barcode → patron, due date) and limits."""

    institution_id: str
    name: str
    login_user: str
    login_password: str
    patrons: dict[str, Patron] = field(default_factory=dict)
    items: dict[str, Item] = field(default_factory=dict)
    loans: dict[str, tuple[str, dt.date]] = field(default_factory=dict)
    charged_limit: int = 10
    overdue_limit: int = 2
    fee_limit: int = 500

    def charged(self, patron_id: str) -> list[str]:
        """The barcodes lent to ``patron_id``."""
        return [barcode for barcode, (holder, _due) in self.loans.items() if holder == patron_id]

    def holds(self, patron_id: str) -> list[str]:
        """The titles ``patron_id`` is waiting for."""
        return [item.title for item in self.items.values() if patron_id in item.holds]


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    emulator: Sip2Library


class _Connection(socketserver.BaseRequestHandler):
    """One desk's connection: frames up to CR, each answered (or not, when told to hang)."""

    server: _Server

    def handle(self) -> None:
        emulator = self.server.emulator
        if emulator.down:
            return  # going down: a new connection is closed at once
        emulator._track(self.request, True)
        library: LibraryData | None = None
        last = b""
        buffer = b""
        try:
            while True:
                while b"\r" not in buffer:
                    chunk = self.request.recv(4096)
                    if not chunk:
                        return
                    buffer += chunk
                raw, _, buffer = buffer.partition(b"\r")
                answer, library = emulator._answer(raw.lstrip(b"\n") + b"\r", library, last)
                if answer is None:
                    continue
                goes_down = answer is not last and emulator._goes_down_after(answer)
                last = answer
                if goes_down and hasattr(socket, "TCP_CORK"):
                    # The answer and the end of the connection in one segment: the desk sees both at once.
                    self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
                self.request.sendall(emulator._fault(answer))
                if goes_down:
                    self.request.shutdown(socket.SHUT_RDWR)
                    return
        except OSError:
            return
        finally:
            emulator._track(self.request, False)


class Sip2Library:
    """The library systems' SIP2 server on 127.0.0.1 (see the module docstring for its faults)."""

    def __init__(self, libraries: list[LibraryData], *, port: int = 0, host: str = "127.0.0.1") -> None:
        self.libraries = {library.institution_id: library for library in libraries}
        self.host, self.port = host, port
        self.garble = 0
        self.wrong_sequence = False
        self.hang = False
        self.down_after_checkouts: int | None = None
        #: Set when the system went down by ``down_after_checkouts``; connections are closed at once.
        self.down = False
        self.requests: list[str] = []
        self._lock = threading.RLock()
        self._connections: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._checkouts_answered = 0

    # Life -------------------------------------------------------------------------

    def start(self) -> Sip2Library:
        """Listen and serve in a background thread (the port is chosen when 0)."""
        self.down = False
        self._server = _Server((self.host, self.port), _Connection)
        self._server.emulator = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="sip2-library", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and close every connection (the library system is down)."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        self.drop_connections()

    def drop_connections(self) -> None:
        """Close every open connection and keep listening (an idle time-out on the library's side)."""
        with self._lock:
            for connection in list(self._connections):
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
            self._connections.clear()

    def __enter__(self) -> Sip2Library:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def system(self, institution_id: str, **changes: object) -> LibrarySystem:
        """How a desk reaches ``institution_id`` here (its login included)."""
        library = self.libraries[institution_id]
        base = LibrarySystem(
            institution_id=library.institution_id,
            host=self.host,
            port=self.port,
            login_user=library.login_user,
            login_password=library.login_password,
            name=library.name,
            location_code="desk-1",
        )
        return dataclasses.replace(base, **changes)  # type: ignore[arg-type]

    # Connections ------------------------------------------------------------------

    def _track(self, connection: socket.socket, open_: bool) -> None:
        with self._lock:
            (self._connections.add if open_ else self._connections.discard)(connection)

    def _fault(self, answer: bytes) -> bytes:
        with self._lock:
            if self.wrong_sequence and b"AY" in answer:
                at = answer.rindex(b"AY") + 2
                wrong = str((int(answer[at : at + 1]) + 5) % 10).encode()
                body = answer[:at] + wrong + b"AZ"
                return body + pysip2.calculate_checksum(body).encode() + b"\r"
            if self.garble > 0:
                self.garble -= 1
                at = 2 if len(answer) > 3 else 0
                return answer[:at] + (b"#" if answer[at : at + 1] != b"#" else b"%") + answer[at + 1 :]
        return answer

    def _goes_down_after(self, answer: bytes) -> bool:
        """True when ``answer`` was the last checkout before going down (``down_after_checkouts``)."""
        if not answer.startswith(b"12"):
            return False
        with self._lock:
            if self.down_after_checkouts is None:
                return False
            self._checkouts_answered += 1
            if self._checkouts_answered < self.down_after_checkouts:
                return False
            self.down_after_checkouts = None
            self._checkouts_answered = 0
            self.down = True
        threading.Thread(target=self.stop, daemon=True).start()
        return True

    # Answers ----------------------------------------------------------------------

    def _answer(
        self, raw: bytes, library: LibraryData | None, last: bytes
    ) -> tuple[bytes | None, LibraryData | None]:
        """The frame answering ``raw`` (or None), and the library the connection is logged in to."""
        if self.hang:
            return None, library
        try:
            decoded = pysip2.decode_message(raw, encoding="utf-8")
        except SIP2ChecksumError:
            return pysip2.encode_message(pysip2.RequestSCResend(), checksum=True), library
        except SIP2Error:
            return None, library  # the spec: a message not understood is not answered
        request = decoded.message
        self.requests.append(raw[:2].decode("ascii"))
        if isinstance(request, pysip2.RequestACSResend):
            return last or None, library
        if isinstance(request, pysip2.LoginRequest):
            library = self._login(request)
            response: pysip2.SIPResponse = pysip2.LoginResponse(ok="1" if library else "0")
        elif library is None:
            response = pysip2.LoginResponse(ok="0")  # nothing but a login before a login
        else:
            try:
                with self._lock:
                    response = self._respond(library, request)
            except SIP2Error:
                return None, library  # a message this system does not support goes unanswered
        checksum = decoded.checksum is not None
        frame = pysip2.encode_message(
            response,
            sequence_number=decoded.sequence_number if checksum else None,
            checksum=checksum and decoded.sequence_number is not None,
            encoding="utf-8",
        )
        return frame, library

    def _login(self, request: pysip2.LoginRequest) -> LibraryData | None:
        for library in self.libraries.values():
            if (request.login_user_id, request.login_password) == (
                library.login_user,
                library.login_password,
            ):
                return library
        return None

    def _respond(self, library: LibraryData, request: pysip2.SIPMessage) -> pysip2.SIPResponse:
        now = sip_datetime(dt.datetime.now(TOKYO))
        if isinstance(request, pysip2.SCStatusRequest):
            return pysip2.ACSStatusResponse(
                online_status="Y",
                checkin_ok="Y",
                checkout_ok="Y",
                acs_renewal_policy="N",
                status_update_ok="N",
                offline_ok="N",
                timeout_period="030",
                retries_allowed="003",
                date_time_sync=now,
                protocol_version="2.00",
                institution_id=library.institution_id,
                library_name=library.name,
                supported_messages=SUPPORTED,
            )
        if isinstance(request, pysip2.PatronStatusRequest | pysip2.PatronInformationRequest):
            return _patron_answer(library, request, now)
        if isinstance(request, pysip2.CheckoutRequest):
            return _checkout(library, request, now)
        if isinstance(request, pysip2.CheckinRequest):
            return _checkin(library, request, now)
        raise SIP2Error(f"not supported here: {type(request).__name__}")


def _status_field(library: LibraryData, patron: Patron | None) -> str:
    if patron is None:
        return "Y" * 4 + " " * 10
    flags = [" "] * 14
    if patron.charge_denied or patron.card_lost:
        flags[0] = "Y"
    if patron.card_lost:
        flags[4] = "Y"
    if len(library.charged(patron.patron_id)) >= library.charged_limit:
        flags[5] = "Y"
    if patron.overdue > library.overdue_limit:
        flags[6] = "Y"
    if patron.fines > library.fee_limit:
        flags[10] = "Y"
    return "".join(flags)


def _patron_answer(
    library: LibraryData,
    request: pysip2.PatronStatusRequest | pysip2.PatronInformationRequest,
    now: str,
) -> pysip2.SIPResponse:
    patron = library.patrons.get(request.patron_identifier)
    if request.institution_id != library.institution_id:
        patron = None  # another library's patron numbers mean nothing here
    common = {
        "patron_status": _status_field(library, patron),
        "language": request.language,
        "transaction_date": now,
        "institution_id": library.institution_id,
        "patron_identifier": request.patron_identifier,
        "personal_name": patron.name if patron else "",
        "valid_patron": "Y" if patron else "N",
        "currency_type": "JPY",
        "fee_amount": str(patron.fines if patron else 0),
        "screen_message": () if patron else ("利用者が見つかりません",),
    }
    if isinstance(request, pysip2.PatronStatusRequest):
        return pysip2.PatronStatusResponse(**common)  # type: ignore[arg-type]
    charged = library.charged(patron.patron_id) if patron else []
    holds = library.holds(patron.patron_id) if patron else []
    return pysip2.PatronInformationResponse(
        **common,  # type: ignore[arg-type]
        hold_items_count=f"{len(holds):04d}",
        overdue_items_count=f"{patron.overdue if patron else 0:04d}",
        charged_items_count=f"{len(charged):04d}",
        fine_items_count="0001" if patron and patron.fines else "0000",
        recall_items_count="0000",
        unavailable_holds_count="0000",
        charged_items_limit=f"{library.charged_limit:04d}",
        overdue_items_limit=f"{library.overdue_limit:04d}",
        fee_limit=str(library.fee_limit),
        charged_items=tuple(charged) if request.summary[2:3] == "Y" else (),
        hold_items=tuple(holds) if request.summary[0:1] == "Y" else (),
    )


def _checkout(library: LibraryData, request: pysip2.CheckoutRequest, now: str) -> pysip2.CheckoutResponse:
    patron = library.patrons.get(request.patron_identifier)
    item = library.items.get(request.item_identifier)
    refusal = None
    if patron is None or request.institution_id != library.institution_id:
        refusal = "利用者が見つかりません"
    elif item is None:
        refusal = "この資料は登録されていません"
    elif _status_field(library, patron)[0] == "Y" or patron.fines > library.fee_limit:
        refusal = "貸出できません。カウンターでおたずねください"
    elif request.item_identifier in library.loans:
        refusal = "この資料は貸出中です"
    elif item.holds and item.holds[0] != patron.patron_id:
        refusal = "この資料は他の方の予約があります"
    elif len(library.charged(patron.patron_id)) >= library.charged_limit:
        refusal = "貸出冊数の上限です"
    if refusal is not None or patron is None or item is None:
        return pysip2.CheckoutResponse(
            ok="0",
            renewal_ok="N",
            magnetic_media="N",
            desensitize="N",
            transaction_date=now,
            institution_id=library.institution_id,
            patron_identifier=request.patron_identifier,
            item_identifier=request.item_identifier,
            title_identifier=item.title if item else "",
            due_date="",
            screen_message=(refusal or "",),
        )
    due = dt.datetime.now(TOKYO).date() + dt.timedelta(days=item.loan_days)
    library.loans[item.barcode] = (patron.patron_id, due)
    if item.holds and item.holds[0] == patron.patron_id:
        item.holds.pop(0)
    return pysip2.CheckoutResponse(
        ok="1",
        renewal_ok="N",
        magnetic_media="N",
        desensitize="Y",
        transaction_date=now,
        institution_id=library.institution_id,
        patron_identifier=patron.patron_id,
        item_identifier=item.barcode,
        title_identifier=item.title,
        due_date=f"{due:%Y%m%d}    235959",
        screen_message=(f"返却期限は{due.month}月{due.day}日です",),
    )


def _checkin(library: LibraryData, request: pysip2.CheckinRequest, now: str) -> pysip2.CheckinResponse:
    item = library.items.get(request.item_identifier)
    lent = request.item_identifier in library.loans and request.institution_id == library.institution_id
    if lent:
        del library.loans[request.item_identifier]
    held = bool(item and item.holds)
    message = "予約があります。予約棚へ" if lent and held else "" if lent else "貸出中の資料ではありません"
    return pysip2.CheckinResponse(
        ok="1" if lent else "0",
        resensitize="Y" if lent else "N",
        magnetic_media="N",
        alert="Y" if held or not lent else "N",
        transaction_date=now,
        institution_id=library.institution_id,
        item_identifier=request.item_identifier,
        permanent_location=library.name,
        title_identifier=item.title if item else None,
        screen_message=(message,) if message else (),
    )


# Fixtures and the command line --------------------------------------------------------


@pytest.fixture
def sip2_library() -> Iterator[Sip2Library]:
    """The six Ariake libraries' systems on an ephemeral port, fresh data for each test."""
    from tests.support.sip2_ariake import six_ariake

    with Sip2Library(six_ariake()) as library:
        yield library


def main(argv: list[str] | None = None) -> None:
    """Serve the demo data until interrupted (for ``make demo`` and trying a desk by hand)."""
    from tests.support.sip2_ariake import DATA_SETS

    parser = argparse.ArgumentParser(description="A library system speaking SIP2 on 127.0.0.1")
    parser.add_argument("--port", type=int, default=6001)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--data", choices=sorted(DATA_SETS), default="six-ariake")
    args = parser.parse_args(argv)
    emulator = Sip2Library(DATA_SETS[args.data](), port=args.port, host=args.host).start()
    print(f"SIP2 library systems on {emulator.host}:{emulator.port}", flush=True)
    for library in emulator.libraries.values():
        address = (
            f"sip2://{library.login_user}:{library.login_password}@{emulator.host}:{emulator.port}/"
            f"{library.institution_id}?name={urllib.parse.quote(library.name)}"
        )
        print(f"  {library.name}  mykey-pos --mode library --library '{address}'", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()


if __name__ == "__main__":
    main()
